"""Lint counts by rule, with the delta from the previous report."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from health_checks.context import CheckContext
from health_checks.core import Check, Details, Outcome, Severity, Status
from health_checks.render import ReportView, delta, fmt, table
from health_checks.result import FixSummary

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


@dataclass(frozen=True, kw_only=True)
class LintDetails(Details):
    """ruff's findings per rule (``counts``, most frequent first) with the rules' names, the delta since the
    previous report, how many have a ruff fix and the first ten findings."""

    command: str = "ruff check ."
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    previous_total: int | None = None
    delta: int | None = None
    fixable: int | None = None
    first_findings: list[dict[str, Any]] = field(default_factory=list)

    def evidence(self) -> list[str]:
        shown = Details.evidence(replace(self, counts={}, names={}))
        moved = [k for k in ("counts", "names") if getattr(self, k)]
        return [*shown, f"- {', '.join(moved)}: see Linting below"] if moved else shown


def _total(counts: Mapping[str, int] | None) -> int | None:
    return None if counts is None else sum(int(v) for v in counts.values())


def _fixes_table(fixes: FixSummary) -> list[str]:
    """Before / after the maintenance fixes of this run, per rule (ruff and MNT codes)."""
    before, after = fixes.counts_before, fixes.counts_after
    codes = sorted(set(before) | set(after), key=lambda k: (-int(before.get(k, 0)), k))
    rows = [
        (f"`{k}`", before.get(k, 0), after.get(k, 0), delta(after.get(k, 0), before.get(k, 0))) for k in codes
    ]
    total_b, total_a = sum(before.values()), sum(after.values())
    rows.append(("**total**", total_b, total_a, delta(total_a, total_b)))
    heading = "**Before / after the maintenance fixes of this run** (ruff + MNT codes):"
    return [heading, "", *table(("Rule", "Before", "After", "Δ"), rows), ""]


class HC002(Check):
    """Lint counts by rule, with the delta from the previous report.

    Runs ``ruff check`` with the tree's own configuration and counts the findings per rule. Any finding
    is a warning; the report's Linting section shows previous → now per rule.
    """

    name = "lint"
    severity = Severity.MINOR
    details_type = LintDetails
    section_rank = 10

    def check(self, ctx: CheckContext) -> Outcome:
        findings = ruff_findings(ctx)
        counts = Counter(str(f.get("code") or "syntax-error") for f in findings)
        ordered = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        names = rule_names()
        total = sum(counts.values())
        previous = (ctx.previous or {}).get("lint")
        details = LintDetails(
            total=total, counts=ordered, names={code: names[code] for code in ordered if code in names}
        )
        change = ""
        if isinstance(previous, dict):
            before = sum(int(v) for v in previous.values())
            details = replace(details, previous_total=before, delta=total - before)
            change = f" ({total - before:+d} since the previous report)"
        if total == 0:
            return Outcome.passed(f"ruff finds nothing{change}", details)
        fixable = sum(1 for f in findings if f.get("fix"))
        where = [
            {
                "file": ctx.rel(f["filename"]),
                "line": f["location"]["row"],
                "code": f.get("code"),
                "message": f["message"],
            }
            for f in findings[:10]
        ]
        details = replace(details, fixable=fixable, first_findings=where)
        top = ", ".join(f"{code} ×{n}" for code, n in list(ordered.items())[:5])
        return Outcome(
            Status.WARN,
            f"ruff reports {total} finding{'s' if total != 1 else ''}{change}: {top}; {fixable} have a ruff fix.",
            details,
            "ruff check --fix . && ruff format .",
        )

    @classmethod
    def figures(cls, view: ReportView) -> list[str]:
        lint = view.details(cls.code(), LintDetails)
        return [f"lint findings: {lint.total}"] if lint else []

    @classmethod
    def impact(cls, view: ReportView) -> list[str]:
        lint = view.details(cls.code(), LintDetails)
        before = _total((view.previous or {}).get("lint"))
        if lint is None or before is None or lint.total == before:
            return []
        icon = "✅" if lint.total < before else "❌"
        return [f"- {icon} Lint findings: {before} → {lint.total} ({delta(lint.total, before)})"]

    @classmethod
    def section(cls, view: ReportView) -> list[str]:
        """## Linting: the fixes' before/after table (``nox -s maintain``), then ruff per rule against the
        previous report."""
        lines = ["## Linting", ""]
        fixes = view.report.fixes
        if fixes is not None:
            lines += _fixes_table(fixes)
        lint = view.details(cls.code(), LintDetails)
        if lint is None:
            return [*lines, "Lint counts are not available (the lint check did not run).", "", "---", ""]
        previous = view.previous
        old: Mapping[str, int] = (previous or {}).get("lint") or {}
        counts = lint.counts
        codes = sorted(set(counts) | set(old), key=lambda k: (-int(counts.get(k, 0)), k))
        rows = [
            (
                f"`{k}`",
                lint.names.get(k, ""),
                old.get(k, "–") if previous else "–",
                counts.get(k, 0),
                delta(counts.get(k, 0), old.get(k, 0)) if previous else "–",
            )
            for k in codes
        ]
        total, total_old = sum(counts.values()), _total(old) if previous else None
        rows.append(("**total**", "", fmt(total_old), total, delta(total, total_old)))
        lines += [f"**ruff** (`{lint.command}`), previous report → now:", ""]
        if not codes:
            lines.append("No lint finding. ✅")
        else:
            lines += table(("Rule", "Name", "Previous", "Now", "Δ"), rows)
        return [*lines, "", "---", ""]
