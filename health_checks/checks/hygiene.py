"""Repo hygiene: uncommitted changes, code parked in strings or comments, ``*_fixed.py`` copies."""

from __future__ import annotations

import re
from typing import Any

from health_checks import gitinfo
from health_checks.checks.maintenance import finding_row, fixer_or_skip
from health_checks.context import CheckContext
from health_checks.core import Check, Outcome, Severity, Status

COPY_PATTERN = re.compile(r"(_fixed|_v\d+|_old|_backup|_bak|_copy|[ _]copy( \d+)?)$", re.IGNORECASE)


class HC005(Check):
    """The tree is clean: no uncommitted change, no parked code, no copied files.

    Uncommitted changes (git), code parked in a string literal or a commented-out block (MNT005 findings of
    ``maintenance.fix``) and ``*_fixed.py`` / ``*_v2.py`` / ``*_old.py`` copies. Delete parked code and
    copies: git remembers.
    """

    name = "hygiene"
    severity = Severity.MINOR

    def check(self, ctx: CheckContext) -> Outcome:
        problems: list[str] = []
        details: dict[str, Any] = {}
        repo = gitinfo.open_repo(ctx.root)
        if repo is None:
            details["git"] = "not a git repository (uncommitted changes not checked)"
        else:
            dirty = gitinfo.uncommitted(repo)
            changed = sorted({*dirty["modified"], *dirty["staged"]})
            details["uncommitted"] = changed[:30]
            details["untracked"] = dirty["untracked"][:30]
            if changed or dirty["untracked"]:
                problems.append(f"{len(changed)} changed and {len(dirty['untracked'])} untracked files")
        copies = [p.as_posix() for p in ctx.python_files() if COPY_PATTERN.search(p.stem)]
        if copies:
            details["copies"] = copies
            problems.append(f"{len(copies)} copied files ({', '.join(copies[:3])})")
        report, skip = fixer_or_skip(ctx)
        if skip is None:
            parked = [finding_row(ctx, f) for f in report.findings if f.code == "MNT005"]
            if parked:
                details["parked_code"] = parked[:20]
                first = parked[0]
                problems.append(
                    f"{len(parked)} blocks of parked code (first {first['file']}:{first['line']})"
                )
        else:
            details["parked_code"] = f"not checked: {skip.message}"
        if not problems:
            return Outcome.passed("clean tree: nothing uncommitted, no parked code, no copies", **details)
        return Outcome(
            Status.WARN,
            "; ".join(problems) + ". Commit or delete; remove parked code and copies (git keeps history).",
            details,
            "git status --short && python -m maintenance.fix --select MNT005",
        )
