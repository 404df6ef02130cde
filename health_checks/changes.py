"""What changed since the previous report, as the report's "Fixes Since the Previous Report" (the maintenance
fixes), "Commits Since the Previous Report" (everything else) and "File Changes Summary" sections (all from
the typed report)."""

from __future__ import annotations

from health_checks.render import plural, table
from health_checks.result import Commit, Report

MAX_COMMITS_SHOWN = 20


def _commit_rows(commits: list[Commit]) -> list[tuple[str, ...]]:
    rows = []
    for c in commits[:MAX_COMMITS_SHOWN]:
        files = ", ".join(f"`{f}`" for f in list(c.files)[:4])
        if len(c.files) > 4:
            files += f" +{len(c.files) - 4} more"
        rows.append((f"`{c.short}`", c.date, c.message, files, f"+{c.insertions}, -{c.deletions}"))
    return rows


# the title `python -m maintenance.autopilot` gives its commits (a merged maintenance pull request)
MAINTENANCE_COMMIT = "Autonomous maintenance"


def _is_maintenance(commit: Commit) -> bool:
    return commit.message.startswith(MAINTENANCE_COMMIT)


def fixes_section(report: Report) -> list[str]:
    """## Fixes Since the Previous Report: this run's maintenance fixes by group (proven, unexercised,
    reverted, with the tests behind each), then the maintenance commits merged since the previous report.
    Other commits are not fixes: they are listed under Commits Since the Previous Report."""
    from maintenance.summary import fix_groups

    lines = ["## Fixes Since the Previous Report", "", "### This run", ""]
    fixes = report.fixes
    if fixes is None:
        lines.append(
            "This run applied no fix (a plain check run). `python -m maintenance.autopilot` (the action) or "
            "`nox -s maintain` applies the safe fixes the tests prove and lists each one here by group."
        )
    else:
        lines += fix_groups(fixes.to_json())
    merged = [c for c in report.commits.commits if _is_maintenance(c)]
    lines += ["", "### Maintenance pull requests merged since the previous report", ""]
    if merged:
        lines += table(("Commit", "Date (UTC)", "Message", "Files", "Lines"), _commit_rows(merged))
    else:
        lines.append("None.")
    return [*lines, "", "---", ""]


def commits_section(report: Report) -> list[str]:
    """## Commits Since the Previous Report: every other commit, as a commit (not as a fix)."""
    lines = ["## Commits Since the Previous Report", ""]
    history = report.commits
    commits = [c for c in history.commits if not _is_maintenance(c)]
    if history.note:
        lines += [f"*{history.note}.*", ""]
    if commits:
        lines += table(("Commit", "Date (UTC)", "Message", "Files", "Lines"), _commit_rows(commits))
        if len(commits) > MAX_COMMITS_SHOWN:
            lines.append(f"\n… and {len(commits) - MAX_COMMITS_SHOWN} older commits.")
    elif not history.note:
        lines.append("No commit since the previous report.")
    return [*lines, "", "---", ""]


def file_changes_section(report: Report) -> list[str]:
    """## File Changes Summary: lines changed and fixes applied per file since the previous report."""
    lines = ["## File Changes Summary", ""]
    per_file: dict[str, list[int]] = {}
    for c in report.commits.commits:
        for path, stat in c.files.items():
            entry = per_file.setdefault(path, [0, 0, 0])
            entry[0] += stat.insertions
            entry[1] += stat.deletions
            entry[2] += 1
    fixed: dict[str, int] = {}
    for fix in report.fixes.applied if report.fixes else ():
        fixed[fix.path] = fixed.get(fix.path, 0) + 1
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
