"""What changed since the previous report: the commits and the applied maintenance fixes, as the report's
"Fixes Since the Previous Report" and "File Changes Summary" sections (both from the JSON report dict)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from health_checks.render import plural, table

MAX_FIXES_SHOWN = 30
MAX_COMMITS_SHOWN = 20


def _commit_rows(commits: list[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    rows = []
    for c in commits[:MAX_COMMITS_SHOWN]:
        files = ", ".join(f"`{f}`" for f in list(c["files"])[:4])
        if len(c["files"]) > 4:
            files += f" +{len(c['files']) - 4} more"
        rows.append(
            (f"`{c['short']}`", c["date"], c["message"], files, f"+{c['insertions']}, -{c['deletions']}")
        )
    return rows


def _fix_lines(fixes: Mapping[str, Any] | None) -> list[str]:
    applied = (fixes or {}).get("applied") or []
    if fixes is None:
        return [
            "This run applied no fix (a plain check run). `nox -s maintain` applies the safe fixes of "
            "`python -m maintenance.fix --apply`, reruns the checks and lists every fix here."
        ]
    lines = [] if applied else ["`maintenance.fix --apply` ran and found nothing safe to fix."]
    for index, fix in enumerate(applied[:MAX_FIXES_SHOWN], 1):
        lines += [
            f"#### Fix {index}: `{fix['code']}` `{fix['path']}:{fix['line']}`",
            "",
            fix.get("message", ""),
            "",
        ]
        before, after = fix.get("before"), fix.get("after")
        if before or after:
            lines.append("```diff")
            lines += [f"- {text}" for text in str(before or "").splitlines()]
            lines += [f"+ {text}" for text in str(after or "").splitlines()]
            lines += ["```", ""]
    if len(applied) > MAX_FIXES_SHOWN:
        lines.append(f"… and {len(applied) - MAX_FIXES_SHOWN} more fixes (all in the JSON report).")
    if fixes.get("reverted"):
        lines += ["", "Fixes reverted by `--verify` (they broke the tests):", ""]
        lines += [f"- `{r['code']}` `{r['path']}`: broke {r['tests']}" for r in fixes["reverted"]]
    if fixes.get("errors"):
        lines += ["", "Errors while fixing:", "", *(f"- {e}" for e in fixes["errors"])]
    return lines


def fixes_section(report: Mapping[str, Any]) -> list[str]:
    """## Fixes Since the Previous Report: the commits, then every maintenance fix this run applied."""
    lines = ["## Fixes Since the Previous Report", "", "### Commits", ""]
    history = report.get("commits") or {}
    commits = history.get("commits") or []
    if history.get("note"):
        lines += [f"*{history['note']}.*", ""]
    if commits:
        lines += table(("Commit", "Date (UTC)", "Message", "Files", "Lines"), _commit_rows(commits))
        if len(commits) > MAX_COMMITS_SHOWN:
            lines.append(f"\n… and {len(commits) - MAX_COMMITS_SHOWN} older commits.")
    elif not history.get("note"):
        lines.append("No commit since the previous report.")
    lines += ["", "### Maintenance fixes applied", "", *_fix_lines(report.get("maintenance_fixes"))]
    return [*lines, "", "---", ""]


def file_changes_section(report: Mapping[str, Any]) -> list[str]:
    """## File Changes Summary: lines changed and fixes applied per file since the previous report."""
    lines = ["## File Changes Summary", ""]
    per_file: dict[str, list[int]] = {}
    for c in (report.get("commits") or {}).get("commits") or []:
        for path, stat in c["files"].items():
            entry = per_file.setdefault(path, [0, 0, 0])
            entry[0] += stat["insertions"]
            entry[1] += stat["deletions"]
            entry[2] += 1
    fixed: dict[str, int] = {}
    for fix in (report.get("maintenance_fixes") or {}).get("applied") or []:
        fixed[fix["path"]] = fixed.get(fix["path"], 0) + 1
    if not per_file and not fixed:
        return [*lines, "No file changed since the previous report.", "", "---", ""]
    paths = sorted(set(per_file) | set(fixed), key=lambda p: (-(sum(per_file.get(p, [0, 0])[:2])), p))
    empty = [0, 0, 0]
    rows = [
        (
            f"`{p}`",
            f"+{per_file.get(p, empty)[0]}, -{per_file.get(p, empty)[1]}",
            per_file.get(p, empty)[2],
            fixed.get(p, 0),
        )
        for p in paths
    ]
    lines += table(("File", "Lines changed", "Commits", "Maintenance fixes"), rows, 25)
    plus = sum(v[0] for v in per_file.values())
    minus = sum(v[1] for v in per_file.values())
    fixes_text = (
        f"; {plural(sum(fixed.values()), 'maintenance fix', 'maintenance fixes')} in {plural(len(fixed), 'file')}"
        if fixed
        else ""
    )
    lines += [
        "",
        f"**Total Impact**: +{plus} lines added, -{minus} lines removed in {plural(len(per_file), 'file')}{fixes_text}.",
    ]
    return [*lines, "", "---", ""]
