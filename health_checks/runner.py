"""Run checks in order, honouring ``requires``, timing each, with a rich progress display on stderr."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import sysconfig
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from health_checks.context import CheckContext
from health_checks.core import (
    Check,
    CheckResult,
    Details,
    NotApplicable,
    Outcome,
    RunDetails,
    SkipCheck,
    Status,
)

logger = logging.getLogger(__name__)

# A failed prerequisite blocks; a skipped one does not (the dependent check needs the same missing
# artefact and skips with its own reason, or it can do without).
BLOCKING = (Status.FAIL,)
# the standard library's folder: its frames are library frames, like site-packages
STDLIB = str(Path(sysconfig.get_paths()["stdlib"]).resolve())


def is_disabled(check_cls: type[Check], ctx: CheckContext) -> bool:
    """True when ``[tool.health_checks] disable`` names the check by code or name."""
    wanted = {item.strip().lower() for item in ctx.settings.disable}
    return check_cls.code().lower() in wanted or check_cls.name.lower() in wanted


def check_site(check_cls: type[Check], error: BaseException) -> str:
    """``path:line`` of the innermost frame of the check's own module in the traceback (else of the
    health_checks package, else the innermost frame): where the tool failed, not torch's or copy's line."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "?"
    own = inspect.getsourcefile(check_cls) or ""
    package = str(Path(__file__).resolve().parent)
    for wanted in (lambda f: f == own, lambda f: f.startswith(package)):
        matching = [frame for frame in frames if wanted(str(Path(frame.filename).resolve()))]
        if matching:
            path = Path(matching[-1].filename).resolve()
            shown = path.relative_to(root) if path.is_relative_to(root := Path(package).parent) else path
            return f"{shown.as_posix()}:{matching[-1].lineno}"
    return f"{frames[-1].filename}:{frames[-1].lineno}"


def _is_library(filename: str) -> bool:
    return filename.startswith(("<", STDLIB)) or "site-packages" in filename or "dist-packages" in filename


def tree_site(ctx: CheckContext, error: BaseException) -> str | None:
    """``path:line`` when the innermost frame outside the libraries is the tree's own code (under the
    root, outside health_checks): the code under check raised, so the failure is the tree's."""
    package = Path(__file__).resolve().parent
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if _is_library(frame.filename):
            continue
        path = Path(frame.filename).resolve()
        if path.is_relative_to(package) or not path.is_relative_to(ctx.root.resolve()):
            return None
        return f"{ctx.rel(path)}:{frame.lineno}"
    return None


def _crash_outcome(check_cls: type[Check], ctx: CheckContext, error: Exception) -> Outcome:
    """An exception that escaped a check: a failure of the tree when its own code raised (or one of its
    modules or names no longer imports), else health_checks' own error (a warning that blocks nothing)."""
    details = RunDetails(traceback=traceback.format_exception(error)[-6:])
    site = tree_site(ctx, error)
    if isinstance(error, ImportError):
        return Outcome(
            Status.FAIL,
            f"a module or name the check needs does not import ({type(error).__name__}: {error}): renamed "
            "or removed in the tree, or a dependency that is not installed",
            details,
        )
    if site:
        return Outcome(
            Status.FAIL, f"the code under check failed: {type(error).__name__}: {error} at {site}", details
        )
    return Outcome(
        Status.WARN,
        f"health_checks' own error, not a finding about the code under check: {check_cls.code()} raised "
        f"{type(error).__name__}: {error} at {check_site(check_cls, error)}; the checks that require it "
        "still run. Please report it with the traceback below.",
        dataclasses.replace(details, tool_error=True),
    )


def run_one(check_cls: type[Check], ctx: CheckContext, done: dict[str, CheckResult]) -> CheckResult:
    """Run one check; skip it when a prerequisite that ran has failed or the config switched it off.

    No silent skip: a check that cannot run because something it needs is missing (it raises
    :class:`SkipCheck`) FAILS, naming what is missing; only a check switched off in
    ``[tool.health_checks] disable``, one that does not apply to the tree (:class:`NotApplicable`) and one
    whose prerequisite failed (the failure is already counted) are skipped, and the report lists each
    skip with its reason. A prerequisite that was not selected (``--only``) does not block: the shared
    artefacts are computed lazily, so a check can run on its own. An exception escaping a check fails it
    when the tree's own code raised it (or a module or name of the tree no longer imports); any other is
    an error of the tool, not a finding about the tree: a warning naming the check's own file and line,
    which does not block the checks that require it. Details of another type than the check's
    ``details_type`` fail the check (the report renders them through that type).
    """
    blocked = [code for code in check_cls.requires if code in done and done[code].status in BLOCKING]
    start = time.perf_counter()
    if is_disabled(check_cls, ctx):
        outcome = Outcome(
            Status.SKIP, "switched off by [tool.health_checks] disable", RunDetails(skip_reason="disabled")
        )
    elif blocked:
        reasons = "; ".join(f"{code} {done[code].status}: {done[code].message}" for code in blocked)
        outcome = Outcome(
            Status.SKIP,
            f"prerequisite {', '.join(blocked)} did not pass ({reasons})",
            RunDetails(skip_reason="prerequisite failed"),
        )
    else:
        try:
            outcome = check_cls().check(ctx)
        except NotApplicable as reason:
            outcome = Outcome(
                Status.SKIP, str(reason), RunDetails(not_applicable=True, skip_reason="not applicable")
            )
        except SkipCheck as reason:
            outcome = Outcome(
                Status.FAIL,
                f"could not run: {reason}. Provide what it needs or switch it off with "
                f'[tool.health_checks] disable = ["{check_cls.code()}"]',
                RunDetails(skip_reason="missing prerequisite"),
            )
        except Exception as error:  # the tree's code failed, or the check itself did
            logger.debug("check %s crashed", check_cls.code(), exc_info=True)
            outcome = _crash_outcome(check_cls, ctx, error)
    if type(outcome.details) not in {Details, RunDetails, check_cls.details_type}:
        outcome = Outcome(
            Status.FAIL,
            f"the check returned {type(outcome.details).__name__} details; {check_cls.code()}.details_type "
            f"declares {check_cls.details_type.__name__}",
            RunDetails(),
        )
    return CheckResult(
        code=check_cls.code(),
        name=check_cls.name,
        title=check_cls.title(),
        status=outcome.status,
        severity=check_cls.severity,
        message=outcome.message,
        details=outcome.details,
        duration=time.perf_counter() - start,
        command=outcome.command,
    )


def run_checks(
    checks: Sequence[type[Check]], ctx: CheckContext, *, console: Console | None = None, progress: bool = True
) -> list[CheckResult]:
    """Run ``checks`` in order and return their results (same order)."""
    done: dict[str, CheckResult] = {}
    console = console or Console(stderr=True)
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=not progress, transient=False) as bar:
        task = bar.add_task("health checks", total=len(checks))
        for check_cls in checks:
            bar.update(task, description=f"{check_cls.code()} {check_cls.title()}")
            result = run_one(check_cls, ctx, done)
            done[result.code] = result
            style = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}[result.status]
            bar.console.print(
                f"[{style}]{result.status.upper():4}[/] {result.code} {result.title} "
                f"[dim]({result.duration:.1f}s)[/]",
                highlight=False,
            )
            bar.advance(task)
        bar.update(task, description="health checks done")
    return list(done.values())


def exit_code(results: Sequence[CheckResult]) -> int:
    """0 healthy, 1 warnings, 2 critical (any failed check)."""
    statuses = {r.status for r in results}
    if Status.FAIL in statuses:
        return 2
    if Status.WARN in statuses:
        return 1
    return 0
