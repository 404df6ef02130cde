"""Pending maintenance.fix findings by code, and static call-arity (MNT004) findings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from health_checks.context import CheckContext
from health_checks.core import Check, Details, Outcome, Severity, Status
from health_checks.render import ReportView

DRY_RUN = "maintenance_fix_dry_run"


def fix_dry_run(ctx: CheckContext) -> Any:
    """The ``maintenance.fix`` dry run of the tree (``run_fix(apply=False)``), computed once per run."""

    def compute() -> Any:
        from maintenance.fix import run_fix  # the fixer is optional for a plain import of this module

        return run_fix([ctx.root], apply=False, root=ctx.root)

    return ctx.memo(DRY_RUN, compute)


def fixer_or_skip(ctx: CheckContext) -> tuple[Any, Outcome | None]:
    """The dry-run report, or a failed outcome saying why the fixer cannot run (no silent skip)."""
    try:
        return fix_dry_run(ctx), None
    except ImportError as error:
        return None, Outcome(
            Status.FAIL, f"could not run: maintenance.fix is not importable ({error}); install the project"
        )


def finding_row(ctx: CheckContext, finding: Any) -> dict[str, Any]:
    path = Path(str(finding.path))
    return {
        "file": ctx.rel(path if path.is_absolute() else ctx.root / path),
        "line": finding.line,
        "code": finding.code,
        "message": finding.message,
    }


@dataclass(frozen=True, kw_only=True)
class PendingFixDetails(Details):
    """The dry run of ``maintenance.fix``: files scanned, findings by code, the fixable ones by code, the
    fixer's errors and the first pending fixes."""

    files_scanned: int
    findings: int
    by_code: dict[str, int] = field(default_factory=dict)
    fixable: int = 0
    fixable_by_code: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class CallArityDetails(Details):
    """The MNT004 findings (file, line, code, message), in two lists: ``calls`` crash when reached;
    ``acknowledged`` carry a type-checker suppression on their line (``# type: ignore[call-arg]``,
    ``# pyright: ignore``), so the code already says they do not bind."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: list[dict[str, Any]] = field(default_factory=list)

    def evidence(self) -> list[str]:
        """Two lists: the calls that crash when reached, then the acknowledged ones."""
        lines: list[str] = []
        for title, rows in (("Crashes when reached", self.calls), ("Acknowledged", self.acknowledged)):
            lines.append(f"- {title}: {len(rows)}")
            lines += [f"  - `{row['file']}:{row['line']}` {row['message']}" for row in rows]
        return lines


class HC003(Check):
    """No safe maintenance fix is pending.

    Runs ``maintenance.fix`` as a dry run (MNT codemods and ruff) and counts the findings by code. Fixable
    findings left in the tree are a warning: ``nox -s maintain`` (or ``python -m maintenance.fix --apply``)
    applies them.
    """

    name = "pending-fixes"
    severity = Severity.MINOR
    details_type = PendingFixDetails

    def check(self, ctx: CheckContext) -> Outcome:
        report, skip = fixer_or_skip(ctx)
        if skip:
            return skip
        findings = list(report.findings)
        by_code = dict(sorted(Counter(f.code for f in findings).items(), key=lambda kv: (-kv[1], kv[0])))
        fixable = [f for f in findings if f.fixable]
        fixable_by_code = dict(
            sorted(Counter(f.code for f in fixable).items(), key=lambda kv: (-kv[1], kv[0]))
        )
        details = PendingFixDetails(
            files_scanned=report.files_scanned,
            findings=len(findings),
            by_code=by_code,
            fixable=len(fixable),
            fixable_by_code=fixable_by_code,
            errors=[finding_row(ctx, e) for e in report.errors[:10]],
            pending=[finding_row(ctx, f) for f in fixable[:15]],
        )
        if fixable:
            return Outcome(
                Status.WARN,
                f"{len(fixable)} safe fixes are pending ({', '.join(f'{c} ×{n}' for c, n in fixable_by_code.items())}) "
                f"in {report.files_scanned} files scanned; apply them.",
                details,
                "python -m maintenance.fix --apply",
            )
        rest = (
            f"; {len(findings)} report-only finding{'s' if len(findings) != 1 else ''} remain"
            if findings
            else ""
        )
        return Outcome.passed(f"no safe fix pending in {report.files_scanned} files{rest}", details)

    @classmethod
    def figures(cls, view: ReportView) -> list[str]:
        pending = view.details(cls.code(), PendingFixDetails)
        return [f"safe fixes pending: {pending.fixable}"] if pending else []


class HC004(Check):
    """Every call binds to its callee's signature (MNT004).

    The static call-arity check of ``maintenance.fix``: a call whose arguments cannot bind to the callee
    (for an ``nn.Module``, to ``forward``) — the export that called ``model(a, b, c, d)`` when
    ``forward(self, batch)`` takes one argument. Such a call crashes when it runs, so it fails the run.
    Calls that test the error itself (inside ``pytest.raises(TypeError)`` and the like) are no findings;
    calls the code marks with a type-checker suppression are listed as acknowledged and do not fail it.
    """

    name = "call-arity"
    severity = Severity.CRITICAL
    details_type = CallArityDetails

    def check(self, ctx: CheckContext) -> Outcome:
        from maintenance.codemods.call_signature_mismatch import is_acknowledged

        report, skip = fixer_or_skip(ctx)
        if skip:
            return skip
        rows = [finding_row(ctx, f) for f in report.findings if f.code == "MNT004"]
        bad = [row for row in rows if not is_acknowledged(row["message"])]
        acknowledged = [row for row in rows if is_acknowledged(row["message"])]
        details = CallArityDetails(calls=bad, acknowledged=acknowledged)
        if not bad:
            noted = f"; {len(acknowledged)} acknowledged by a suppression comment" if acknowledged else ""
            return Outcome.passed(
                f"every resolvable call binds ({report.files_scanned} files){noted}", details
            )
        where = "; ".join(f"{b['file']}:{b['line']} {b['message']}" for b in bad[:3])
        return Outcome(
            Status.FAIL,
            f"{len(bad)} calls crash when reached, they cannot bind to their callee: {where}. Pass the "
            "arguments the signature takes (for a model: one batch dict).",
            details,
            f"python -m maintenance.fix --select MNT004 {' '.join(sorted({b['file'] for b in bad}))}",
        )

    @classmethod
    def figures(cls, view: ReportView) -> list[str]:
        details = view.details(cls.code(), CallArityDetails)
        if details is None:
            return []
        return [
            f"calls that crash when reached: {len(details.calls)} (acknowledged: {len(details.acknowledged)})"
        ]
