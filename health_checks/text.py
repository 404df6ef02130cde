"""Plain markdown text: numbers formatted one way everywhere (``fmt``), deltas, escaped table cells, tables
with a row limit, and ``evidence``, the generic rendering of a check's details (scalars as bullets, lists of
records as tables, nested mappings as tables or JSON, text as code).

String building only, no template engine and no health_checks type: the result types of
:mod:`health_checks.core` render their default evidence with it, and the report frame and the checks'
own sections build their lines from it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "skip": "⏭️"}
MAX_TABLE_ROWS = 15


def fmt(value: Any, digits: int = 4) -> str:
    """A value as report text: ``–`` for None, yes/no, floats to ``digits`` places (tiny ones as 1e-05)."""
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


def delta(now: Any, before: Any, digits: int = 4) -> str:
    """``+2`` / ``-0.0140`` between two numbers, ``–`` when either is not a number."""
    if not isinstance(now, int | float) or not isinstance(before, int | float):
        return "–"
    diff = now - before
    if isinstance(now, int) and isinstance(before, int):
        return f"{diff:+d}"
    return f"{diff:+.{digits}f}"


def cell(value: Any) -> str:
    text = fmt(value) if not isinstance(value, str) else value
    return text.replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], limit: int | None = None) -> list[str]:
    """A markdown table; beyond ``limit`` rows a last row says how many more there are."""
    rows = list(rows)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    shown = rows if limit is None else rows[:limit]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in shown]
    if limit is not None and len(rows) > limit:
        lines.append(f"| … {len(rows) - limit} more | " + " | ".join("" for _ in header[1:]) + " |")
    return lines


def plural(count: int, word: str, many: str | None = None) -> str:
    """``3 files`` / ``1 file`` (``many`` for irregular words)."""
    return f"{count} {word}" if count == 1 else f"{count} {many or word + 's'}"


def first_sentence(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def horizon_order(label: object) -> int:
    """Sort key of a horizon label (``"5d"`` -> 5)."""
    return int(str(label).rstrip("d"))


def _nested_table(value: Mapping[str, Any]) -> list[str] | None:
    """``{row: {column: scalar}}`` as a table, or None when ``value`` is not of that shape."""
    if not value or not all(isinstance(v, Mapping) for v in value.values()):
        return None
    inner = [v for row in value.values() for v in row.values()]
    if any(isinstance(v, Mapping | list) for v in inner):
        return None
    columns = list(dict.fromkeys(k for row in value.values() for k in row))
    return table(
        ("", *columns), ((f"`{name}`", *(row.get(c) for c in columns)) for name, row in value.items())
    )


def evidence(
    details: Mapping[str, Any],
    hidden: Collection[str] = (),
    elsewhere: Collection[str] = (),
    section: str = "",
) -> list[str]:
    """Details as readable evidence: scalars as bullets, lists of records as tables, text as code.

    ``hidden`` keys are not shown; ``elsewhere`` keys are shown in the report's ``section`` and replaced by
    one line pointing there.
    """
    lines: list[str] = []
    skip = {"traceback", "not_applicable", *hidden, *elsewhere}
    for key, value in details.items():
        if key in skip or value in (None, [], {}):
            continue
        label = key.replace("_", " ")
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            columns = list(dict.fromkeys(k for v in value for k in v))
            lines += [
                "",
                f"*{label}*:",
                "",
                *table(columns, ([v.get(c) for c in columns] for v in value), MAX_TABLE_ROWS),
            ]
            lines.append("")
        elif isinstance(value, Mapping) and _nested_table(value) is not None:
            lines += ["", f"*{label}*:", "", *(_nested_table(value) or []), ""]
        elif isinstance(value, Mapping):
            if all(not isinstance(v, Mapping | list) for v in value.values()):
                inner = ", ".join(f"`{k}` {fmt(v)}" for k, v in list(value.items())[:20])
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
            lines.append(f"- {label}: {fmt(value)}")
    moved = [key for key in elsewhere if details.get(key)]
    if moved:
        lines.append(f"- {', '.join(k.replace('_', ' ') for k in moved)}: see {section} below")
    if details.get("traceback"):
        lines += ["", "```text", "".join(details["traceback"]).strip(), "```"]
    return lines
