"""Lint counts by rule, with the delta from the previous report."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from typing import Any

from health_checks.context import CheckContext
from health_checks.core import Check, Outcome, Severity, Status

RUFF = [sys.executable, "-m", "ruff"]


def ruff_findings(ctx: CheckContext) -> list[dict[str, Any]]:
    """ruff's JSON findings for the tree, with the tree's own ruff configuration."""

    def compute() -> list[dict[str, Any]]:
        command = [*RUFF, "check", "--output-format", "json", "--exit-zero", "--no-cache", "."]
        done = subprocess.run(command, cwd=ctx.root, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"`ruff check` exited {done.returncode}: {done.stderr.strip()[-600:]}")
        return json.loads(done.stdout or "[]")

    return ctx.memo("ruff_findings", compute)


def rule_names() -> dict[str, str]:
    """Code -> kebab-case rule name (``F821`` -> ``undefined-name``), from ruff itself."""
    done = subprocess.run(
        [*RUFF, "rule", "--all", "--output-format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        return {}
    return {rule["code"]: rule["name"] for rule in json.loads(done.stdout)}


class HC002(Check):
    """Lint counts by rule, with the delta from the previous report.

    Runs ``ruff check`` with the tree's own configuration and counts the findings per rule. Any finding
    is a warning; the report's Linting section shows previous → now per rule.
    """

    name = "lint"
    severity = Severity.MINOR

    def check(self, ctx: CheckContext) -> Outcome:
        findings = ruff_findings(ctx)
        counts = Counter(str(f.get("code") or "syntax-error") for f in findings)
        ordered = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        names = rule_names()
        total = sum(counts.values())
        previous = (ctx.previous or {}).get("lint")
        details: dict[str, Any] = {
            "command": "ruff check .",
            "total": total,
            "counts": ordered,
            "names": {code: names[code] for code in ordered if code in names},
        }
        delta = ""
        if isinstance(previous, dict):
            before = sum(int(v) for v in previous.values())
            details["previous_total"] = before
            details["delta"] = total - before
            delta = f" ({total - before:+d} since the previous report)"
        if total == 0:
            return Outcome.passed(f"ruff finds nothing{delta}", **details)
        fixable = sum(1 for f in findings if f.get("fix"))
        details["fixable"] = fixable
        where = [
            {
                "file": ctx.rel(f["filename"]),
                "line": f["location"]["row"],
                "code": f.get("code"),
                "message": f["message"],
            }
            for f in findings[:10]
        ]
        details["first_findings"] = where
        top = ", ".join(f"{code} ×{n}" for code, n in list(ordered.items())[:5])
        return Outcome(
            Status.WARN,
            f"ruff reports {total} finding{'s' if total != 1 else ''}{delta}: {top}; {fixable} have a ruff fix.",
            details,
            "ruff check --fix . && ruff format .",
        )
