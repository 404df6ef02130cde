"""The rendering vocabulary of a check's report hooks, from one module: :class:`ReportView` (defined with
the result types in :mod:`health_checks.core`) and the markdown text helpers of :mod:`health_checks.text`
(``fmt``, ``table``, ``evidence`` ...)."""

from __future__ import annotations

from health_checks.core import ReportView
from health_checks.text import (
    ICON,
    MAX_TABLE_ROWS,
    cell,
    delta,
    evidence,
    first_sentence,
    fmt,
    horizon_order,
    plural,
    table,
)

__all__ = [
    "ICON",
    "MAX_TABLE_ROWS",
    "ReportView",
    "cell",
    "delta",
    "evidence",
    "first_sentence",
    "fmt",
    "horizon_order",
    "plural",
    "table",
]
