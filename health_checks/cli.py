"""Command line: ``python -m health_checks`` (``nox -s health``) and ``--apply-fixes`` (``nox -s maintain``).

This is the only layer that reads argv and the tree's pyproject; checks get a frozen settings object.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from health_checks import gitinfo
from health_checks.context import CheckContext
from health_checks.core import Check, CheckResult
from health_checks.markdown import render_markdown
from health_checks.registry import all_checks, select
from health_checks.report import find_previous, json_name, make_report, markdown_name
from health_checks.result import FixSummary, Report
from health_checks.runner import exit_code, run_checks
from health_checks.settings import HealthSettings, load_settings
from maintenance.source import atomic_write

logger = logging.getLogger("health_checks")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m health_checks",
        description=(
            "Run the ML-aware health checks of a tree (imports, lint, pending fixes, hygiene, the model "
            "contract, loss sanity, a quick training with collapse diagnostics, metrics against the previous "
            "report and the baselines, checkpoints, export, data quality; and, through the probe named in "
            "[tool.health_checks] probe, runtime checks of any PyTorch model: forward, loss signal, gradient "
            "flow, optimiser step, collapse, norm inputs, env switches, data contract, Dataset workers, nulls) "
            "and write the dated JSON and markdown reports. A check that cannot run fails unless disabled. "
            "Exit 0 healthy, 1 warnings, 2 critical."
        ),
        epilog="Settings come from [tool.health_checks] of ROOT/pyproject.toml; see docs/health_checks.md.",
    )
    parser.add_argument(
        "--root", type=Path, default=Path(), help="tree to check (default: current directory)"
    )
    parser.add_argument("--only", metavar="CODE_OR_NAME,...", help="run only these checks (e.g. HC001,lint)")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="stdout format (default text)"
    )
    parser.add_argument("--json-dir", type=Path, help="where the JSON report goes (default from pyproject)")
    parser.add_argument(
        "--markdown-dir", type=Path, help="where the dated markdown goes (default from pyproject)"
    )
    parser.add_argument("--no-report", action="store_true", help="write no report file (stdout only)")
    parser.add_argument(
        "--apply-fixes",
        action="store_true",
        help="first apply the safe fixes of maintenance.fix (the `nox -s maintain` flow), then run the checks "
        "and list every applied fix in the report",
    )
    parser.add_argument(
        "--verify",
        metavar="CMD",
        help="with --apply-fixes: prove the fixes with CMD (maintenance.fix --verify: breaking fixes are reverted)",
    )
    parser.add_argument(
        "--drop-unexercised",
        action="store_true",
        help="with --verify: keep out the fixes no test executed (maintenance.fix --drop-unexercised)",
    )
    parser.add_argument(
        "--fixes",
        type=Path,
        metavar="FILE",
        help="the fixes another run applied (the JSON of maintenance.summary, as python -m maintenance.autopilot "
        "writes it), listed in the report as if --apply-fixes had made them",
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow the legacy-checkpoint check to migrate the committed pickle checkpoint (runs its code)",
    )
    parser.add_argument(
        "--probe",
        metavar="MODULE:FUNCTION",
        help="the probe the runtime checks look at (overrides [tool.health_checks] probe)",
    )
    parser.add_argument(
        "--max-train-seconds",
        type=float,
        help="a wall-clock safety cap on the quick training (quick_train_max_seconds); a run it stops FAILS HC020",
    )
    parser.add_argument(
        "--watch",
        metavar="CMD",
        help='the training program the watch checks HC060-HC068 run, e.g. "train.py --epochs 1" or '
        '"-m package.train" ([tool.health_checks] watch)',
    )
    parser.add_argument(
        "--watch-steps", type=int, metavar="N", help="optimiser steps to watch (watch_steps, default 5)"
    )
    parser.add_argument(
        "--watch-nproc",
        type=int,
        metavar="N",
        help="run the watched program under torchrun with N processes, every rank watched (watch_nproc)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress display on stderr")
    parser.add_argument(
        "--list", action="store_true", help="list the checks with their descriptions and exit"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    return parser


def _list_checks(console: Console) -> int:
    for check in all_checks():
        requires = f" (requires {', '.join(check.requires)})" if check.requires else ""
        scope = " \\[atft only]" if check.atft_only else ""
        console.print(
            f"[bold]{check.code()}[/] {check.name} — {check.title()}{requires}{scope}", highlight=False
        )
        console.print(f"    file: {check.source_file()}", highlight=False, markup=False)
        if check.description():
            console.print(f"    {check.description()}".replace("\n", "\n    "), highlight=False, markup=False)
    return 0


def _apply_fixes(root: Path, verify: str | None = None, drop_unexercised: bool = False) -> dict[str, Any]:
    """Run ``maintenance.fix.run_fix(apply=True, verify=verify)`` on the tree; its fixes by group."""
    from maintenance.fix import run_fix  # the maintain flow alone needs the fixer
    from maintenance.summary import summarize

    report = run_fix([root], apply=True, root=root, verify=verify, drop_unexercised=drop_unexercised)
    return summarize(report, root)


def _print_text(console: Console, results: Sequence[CheckResult], code: int, paths: Sequence[str]) -> None:
    table = Table(title="health checks", show_lines=False)
    for column in ("", "code", "check", "result", "s"):
        table.add_column(column, overflow="fold")
    style = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}
    for r in results:
        message = r.message if len(r.message) < 200 else r.message[:199] + "…"
        table.add_row(f"[{style[r.status]}]{r.status}[/]", r.code, r.title, message, f"{r.duration:.1f}")
    console.print(table)
    word = {0: "[green]healthy[/]", 1: "[yellow]warnings[/]", 2: "[red]critical[/]"}[code]
    console.print(f"status: {word} (exit {code})")
    for path in paths:
        console.print(f"wrote {path}", highlight=False)


class UsageError(Exception):
    """A mistake in the command line or its input files: ``main`` prints the message (rich markup unless
    ``markup`` is False) and exits 2."""

    def __init__(self, message: str, markup: bool = True) -> None:
        super().__init__(message)
        self.markup = markup


def _settings(args: argparse.Namespace, root: Path) -> HealthSettings:
    """The tree's ``[tool.health_checks]`` with the command line's overrides."""
    if not root.is_dir():
        raise UsageError(f"[red]--root {args.root} is not a directory[/]; pass the tree to check")
    if (args.watch_steps is not None and args.watch_steps < 1) or (
        args.watch_nproc is not None and args.watch_nproc < 1
    ):
        raise UsageError("[red]error: --watch-steps and --watch-nproc must be 1 or more[/]")
    overrides: dict[str, Any] = {
        key: value
        for key, value in (
            ("quick_train_max_seconds", args.max_train_seconds),
            ("watch", args.watch),
            ("watch_steps", args.watch_steps),
            ("watch_nproc", args.watch_nproc),
            ("probe", args.probe or None),
        )
        if value is not None
    }
    return load_settings(root, overrides)


def _checks(args: argparse.Namespace) -> list[type[Check]]:
    try:
        checks = all_checks()
        return select(checks, args.only.split(",")) if args.only else checks
    except ValueError as error:
        raise UsageError(f"[red]{error}[/]") from error


def _fixes(args: argparse.Namespace, root: Path, err: Console) -> dict[str, Any] | None:
    """The maintenance fixes this report lists: read from ``--fixes``, made by ``--apply-fixes``, or none."""
    if args.fixes is not None:
        try:
            fixes = json.loads(args.fixes.read_text(encoding="utf-8"))
            FixSummary.from_json(fixes)
        except (OSError, ValueError, TypeError) as error:
            raise UsageError(
                f"[red]--fixes {args.fixes} cannot be read ({error})[/]; pass the JSON the autopilot wrote"
            ) from error
        return fixes
    if not args.apply_fixes:
        return None
    err.print("applying the safe fixes of maintenance.fix …")
    try:
        fixes = _apply_fixes(root, args.verify, args.drop_unexercised)
    except ImportError as error:
        raise UsageError(
            f"[red]--apply-fixes needs maintenance.fix, which does not import: {error}[/]"
        ) from error
    except RuntimeError as error:  # maintenance.verify.VerifyError: the tests fail before any fix
        raise UsageError(f"[red]--apply-fixes --verify: {error}[/]", markup=False) from error
    summary = FixSummary.from_json(fixes)
    err.print(f"applied {len(summary.applied)} fixes in {len(summary.changed_files)} files")
    return fixes


def _write_reports(
    report: Report, previous: Mapping[str, Any] | None, json_path: Path, markdown_path: Path
) -> None:
    """The JSON and the markdown rendering of ``report``, each written atomically."""
    for path in (json_path, markdown_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(json_path, (json.dumps(report.to_json(), indent=2, default=str) + "\n").encode("utf-8"))
    atomic_write(markdown_path, render_markdown(report, previous).encode("utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    out = Console(soft_wrap=True, emoji=False)  # `:100:` in `file.py:100:` is a rich emoji code
    err = Console(stderr=True, emoji=False)
    if args.list:
        return _list_checks(out)
    root = args.root.resolve()
    try:
        settings = _settings(args, root)
        checks = _checks(args)
        started = time.perf_counter()
        now = datetime.now(UTC).replace(microsecond=0)
        json_dir = args.json_dir or settings.resolve(root, settings.json_dir)
        markdown_dir = args.markdown_dir or settings.resolve(root, settings.markdown_dir)
        found = find_previous(json_dir, markdown_dir, now)
        previous, previous_path = found if found else (None, None)
        repo = gitinfo.open_repo(root)
        head_before = gitinfo.head_info(repo)
        fixes = _fixes(args, root, err)
    except UsageError as error:
        err.print(str(error), markup=error.markup)
        return 2

    ctx = CheckContext(
        root=root,
        settings=settings,
        previous=previous,
        trust_pickle=args.trust_pickle,
        applied_fixes=fixes,
        artifact_dir=None if args.no_report else markdown_dir,
        report_date=now.date(),
    )
    try:
        results = run_checks(checks, ctx, console=err, progress=not args.no_progress)
    finally:
        ctx.close()
    code = exit_code(results)

    previous_commit = (previous or {}).get("git", {}) or {}
    history = gitinfo.commits_since(repo, previous_commit.get("commit"), (head_before or {}).get("commit"))
    json_path = json_dir / json_name(now)
    markdown_path = markdown_dir / markdown_name(now)
    command = shlex.join(["python", "-m", "health_checks", *(sys.argv[1:] if argv is None else argv)])
    report = make_report(
        results=results,
        exit_code=code,
        timestamp=now,
        root=str(args.root),
        git=head_before,
        command=command,
        duration=time.perf_counter() - started,
        commits=history,
        fixes=fixes,
        previous_path=ctx.rel(previous_path) if previous_path else None,
        json_path=ctx.rel(json_path),
        markdown_path=ctx.rel(markdown_path),
    )
    written = []
    if not args.no_report:
        _write_reports(report, previous, json_path, markdown_path)
        written = [ctx.rel(json_path), ctx.rel(markdown_path)]
    if args.format == "json":
        out.print_json(json.dumps(report.to_json(), default=str))
    else:
        _print_text(out, results, code, written)
    return code
