"""`python -m maintenance.autopilot`: the autonomous maintenance loop for any Python repository.

What the composite action `action.yml` runs, and what a person can run locally: apply the safe fixes of
`maintenance.fix` proven by the repository's own tests (`--verify`, coverage-aware: each kept fix is
proven, unexercised or reverted), optionally run the health checks (`python -m health_checks`, which
needs the full `atft` distribution and torch), write the dated report, commit the kept fixes and the
report as one commit on one branch, push it and open or update one pull request whose body is the
report. The two steps that reach GitHub (`git push`, `gh`) are plain commands on PATH, so a test can run
the whole loop against a local bare remote and a stand-in `gh`.

Exit status: 0 done (a pull request opened or updated, or nothing to propose), 2 a usage error or a
failing step (the test command failing before any fix included); the health checks' own exit (0 healthy,
1 warnings, 2 critical) is reported, in the title and as the `health-exit` output, not as this exit.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maintenance import ruff_runner
from maintenance import verify as verify_module
from maintenance.config import ConfigError
from maintenance.fix import run_fix
from maintenance.source import atomic_write
from maintenance.summary import counts, fix_groups, headline, summarize

LOG = logging.getLogger("maintenance.autopilot")
# GitHub refuses a pull request body longer than 65,536 characters
MAX_BODY = 60_000
BOT = ("atft-autopilot", "atft-autopilot@users.noreply.github.com")
FIXES_FILE = Path(".maintenance_cache") / "autopilot-fixes.json"


class AutopilotError(RuntimeError):
    """A step of the loop cannot go on; the message says what to do."""


@dataclass(frozen=True)
class Plan:
    """One run of the loop, as the command line (or the action's inputs) asked for it."""

    root: Path
    test_command: str
    paths: list[str] = field(default_factory=lambda: ["."])
    health: bool = False
    health_args: list[str] = field(default_factory=list)
    base: str = "main"
    branch: str = "maintenance/autonomous"
    labels: list[str] = field(default_factory=lambda: ["maintenance", "automated"])
    drop_unexercised: bool = False
    report_dir: str = "docs/improvements"
    remote: str = "origin"
    pull_request: bool = True


@dataclass
class Result:
    """What the run produced (the action's outputs)."""

    report: Path | None = None
    health_exit: int | None = None
    changed: list[str] = field(default_factory=list)
    commit: str | None = None
    pull_request: str | None = None
    fixes: dict[str, Any] = field(default_factory=dict)

    def outputs(self) -> dict[str, str]:
        """`name=value` pairs for `$GITHUB_OUTPUT`."""
        n = counts(self.fixes) if self.fixes else {}
        return {
            "report": str(self.report or ""),
            "health-exit": "" if self.health_exit is None else str(self.health_exit),
            "commit": self.commit or "",
            "pull-request": self.pull_request or "",
            "proven": str(n.get("proven", 0)),
            "unexercised": str(n.get("unexercised", 0) + n.get("withheld", 0)),
            "reverted": str(n.get("reverted", 0)),
        }


def _run(argv: Sequence[str], root: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command in the repository; a failure is an `AutopilotError` that quotes its stderr."""
    LOG.info("$ %s", shlex.join(argv))
    try:
        proc = subprocess.run(list(argv), cwd=root, capture_output=True, text=True, check=False)
    except OSError as err:
        raise AutopilotError(f"cannot run {argv[0]!r}: {err}") from err
    if check and proc.returncode != 0:
        raise AutopilotError(
            f"`{shlex.join(argv)}` failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-800:]}"
        )
    return proc


def _git(root: Path, *args: str, check: bool = True) -> str:
    return _run(["git", *args], root, check=check).stdout.strip()


def _changed(root: Path, fixed: Sequence[str], report_dir: str) -> list[str]:
    """What the commit takes: the files the fixes changed and the new files under the report folder.

    Anything else that differs from HEAD (the fixer's cache, a test run's leftovers) stays out.
    """
    out = _run(["git", "status", "--porcelain", "-z", "--untracked-files=all"], root).stdout
    differ = {entry[3:] for entry in out.split("\0") if len(entry) > 3}
    folder = report_dir.strip("/") + "/"
    return sorted(p for p in differ if p in set(fixed) or p.startswith(folder))


def apply_fixes(plan: Plan) -> dict[str, Any]:
    """`maintenance.fix --apply --verify TEST` on the plan's paths; the fix summary (`maintenance.summary`)."""
    report = run_fix(
        [plan.root / p for p in plan.paths],
        apply=True,
        root=plan.root,
        verify=plan.test_command,
        drop_unexercised=plan.drop_unexercised,
    )
    return summarize(report, plan.root)


def run_health(plan: Plan, fixes_file: str) -> tuple[int, Path]:
    """`python -m health_checks` on the fixed tree, told about the fixes; its exit and its markdown report.

    Paths are relative to the root (the command runs there), so the report's rerun commands hold in any
    checkout; the JSON report goes where the repository's [tool.health_checks] json_dir says and is
    not committed.
    """
    markdown_dir = plan.root / plan.report_dir
    before = set(markdown_dir.glob("*.md")) if markdown_dir.is_dir() else set()
    argv = [sys.executable, "-m", "health_checks", "--root", ".", "--fixes", fixes_file]
    argv += ["--markdown-dir", plan.report_dir, "--no-progress", *plan.health_args]
    proc = _run(argv, plan.root, check=False)
    if proc.returncode not in (0, 1, 2):
        raise AutopilotError(
            f"the health checks stopped with exit {proc.returncode}: {proc.stderr.strip()[-800:]}"
        )
    written = (
        sorted(set(markdown_dir.glob("*.md")) - before)
        or sorted(markdown_dir.glob("*.md"), key=lambda p: p.stat().st_mtime)[-1:]
    )
    if not written:
        raise AutopilotError(f"the health checks wrote no markdown report into {plan.report_dir}")
    return proc.returncode, written[-1]


def render_report(fixes: dict[str, Any], plan: Plan, date: str, commit: str) -> str:
    """The markdown report of a run without health checks: the fixes by group, then the counts by code."""
    lines = [
        f"# Maintenance report - {date}",
        "",
        f"*Generated by `python -m maintenance.autopilot` on commit `{commit[:8]}`; fixes proven by "
        f"`{plan.test_command}`.*",
        "",
        "## Fixes by group",
        "",
        *fix_groups(fixes),
        "## Findings by code",
        "",
        "| Code | Before | After |",
        "|---|---|---|",
    ]
    before, after = fixes.get("counts_before") or {}, fixes.get("counts_after") or {}
    lines += [f"| `{c}` | {before.get(c, 0)} | {after.get(c, 0)} |" for c in sorted({*before, *after})]
    lines += [
        "",
        "Rerun locally: `python -m maintenance.fix --apply --verify "
        f"{shlex.quote(plan.test_command)}{' --drop-unexercised' if plan.drop_unexercised else ''}`.",
        "",
    ]
    return "\n".join(lines)


def title(fixes: dict[str, Any], date: str, health_exit: int | None) -> str:
    """The pull request's title: the date, the fixes by group and the health checks' exit."""
    n = counts(fixes)
    kept = n["proven"] + n["unexercised"] + n["unmeasured"] + n["applied"]
    health = "health checks off" if health_exit is None else f"health exit {health_exit}"
    return (
        f"Autonomous maintenance {date}: {kept} fixes ({n['proven']} proven, "
        f"{n['unexercised'] + n['unmeasured'] + n['applied']} not run by a test, {n['reverted']} reverted; {health})"
    )


def _commit(root: Path, paths: list[str], branch: str, message: str) -> str:
    """One commit of `paths` on `branch` (created or reset at HEAD); its sha."""
    _git(root, "checkout", "-q", "-B", branch)
    _git(root, "add", "--", *paths)
    identity: list[str] = []
    if not _git(root, "config", "user.email", check=False):
        identity = ["-c", f"user.name={BOT[0]}", "-c", f"user.email={BOT[1]}"]
    _git(root, *identity, "commit", "-q", "-m", message)
    return _git(root, "rev-parse", "HEAD")


def open_pull_request(plan: Plan, title_text: str, body: str) -> str:
    """Push the branch and open (or update) its one pull request with `gh`; its URL or number."""
    _git(plan.root, "push", "--force", plan.remote, f"HEAD:refs/heads/{plan.branch}")
    with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False, encoding="utf-8") as handle:
        handle.write(body)
    body_file = handle.name
    try:
        listing = ["gh", "pr", "list", "--head", plan.branch, "--base", plan.base, "--state", "open"]
        existing = json.loads(_run([*listing, "--json", "number,url"], plan.root).stdout or "[]")
        if existing:
            pull_request = str(existing[0].get("url") or existing[0]["number"])
            edit = ["gh", "pr", "edit", str(existing[0]["number"]), "--title", title_text]
            _run([*edit, "--body-file", body_file], plan.root)
        else:
            create = ["gh", "pr", "create", "--base", plan.base, "--head", plan.branch, "--title", title_text]
            pull_request = _run([*create, "--body-file", body_file], plan.root).stdout.strip()
        _label(plan, pull_request)
        return pull_request
    finally:
        Path(body_file).unlink(missing_ok=True)


def _label(plan: Plan, pull_request: str) -> None:
    """Create the labels (when missing) and put them on the pull request; a token without the right to
    manage labels leaves a warning, not a failed run (the pull request exists by then)."""
    for label in plan.labels:
        _run(["gh", "label", "create", label, "--force"], plan.root, check=False)
    if plan.labels:
        added = _run(
            ["gh", "pr", "edit", pull_request, "--add-label", ",".join(plan.labels)], plan.root, check=False
        )
        if added.returncode != 0:
            LOG.warning("could not label %s: %s", pull_request, (added.stderr or added.stdout).strip()[-300:])


def _body(report_text: str, report_path: str) -> str:
    if len(report_text) <= MAX_BODY:
        return report_text
    cut = report_text[:MAX_BODY].rsplit("\n", 1)[0]
    return (
        f"{cut}\n\n*(cut to fit a pull request; the whole report is `{report_path}` in this pull request)*\n"
    )


def run(plan: Plan, now: datetime | None = None) -> Result:
    """The loop: fixes (proven by the tests), health checks, report, one commit, one pull request."""
    root = plan.root
    if _git(root, "status", "--porcelain", "--untracked-files=no"):
        raise AutopilotError(
            "the tree has uncommitted changes; the autopilot commits only its own fixes: commit or stash them first"
        )
    date = (now or datetime.now(UTC)).date().isoformat()
    head = _git(root, "rev-parse", "HEAD")
    result = Result(fixes=apply_fixes(plan))
    LOG.info(headline(result.fixes))
    markdown_dir = root / plan.report_dir
    if plan.health:
        fixes_file = root / FIXES_FILE  # beside the fixer's cache; never committed (see _changed)
        fixes_file.parent.mkdir(parents=True, exist_ok=True)
        fixes_file.touch()
        atomic_write(fixes_file, json.dumps(result.fixes, indent=1).encode("utf-8"))
        result.health_exit, result.report = run_health(plan, FIXES_FILE.as_posix())
    else:
        applied = result.fixes["applied"] or result.fixes["reverted"] or result.fixes["withheld"]
        if applied:
            result.report = markdown_dir / f"{date}.md"
            markdown_dir.mkdir(parents=True, exist_ok=True)
            result.report.touch()
            atomic_write(result.report, render_report(result.fixes, plan, date, head).encode("utf-8"))
    result.changed = _changed(root, result.fixes["changed_files"], plan.report_dir)
    if not result.changed:
        LOG.warning("nothing to propose: no fix was kept and no report was written")
        return result
    rel_report = result.report.relative_to(root).as_posix() if result.report else ""
    title_text = title(result.fixes, date, result.health_exit)
    result.commit = _commit(root, result.changed, plan.branch, f"{title_text}\n\nReport: {rel_report}")
    if plan.pull_request:
        text = result.report.read_text(encoding="utf-8") if result.report else headline(result.fixes)
        result.pull_request = open_pull_request(plan, title_text, _body(text, rel_report))
    return result


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m maintenance.autopilot` (the inputs of action.yml)."""
    parser = argparse.ArgumentParser(
        prog="python -m maintenance.autopilot",
        description=(
            "Apply the safe fixes of maintenance.fix proven by the repository's tests (--verify, with coverage: "
            "each kept fix is proven, unexercised or reverted), optionally run the health checks, write the dated "
            "report, commit the kept fixes and the report on one branch, push it and open or update one pull "
            "request whose body is the report (git and gh from PATH)."
        ),
    )
    parser.add_argument("--test-command", required=True, metavar="CMD", help="the tests that prove the fixes")
    parser.add_argument("--root", type=Path, default=Path(), help="the repository (default: .)")
    parser.add_argument(
        "--paths", default=".", help="space-separated paths to fix, relative to the root (default: .)"
    )
    parser.add_argument(
        "--health-checks",
        action="store_true",
        help="also run python -m health_checks (needs the atft distribution and torch)",
    )
    parser.add_argument(
        "--health-args", default="", metavar="ARGS", help="extra arguments for python -m health_checks"
    )
    parser.add_argument("--base", default="main", help="the pull request's base branch (default: main)")
    parser.add_argument("--branch", default="maintenance/autonomous", help="the pull request's branch")
    parser.add_argument(
        "--labels", default="maintenance,automated", help="comma-separated labels of the pull request"
    )
    parser.add_argument(
        "--drop-unexercised",
        action="store_true",
        help="keep the fixes no test executed out of the pull request",
    )
    parser.add_argument(
        "--report-dir",
        default="docs/improvements",
        help="where the dated report goes (default: docs/improvements)",
    )
    parser.add_argument("--remote", default="origin", help="the git remote to push to (default: origin)")
    parser.add_argument(
        "--no-pull-request",
        action="store_true",
        help="stop after the commit on the branch: no push, no pull request",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step on stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: 0 done, 2 a usage error or a failing step."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    root = args.root.resolve()
    if not (root / ".git").exists():
        sys.stderr.write(f"error: {root} is not the root of a git repository; pass --root REPO\n")
        return 2
    plan = Plan(
        root=root,
        test_command=args.test_command,
        paths=args.paths.split() or ["."],
        health=args.health_checks,
        health_args=shlex.split(args.health_args),
        base=args.base,
        branch=args.branch,
        labels=[label.strip() for label in args.labels.split(",") if label.strip()],
        drop_unexercised=args.drop_unexercised,
        report_dir=args.report_dir,
        remote=args.remote,
        pull_request=not args.no_pull_request,
    )
    try:
        result = run(plan)
    except (
        AutopilotError,
        ConfigError,
        FileNotFoundError,
        ruff_runner.RuffError,
        verify_module.VerifyError,
    ) as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    except Exception:  # the CLI boundary: an internal error is exit 2 with its traceback
        LOG.exception("internal error in maintenance.autopilot; please report it with the traceback above")
        return 2
    outputs = result.outputs()
    sys.stdout.write("".join(f"{key}={value}\n" for key, value in outputs.items()))
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:
        with open(github_output, "a", encoding="utf-8") as handle:
            handle.write("".join(f"{key}={value}\n" for key, value in outputs.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
