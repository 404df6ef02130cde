"""The applied fixes of one `--apply` run as a reviewer reads them: proven, unexercised, reverted.

`summarize` turns a `FixReport` into the plain dict that the health report stores as
`maintenance_fixes` and that `python -m maintenance.autopilot` writes into its own report; `fix_groups`
renders that dict as markdown, the same for both, so a pull request's body always leads with the fixes
by group and the tests behind each.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maintenance.findings import FixReport

MAX_FIXES_SHOWN = 30
GROUPS = (
    ("proven", "✅ Proven", "a test executed the changed lines and the whole suite passed"),
    (
        "unexercised",
        "⚠️ Unexercised",
        "no test executed the changed lines: the suite passing proves nothing here",
    ),
    ("unmeasured", "❔ Not measured", "coverage.py did not run in the test command's Python"),
    ("applied", "Applied without --verify", "no test command was run; review every line"),
)


def _relative(path: str, root: Path) -> str:
    candidate = Path(path)
    if candidate.is_absolute() and candidate.is_relative_to(root):
        return candidate.relative_to(root).as_posix()
    return path


def summarize(report: FixReport, root: Path) -> dict[str, Any]:
    """The run's fixes as JSON-ready data: every applied or withheld fix with its status and tests.

    `applied` holds the fixes left in the files (status proven / unexercised / unmeasured under
    `--verify`, else "applied"); `withheld` the unexercised fixes `--drop-unexercised` took back;
    `reverted` the fixes that broke a test; `verified` says whether a test command ran at all.
    """
    evidence = {(v.path, v.line, v.code): v for v in report.verified}
    messages = {(f.path, f.code): f.message for f in report.findings}
    applied = []
    for finding in report.findings:
        if not finding.fixed:
            continue
        v = evidence.get((finding.path, finding.line, finding.code))
        applied.append(
            {
                "path": _relative(finding.path, root),
                "line": finding.line,
                "code": finding.code,
                "message": finding.message,
                "before": finding.before,
                "after": finding.after,
                "status": v.status if v is not None else "applied",
                "tests": list(v.tests) if v is not None else [],
            }
        )
    withheld = [
        {
            "path": _relative(v.path, root),
            "line": v.line,
            "code": v.code,
            "message": messages.get((v.path, v.code), ""),
            "status": v.status,
            "tests": list(v.tests),
        }
        for v in report.verified
        if not v.kept
    ]
    return {
        "applied": applied,
        "withheld": withheld,
        "verified": bool(report.verified) or bool(report.reverted),
        "counts_before": dict(report.counts_before),
        "counts_after": dict(report.counts_after),
        "changed_files": [_relative(str(p), root) for p in report.changed_files],
        "reverted": [{"path": r.path, "code": r.code, "tests": r.tests} for r in report.reverted],
        "errors": [f"{e.path}:{e.line} {e.code} {e.message}" for e in report.errors],
    }


def counts(fixes: Mapping[str, Any]) -> dict[str, int]:
    """How many fixes fall in each group (proven, unexercised, unmeasured, applied, withheld, reverted)."""
    out = {key: 0 for key, _, _ in GROUPS}
    for fix in fixes.get("applied") or []:
        out[fix.get("status", "applied")] = out.get(fix.get("status", "applied"), 0) + 1
    out["withheld"] = len(fixes.get("withheld") or [])
    out["reverted"] = len(fixes.get("reverted") or [])
    return out


def headline(fixes: Mapping[str, Any]) -> str:
    """One sentence: how many fixes were kept, proven, unexercised, withheld and reverted."""
    n = counts(fixes)
    kept = sum(n[key] for key, _, _ in GROUPS)
    parts = [f"{n[key]} {label.split(' ', 1)[1].lower()}" for key, label, _ in GROUPS if n[key]]
    if n["withheld"]:
        parts.append(f"{n['withheld']} unexercised and withheld")
    if n["reverted"]:
        parts.append(f"{n['reverted']} reverted (broke a test)")
    if not kept and not n["withheld"] and not n["reverted"]:
        return "No safe fix to apply."
    return f"{kept} fix{'es' if kept != 1 else ''} kept: " + ", ".join(parts) + "."


def _fix_block(fix: Mapping[str, Any]) -> list[str]:
    lines = [f"- `{fix['code']}` `{fix['path']}:{fix['line']}` {fix.get('message', '')}"]
    tests = fix.get("tests") or []
    if tests:
        shown = ", ".join(f"`{t}`" for t in tests[:5])
        more = f" and {len(tests) - 5} more" if len(tests) > 5 else ""
        lines.append(f"  - run by {shown}{more}")
    before, after = fix.get("before"), fix.get("after")
    if before or after:
        lines += ["", "  ```diff"]
        lines += [f"  - {text}" for text in str(before or "").splitlines()]
        lines += [f"  + {text}" for text in str(after or "").splitlines()]
        lines += ["  ```"]
    return lines


def fix_groups(fixes: Mapping[str, Any] | None) -> list[str]:
    """Markdown: the headline, then each non-empty group with its fixes, tests and diffs."""
    if fixes is None:
        return ["No fix was applied (a plain check run)."]
    lines = [f"**{headline(fixes)}**", ""]
    applied = list(fixes.get("applied") or [])
    shown = 0
    for key, label, meaning in GROUPS:
        group = [f for f in applied if f.get("status", "applied") == key]
        if not group:
            continue
        lines += [f"#### {label} ({len(group)}): {meaning}", ""]
        for fix in group:
            if shown >= MAX_FIXES_SHOWN:
                break
            lines += [*_fix_block(fix), ""]
            shown += 1
    if len(applied) > MAX_FIXES_SHOWN:
        lines += [f"… and {len(applied) - MAX_FIXES_SHOWN} more fixes (all in the JSON report).", ""]
    withheld = fixes.get("withheld") or []
    if withheld:
        lines += [
            f"#### ⏸️ Withheld ({len(withheld)}): no test executed them, so `--drop-unexercised` left them out",
            "",
        ]
        lines += [f"- `{f['code']}` `{f['path']}:{f['line']}` {f.get('message', '')}" for f in withheld]
        lines.append("")
    reverted = fixes.get("reverted") or []
    if reverted:
        lines += [f"#### ❌ Reverted ({len(reverted)}): the fix broke a test and was taken back", ""]
        lines += [f"- `{r['code']}` `{r['path']}`: broke {r['tests']}" for r in reverted]
        lines.append("")
    if fixes.get("errors"):
        lines += ["Errors while fixing:", "", *(f"- {e}" for e in fixes["errors"]), ""]
    return lines[:-1] if lines[-1] == "" else lines
