"""Repo hygiene: uncommitted changes, code parked in strings or comments, ``*_fixed.py`` copies."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from health_checks import gitinfo
from health_checks.checks.maintenance import finding_row, fixer_or_skip
from health_checks.context import CheckContext
from health_checks.core import Check, Details, Outcome, Severity, Status

# the files a run writes next to each other in markdown_dir: YYYY-MM-DD.md and YYYY-MM-DD-diagnostics.png
REPORT_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}(\.md|-[\w-]+\.png)$")
COPY_PATTERN = re.compile(r"(_fixed|_v\d+|_old|_backup|_bak|_copy|[ _]copy( \d+)?)$", re.IGNORECASE)


def own_report(ctx: CheckContext, path: str) -> bool:
    """True for a file this tool writes: a dated report or plot in markdown_dir, anything in json_dir."""
    rel = PurePosixPath(path)
    for folder in (ctx.settings.markdown_dir, ctx.settings.json_dir):
        base = PurePosixPath(ctx.rel(ctx.settings.resolve(ctx.root, folder)))
        if rel.parent == base and (folder == ctx.settings.json_dir or REPORT_FILE.match(rel.name)):
            return True
    return False


@dataclass(frozen=True, kw_only=True)
class HygieneDetails(Details):
    """Uncommitted and untracked files (the tool's own reports left out), copied files, parked code (the
    MNT005 findings, or why they were not checked) and a note when the tree is not a git repository."""

    git: str | None = None
    uncommitted: list[str] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)
    parked_code: list[dict[str, Any]] | str | None = None


class HC005(Check):
    """The tree is clean: no uncommitted change, no parked code, no copied files.

    Uncommitted changes (git), code parked in a string literal or a commented-out block (MNT005 findings of
    ``maintenance.fix``) and ``*_fixed.py`` / ``*_v2.py`` / ``*_old.py`` copies. Delete parked code and
    copies: git remembers. The reports this tool writes (the dated markdown and its plot in
    ``markdown_dir``, the JSON in ``json_dir``) are not counted: a second run must not flag the first's.
    """

    name = "hygiene"
    severity = Severity.MINOR
    details_type = HygieneDetails

    def check(self, ctx: CheckContext) -> Outcome:
        problems: list[str] = []
        found: dict[str, Any] = {}
        repo = gitinfo.open_repo(ctx.root)
        if repo is None:
            found["git"] = "not a git repository (uncommitted changes not checked)"
        else:
            dirty = gitinfo.uncommitted(repo)
            # this run's own fixes (--apply-fixes, the autopilot) and the fixer's cache are not the tree's mess
            fixed = set((ctx.applied_fixes or {}).get("changed_files") or [])

            def ours(path: str) -> bool:
                return own_report(ctx, path) or path in fixed or path.startswith(".maintenance_cache/")

            changed = sorted(p for p in {*dirty["modified"], *dirty["staged"]} if not ours(p))
            untracked = [p for p in dirty["untracked"] if not ours(p)]
            found["uncommitted"] = changed[:30]
            found["untracked"] = untracked[:30]
            if changed or untracked:
                problems.append(f"{len(changed)} changed and {len(untracked)} untracked files")
        copies = [p.as_posix() for p in ctx.python_files() if COPY_PATTERN.search(p.stem)]
        if copies:
            found["copies"] = copies
            problems.append(f"{len(copies)} copied files ({', '.join(copies[:3])})")
        report, skip = fixer_or_skip(ctx)
        if skip is None:
            parked = [finding_row(ctx, f) for f in report.findings if f.code == "MNT005"]
            if parked:
                found["parked_code"] = parked[:20]
                first = parked[0]
                problems.append(
                    f"{len(parked)} blocks of parked code (first {first['file']}:{first['line']})"
                )
        else:
            found["parked_code"] = f"not checked: {skip.message}"
        details = HygieneDetails(**found)
        if not problems:
            return Outcome.passed("clean tree: nothing uncommitted, no parked code, no copies", details)
        return Outcome(
            Status.WARN,
            "; ".join(problems) + ". Commit or delete; remove parked code and copies (git keeps history).",
            details,
            "git status --short && python -m maintenance.fix --select MNT005",
        )
