"""The markdown report, rendered from the JSON report dict and the digest of the previous report.

Plain string building, no template engine: each section is one function returning its lines, in the order
of the project's first hand-written report (summary and impact, issues identified, fixes, testing and
verification, linting, model health, diagnostics, file changes, known issues, recommendations, references).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from health_checks.report import embed_digest

ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "skip": "⏭️"}
SEVERITY_RANK = {"critical": 0, "major": 1, "minor": 2}
STATUS_RANK = {"fail": 0, "warn": 1, "skip": 2, "pass": 3}
MAX_TABLE_ROWS = 15
MAX_FIXES_SHOWN = 30
MAX_COMMITS_SHOWN = 20


# ------------------------------------------------------------------------------------------- helpers
def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "nan"
        if value != 0 and abs(value) < 10 ** (-digits):
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)


def _delta(now: Any, before: Any, digits: int = 4) -> str:
    if not isinstance(now, int | float) or not isinstance(before, int | float):
        return "–"
    diff = now - before
    if isinstance(now, int) and isinstance(before, int):
        return f"{diff:+d}"
    return f"{diff:+.{digits}f}"


def _cell(value: Any) -> str:
    text = _fmt(value) if not isinstance(value, str) else value
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], limit: int | None = None) -> list[str]:
    rows = list(rows)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    shown = rows if limit is None else rows[:limit]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in shown]
    if limit is not None and len(rows) > limit:
        lines.append(f"| … {len(rows) - limit} more | " + " | ".join("" for _ in header[1:]) + " |")
    return lines


def _n(count: int, word: str, plural: str | None = None) -> str:
    """``3 files`` / ``1 file`` (``plural`` for irregular words)."""
    return f"{count} {word}" if count == 1 else f"{count} {plural or word + 's'}"


def _first_sentence(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _default_command(check: Mapping[str, Any]) -> str:
    return f"python -m health_checks --only {check['code']}"


def _checks(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(report.get("checks", []))


def _by_code(report: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    return {c["code"]: c for c in (report or {}).get("checks", []) or []}


def _details(report: Mapping[str, Any], code: str) -> Mapping[str, Any]:
    return _by_code(report).get(code, {}).get("details", {}) or {}


# details that have their own section in the report: the issue points there instead of repeating them
ELSEWHERE: dict[str, tuple[tuple[str, ...], str]] = {
    "HC002": (("counts", "names"), "Linting"),
    "HC021": (("horizons",), "Model Health"),
    "HC022": (("rows",), "Diagnostics"),
    "HC023": (("horizons", "baselines", "best_baseline"), "Model Health"),
}


def _nested_table(value: Mapping[str, Any]) -> list[str] | None:
    """``{row: {column: scalar}}`` as a table, or None when ``value`` is not of that shape."""
    if not value or not all(isinstance(v, Mapping) for v in value.values()):
        return None
    inner = [v for row in value.values() for v in row.values()]
    if any(isinstance(v, Mapping | list) for v in inner):
        return None
    columns = list(dict.fromkeys(k for row in value.values() for k in row))
    return _table(
        ("", *columns), ((f"`{name}`", *(row.get(c) for c in columns)) for name, row in value.items())
    )


def _evidence(details: Mapping[str, Any], code: str = "") -> list[str]:
    """Details as readable evidence: scalars as bullets, lists of records as tables, text as code."""
    lines: list[str] = []
    skipped, section = ELSEWHERE.get(code, ((), ""))
    shown_elsewhere = [key for key in skipped if details.get(key)]
    for key, value in details.items():
        if key in {"traceback", "plot", "not_applicable"} or key in skipped or value in (None, [], {}):
            continue
        label = key.replace("_", " ")
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            columns = list(dict.fromkeys(k for v in value for k in v))
            lines += [
                "",
                f"*{label}*:",
                "",
                *_table(columns, ([v.get(c) for c in columns] for v in value), MAX_TABLE_ROWS),
            ]
            lines.append("")
        elif isinstance(value, Mapping) and _nested_table(value) is not None:
            lines += ["", f"*{label}*:", "", *(_nested_table(value) or []), ""]
        elif isinstance(value, Mapping):
            flat = all(not isinstance(v, Mapping | list) for v in value.values())
            if flat:
                inner = ", ".join(f"`{k}` {_fmt(v)}" for k, v in list(value.items())[:20])
                more = f", … {len(value) - 20} more" if len(value) > 20 else ""
                lines.append(f"- {label}: {inner}{more}")
            else:
                lines += [
                    f"- {label}:",
                    "",
                    "```json",
                    json.dumps(value, indent=2, default=str)[:1500],
                    "```",
                    "",
                ]
        elif isinstance(value, list):
            shown = ", ".join(f"`{v}`" for v in value[:10])
            more = f", … {len(value) - 10} more" if len(value) > 10 else ""
            lines.append(f"- {label}: {shown}{more}")
        elif isinstance(value, str) and "\n" in value:
            lines += [f"- {label}:", "", "```", value.strip(), "```", ""]
        else:
            lines.append(f"- {label}: {_fmt(value)}")
    if shown_elsewhere:
        lines.append(f"- {', '.join(k.replace('_', ' ') for k in shown_elsewhere)}: see {section} below")
    if "traceback" in details:
        lines += ["", "```text", "".join(details["traceback"]).strip(), "```"]
    return lines


def _not_applicable(check: Mapping[str, Any]) -> bool:
    return bool((check.get("details") or {}).get("not_applicable"))


def _is_new(check: Mapping[str, Any], previous: Mapping[str, Any] | None) -> bool:
    if previous is None:
        return True
    before = _by_code(previous).get(check["code"])
    return before is None or before["status"] != check["status"]


# ------------------------------------------------------------------------------------------- sections
def _header(report: Mapping[str, Any]) -> list[str]:
    date = str(report["timestamp"])[:10]
    git = report.get("git") or {}
    commit = f"commit `{git.get('short')}`" + (f" on `{git['branch']}`" if git.get("branch") else "")
    if git.get("dirty"):
        commit += " (with uncommitted changes)"
    where = commit if git else f"tree `{report.get('root')}` (not a git repository)"
    return [
        f"# Autonomous Improvements - {date}",
        "",
        f"*Generated by `{report.get('command')}` at {report['timestamp']} on {where}; "
        f"{report['summary']['total']} checks in {_fmt(report.get('duration'), 1)} s.*",
        "",
    ]


def _summary(report: Mapping[str, Any], previous: Mapping[str, Any] | None) -> list[str]:
    s = report["summary"]
    lines = ["## Summary", ""]
    lines.append(
        f"**Status: {s['status']}** (exit {s['exit_code']}) — {s['fail']} failed, {s['warn']} warnings, "
        f"{s['pass']} passed, {s['skip']} skipped."
    )
    failing = [c for c in _checks(report) if c["status"] == "fail"]
    if failing:
        lines += ["", "Failing: " + "; ".join(f"`{c['code']}` {c['title']}" for c in failing) + "."]
    skipped = [c for c in _checks(report) if c["status"] == "skip"]
    if skipped:
        lines += [
            "",
            "Skipped (a skip never counts as a pass): "
            + "; ".join(f"`{c['code']}` {_first_sentence(c['message'])}" for c in skipped)
            + ".",
        ]
    lines += [
        "",
        "**Impact**" + (f" (against the report of {previous.get('timestamp')})" if previous else "") + ":",
        "",
    ]
    impact: list[str] = []
    if previous is None:
        impact.append(
            "- ℹ️ No previous report was found: this report is the baseline the next one is compared with."
        )
    else:
        before = _by_code(previous)
        for check in _checks(report):
            old = before.get(check["code"])
            if old is None or old["status"] == check["status"]:
                continue
            good = STATUS_RANK[check["status"]] > STATUS_RANK[old["status"]]
            icon = "✅" if good else "❌"
            word = "improved" if good else "regressed"
            impact.append(
                f"- {icon} `{check['code']}` {check['title']}: {old['status']} → {check['status']} ({word})"
            )
        lint_now, lint_before = _details(report, "HC002").get("total"), _lint_total(previous.get("lint"))
        if isinstance(lint_now, int) and isinstance(lint_before, int) and lint_now != lint_before:
            icon = "✅" if lint_now < lint_before else "❌"
            impact.append(
                f"- {icon} Lint findings: {lint_before} → {lint_now} ({_delta(lint_now, lint_before)})"
            )
        impact += _metric_impact(report, previous)
    fixes = report.get("maintenance_fixes") or {}
    applied = fixes.get("applied") or []
    if applied:
        files = len({f["path"] for f in applied})
        fixes_text = _n(len(applied), "maintenance fix", "maintenance fixes")
        impact.append(f"- 🔧 {fixes_text} applied in {_n(files, 'file')} (listed below)")
    commits = (report.get("commits") or {}).get("commits") or []
    if previous is not None and commits:
        plus = sum(c["insertions"] for c in commits)
        minus = sum(c["deletions"] for c in commits)
        impact.append(
            f"- 📝 {_n(len(commits), 'commit')} since the previous report (+{plus}, -{minus} lines)"
        )
    if previous is not None and len(impact) == 0:
        impact.append("- No check changed status and no tracked figure moved since the previous report.")
    return [*lines, *impact, "", *_key_figures(report), "---", ""]


def _key_figures(report: Mapping[str, Any]) -> list[str]:
    """The handful of numbers a reader looks for first, from the checks that produced them."""
    figures = []
    imports = _details(report, "HC001")
    if "modules" in imports:
        figures.append(
            f"modules importing: {imports['modules'] - imports.get('failed', 0)}/{imports['modules']}"
        )
    lint = _details(report, "HC002")
    if "total" in lint:
        figures.append(f"lint findings: {lint['total']}")
    pending = _details(report, "HC003")
    if "fixable" in pending:
        figures.append(f"safe fixes pending: {pending['fixable']}")
    train = _details(report, "HC020")
    if "seconds" in train:
        figures.append(f"quick training: {train.get('epochs_run')} epoch(s) in {_fmt(train['seconds'], 0)} s")
    model = _details(report, "HC023").get("horizons") or []
    if model:
        figures.append("val IC " + ", ".join(f"{row['horizon']} {_fmt(row.get('ic'), 3)}" for row in model))
    export = _details(report, "HC032")
    if "rows_in_file" in export:
        figures.append(f"rows exported: {export['rows_in_file']}")
    if not figures:
        return []
    return ["**Key figures**: " + "; ".join(figures) + ".", ""]


def _lint_total(counts: Mapping[str, int] | None) -> int | None:
    return None if counts is None else sum(int(v) for v in counts.values())


def _trend_icon(now: object, before: object, tolerance: float = 5e-4) -> str:
    """📈 / 📉 when the IC moved by more than the rounding of the table, ➖ when it held."""
    if not (isinstance(now, int | float) and isinstance(before, int | float)):
        return "➖"
    if now - before > tolerance:
        return "📈"
    if before - now > tolerance:
        return "📉"
    return "➖"


def _metric_impact(report: Mapping[str, Any], previous: Mapping[str, Any]) -> list[str]:
    now = {row["horizon"]: row for row in _details(report, "HC023").get("horizons", []) or []}
    before = {row["horizon"]: row for row in previous.get("model") or []}
    lines = []
    for horizon, row in now.items():
        old = before.get(horizon)
        if not old:
            continue
        parts = []
        for key, label in (("ic", "IC"), ("rank_ic", "RankIC"), ("sharpe", "Sharpe")):
            a, b = row.get(key), old.get(key)
            if isinstance(a, int | float) and isinstance(b, int | float):
                parts.append(f"{label} {_fmt(b, 3)} → {_fmt(a, 3)} ({_delta(a, b, 3)})")
        if parts:
            lines.append(
                f"- {_trend_icon(row.get('ic'), old.get('ic'))} Horizon {horizon}: " + ", ".join(parts)
            )
    return lines


def _issue_block(index: int, check: Mapping[str, Any], previous: Mapping[str, Any] | None) -> list[str]:
    severity = str(check.get("severity", "major")).capitalize()
    since = "new since the previous report" if previous is not None else "first report"
    if previous is not None and not _is_new(check, previous):
        since = "also present in the previous report"
    lines = [
        f"### {index}. {ICON[check['status']]} {check['title']} ({severity} - {check['status']})",
        "",
        f"**Check**: `{check['code']}` (`{check['name']}`) · **Status**: {ICON[check['status']]} "
        f"{check['status']} · {since}",
        "",
        "**Evidence**:",
        "",
        check["message"],
    ]
    evidence = _evidence(check.get("details") or {}, check["code"])
    if evidence:
        lines += ["", *evidence]
    lines += ["", "**Next step**:", "", "```bash", check.get("command") or _default_command(check), "```", ""]
    return lines


def _issues(report: Mapping[str, Any], previous: Mapping[str, Any] | None) -> list[str]:
    lines = ["## Issues Identified", ""]
    issues = [c for c in _checks(report) if c["status"] in {"fail", "warn"} and _is_new(c, previous)]
    issues.sort(key=lambda c: (STATUS_RANK[c["status"]], SEVERITY_RANK.get(c.get("severity"), 1), c["code"]))
    if not issues:
        lines += [
            "No new issue: every check that fails or warns was already doing so in the previous report "
            "(see Known Issues)."
            if previous
            else "No issue: every check passed or was skipped.",
            "",
        ]
    for index, check in enumerate(issues, 1):
        lines += _issue_block(index, check, previous)
    return [*lines, "---", ""]


def _fixes(report: Mapping[str, Any]) -> list[str]:
    lines = ["## Fixes Since the Previous Report", "", "### Commits", ""]
    history = report.get("commits") or {}
    commits = history.get("commits") or []
    if history.get("note"):
        lines += [f"*{history['note']}.*", ""]
    if commits:
        rows = []
        for c in commits[:MAX_COMMITS_SHOWN]:
            files = ", ".join(f"`{f}`" for f in list(c["files"])[:4])
            if len(c["files"]) > 4:
                files += f" +{len(c['files']) - 4} more"
            rows.append(
                (f"`{c['short']}`", c["date"], c["message"], files, f"+{c['insertions']}, -{c['deletions']}")
            )
        lines += _table(("Commit", "Date (UTC)", "Message", "Files", "Lines"), rows)
        if len(commits) > MAX_COMMITS_SHOWN:
            lines.append(f"\n… and {len(commits) - MAX_COMMITS_SHOWN} older commits.")
    elif not history.get("note"):
        lines.append("No commit since the previous report.")
    lines += ["", "### Maintenance fixes applied", ""]
    fixes = report.get("maintenance_fixes")
    applied = (fixes or {}).get("applied") or []
    if fixes is None:
        lines.append(
            "This run applied no fix (a plain check run). `nox -s maintain` applies the safe fixes of "
            "`python -m maintenance.fix --apply`, reruns the checks and lists every fix here."
        )
    elif not applied:
        lines.append("`maintenance.fix --apply` ran and found nothing safe to fix.")
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
    if fixes and fixes.get("reverted"):
        lines += ["", "Fixes reverted by `--verify` (they broke the tests):", ""]
        lines += [f"- `{r['code']}` `{r['path']}`: broke {r['tests']}" for r in fixes["reverted"]]
    if fixes and fixes.get("errors"):
        lines += ["", "Errors while fixing:", "", *(f"- {e}" for e in fixes["errors"])]
    return [*lines, "", "---", ""]


def _testing(report: Mapping[str, Any]) -> list[str]:
    rows = [
        (
            ICON[c["status"]],
            f"`{c['code']}`",
            c["title"],
            _first_sentence(c["message"]),
            f"{c['duration']:.1f} s",
        )
        for c in _checks(report)
    ]
    return [
        "## Testing & Verification",
        "",
        *_table(("", "Check", "What it verifies", "Result", "Time"), rows),
        "",
        "---",
        "",
    ]


def _linting(report: Mapping[str, Any], previous: Mapping[str, Any] | None) -> list[str]:
    lines = ["## Linting", ""]
    lint = _details(report, "HC002")
    counts: Mapping[str, int] | None = lint.get("counts")
    fixes = report.get("maintenance_fixes") or {}
    if fixes.get("counts_before") is not None:
        before, after = fixes.get("counts_before") or {}, fixes.get("counts_after") or {}
        codes = sorted(set(before) | set(after), key=lambda k: (-int(before.get(k, 0)), k))
        rows = [
            (f"`{k}`", before.get(k, 0), after.get(k, 0), _delta(after.get(k, 0), before.get(k, 0)))
            for k in codes
        ]
        total_b, total_a = sum(before.values()), sum(after.values())
        rows.append(("**total**", total_b, total_a, _delta(total_a, total_b)))
        lines += ["**Before / after the maintenance fixes of this run** (ruff + MNT codes):", ""]
        lines += [*_table(("Rule", "Before", "After", "Δ"), rows), ""]
    if counts is None:
        lines.append("Lint counts are not available (the lint check did not run).")
        return [*lines, "", "---", ""]
    old: Mapping[str, int] = (previous or {}).get("lint") or {}
    codes = sorted(set(counts) | set(old), key=lambda k: (-int(counts.get(k, 0)), k))
    names: Mapping[str, str] = lint.get("names", {}) or {}
    rows = [
        (
            f"`{k}`",
            names.get(k, ""),
            old.get(k, "–") if previous else "–",
            counts.get(k, 0),
            _delta(counts.get(k, 0), old.get(k, 0)) if previous else "–",
        )
        for k in codes
    ]
    total, total_old = sum(counts.values()), _lint_total(old) if previous else None
    rows.append(("**total**", "", _fmt(total_old), total, _delta(total, total_old)))
    lines += [f"**ruff** (`{lint.get('command', 'ruff check')}`), previous report → now:", ""]
    if not codes:
        lines.append("No lint finding. ✅")
    else:
        lines += _table(("Rule", "Name", "Previous", "Now", "Δ"), rows)
    return [*lines, "", "---", ""]


def _model(report: Mapping[str, Any], previous: Mapping[str, Any] | None) -> list[str]:
    lines = ["## Model Health", ""]
    train = _details(report, "HC020")
    metrics = _details(report, "HC023")
    spread = {row["horizon"]: row for row in _details(report, "HC021").get("horizons", []) or []}
    horizons = list(metrics.get("horizons", []) or [])
    if train:
        facts = [
            f"{k.replace('_', ' ')} {_fmt(train[k], 3)}"
            for k in (
                "market",
                "epochs",
                "epochs_run",
                "best_epoch",
                "seconds",
                "stop_reason",
                "train_days",
                "val_days",
            )
            if k in train
        ]
        if facts:
            lines += ["Quick training: " + ", ".join(facts) + ".", ""]
    if not horizons and not spread:
        checks = _by_code(report)
        why = checks.get("HC023", checks.get("HC021", {})).get("message", "the model checks did not run")
        return [*lines, f"No model figures: {why}", "", "---", ""]
    before = {row["horizon"]: row for row in (previous or {}).get("model") or []}
    baselines: Mapping[str, Any] = metrics.get("best_baseline", {}) or {}
    rows = []
    keys = sorted({*spread, *(r["horizon"] for r in horizons)}, key=lambda h: int(str(h).rstrip("d")))
    by_h = {r["horizon"]: r for r in horizons}
    for h in keys:
        m, s, old, base = by_h.get(h, {}), spread.get(h, {}), before.get(h, {}), baselines.get(h, {})
        rows.append(
            (
                h,
                s.get("pred_std", m.get("pred_std")),
                s.get("scale_ratio", m.get("scale_ratio")),
                m.get("ic"),
                m.get("rank_ic"),
                m.get("sharpe"),
                old.get("ic"),
                _delta(m.get("ic"), old.get("ic")),
                f"{base.get('name')} {_fmt(base.get('ic'))}" if base else "–",
            )
        )
    header = (
        "Horizon",
        "Pred std",
        "Scale ratio",
        "IC",
        "RankIC",
        "Sharpe",
        "IC prev",
        "Δ IC",
        "Best baseline (IC)",
    )
    lines += _table(header, rows)
    if metrics.get("split"):
        lines += [
            "",
            f"Metrics on the `{metrics['split']}` split ({metrics.get('n_days', '?')} days): "
            "IC/RankIC are daily cross-sectional Pearson/Spearman correlations with the raw forward return; "
            "Sharpe is the annualised top-minus-bottom-quintile portfolio; scale ratio is prediction std / "
            "target std per day.",
        ]
    table = metrics.get("baselines")
    if table:
        rows = [(name, *(_fmt(v.get(h, {}).get("ic")) for h in keys)) for name, v in table.items()]
        lines += ["", "IC of the baselines on the same split:", "", *_table(("Baseline", *keys), rows)]
    return [*lines, "", "---", ""]


def _diagnostics(report: Mapping[str, Any]) -> list[str]:
    lines = ["## Diagnostics", ""]
    diag = _details(report, "HC022")
    rows = diag.get("rows") or []
    if not rows:
        check = _by_code(report).get("HC022")
        return [*lines, check["message"] if check else "The diagnostics check did not run.", "", "---", ""]
    stage = diag.get("collapse_stage")
    lines.append(
        f"**Collapse stage**: `{stage}` — the first stage whose output spread across stocks falls "
        "below the threshold."
        if stage
        else "**Collapse stage**: none — the spread survives every stage."
    )
    lines.append("")
    columns = list(dict.fromkeys(k for row in rows for k in row))
    lines += _table(columns, ([row.get(c) for c in columns] for row in rows))
    if diag.get("plot"):
        lines += ["", f"![Per-stage spread of the activations]({PurePosixPath(diag['plot']).name})"]
    return [*lines, "", "---", ""]


def _file_changes(report: Mapping[str, Any]) -> list[str]:
    lines = ["## File Changes Summary", ""]
    commits = (report.get("commits") or {}).get("commits") or []
    per_file: dict[str, list[int]] = {}
    for c in commits:
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
    rows = [
        (
            f"`{p}`",
            f"+{per_file.get(p, [0, 0, 0])[0]}, -{per_file.get(p, [0, 0, 0])[1]}",
            per_file.get(p, [0, 0, 0])[2],
            fixed.get(p, 0),
        )
        for p in paths
    ]
    lines += _table(("File", "Lines changed", "Commits", "Maintenance fixes"), rows, 25)
    plus = sum(v[0] for v in per_file.values())
    minus = sum(v[1] for v in per_file.values())
    lines += [
        "",
        f"**Total Impact**: +{plus} lines added, -{minus} lines removed in {_n(len(per_file), 'file')}"
        + (
            f"; {_n(sum(fixed.values()), 'maintenance fix', 'maintenance fixes')} in {_n(len(fixed), 'file')}"
            if fixed
            else ""
        )
        + ".",
    ]
    return [*lines, "", "---", ""]


def _known(report: Mapping[str, Any], previous: Mapping[str, Any] | None) -> list[str]:
    lines = ["## Known Issues (Not Fixed)", ""]
    old = [c for c in _checks(report) if c["status"] in {"fail", "warn"} and not _is_new(c, previous)]
    skipped = [c for c in _checks(report) if c["status"] == "skip" and not _not_applicable(c)]
    na = [c for c in _checks(report) if c["status"] == "skip" and _not_applicable(c)]
    for index, check in enumerate(old, 1):
        lines += [
            f"### {index}. {check['title']} {ICON[check['status']]}",
            "",
            f"**Check**: `{check['code']}` · {check['message']}",
            "",
        ]
    if skipped:
        lines += ["**Checks that could not run** (skipped; each says why):", ""]
        lines += [f"- `{c['code']}` {c['title']}: {c['message']}" for c in skipped]
        lines.append("")
    if na:
        lines += [
            "**Not applicable to this tree**: " + "; ".join(f"`{c['code']}` ({c['message']})" for c in na),
            "",
        ]
    if not old and not skipped:
        lines += [
            "None: nothing was left failing from the previous report and every applicable check ran.",
            "",
        ]
    return [*lines, "---", ""]


def _recommendations(report: Mapping[str, Any]) -> list[str]:
    lines = ["## Recommendations", ""]
    groups = (
        ("Immediate (failing checks)", "fail"),
        ("Short-term (warnings)", "warn"),
        ("Housekeeping (checks that were skipped)", "skip"),
    )
    any_rec = False
    for heading, status in groups:
        checks = [c for c in _checks(report) if c["status"] == status and not _not_applicable(c)]
        checks.sort(key=lambda c: (SEVERITY_RANK.get(c.get("severity"), 1), c["code"]))
        if not checks:
            continue
        any_rec = True
        lines += [f"### {heading}", ""]
        for index, c in enumerate(checks, 1):
            lines += [
                f"{index}. **`{c['code']}` {c['title']}**: {_first_sentence(c['message'], 220)}",
                "",
                "   ```bash",
                f"   {c.get('command') or _default_command(c)}",
                "   ```",
                "",
            ]
    if not any_rec:
        lines += ["Nothing to do: every check passed. Keep the weekly `nox -s maintain` run on.", ""]
    return [*lines, "---", ""]


def _references(report: Mapping[str, Any]) -> list[str]:
    lines = ["## References", ""]
    lines.append(f"- Health check (JSON): `{report.get('json_report')}`")
    if report.get("previous_report"):
        lines.append(f"- Previous report: `{report['previous_report']}`")
    plot = _details(report, "HC022").get("plot")
    if plot:
        lines.append(f"- Diagnostics plot: `{plot}`")
    lines += [
        "- What each check does: `docs/health_checks.md` (`python -m health_checks --list`)",
        "- Rerun one check: `python -m health_checks --only CODE_OR_NAME`",
        "- Apply the safe fixes and regenerate this report: `nox -s maintain`",
    ]
    env = report.get("environment") or {}
    if env:
        lines.append(
            f"- Environment: Python {env.get('python')}, torch {env.get('torch')}, {env.get('cpus')} CPUs, "
            f"{env.get('platform')}"
        )
    return [*lines, ""]


def render_markdown(report: Mapping[str, Any], previous: Mapping[str, Any] | None) -> str:
    """The dated markdown report of ``report`` (the JSON dict), compared with the ``previous`` digest."""
    parts = [
        _header(report),
        _summary(report, previous),
        _issues(report, previous),
        _fixes(report),
        _testing(report),
        _linting(report, previous),
        _model(report, previous),
        _diagnostics(report),
        _file_changes(report),
        _known(report, previous),
        _recommendations(report),
        _references(report),
    ]
    text = "\n".join(line for part in parts for line in part)
    return text.rstrip() + "\n\n" + embed_digest(report)
