"""Evaluate several predictors on one split of one market: one metrics row per model and horizon."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from rich.table import Table

from atft.data.dataset import MarketDataset
from atft.metrics import check_frame, evaluate_frame

# Columns of the text table: (key, header, format).
TABLE_COLUMNS = (
    ("horizon", "h", "{:d}d"),
    ("ic", "IC", "{:+.4f}"),
    ("rank_ic", "RankIC", "{:+.4f}"),
    ("icir", "ICIR", "{:+.3f}"),
    ("ic_tstat", "t", "{:+.2f}"),
    ("scale_ratio", "scale", "{:.3f}"),
    ("constant_day_share", "const", "{:.2f}"),
    ("sharpe", "Sharpe", "{:+.2f}"),
    ("turnover", "turn", "{:.2f}"),
    ("max_drawdown", "maxDD", "{:.1%}"),
    ("n_days", "days", "{:d}"),
)


def _clean(value: Any) -> Any:
    """JSON-safe value: NaN and infinities become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class EvaluationReport:
    """Metrics rows (model, horizon, ic, rank_ic, icir, scale_ratio, sharpe, ...) of one split."""

    market: str
    split: str
    first_date: str
    last_date: str
    cost_bps: float
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """{"market", "split", "period", "cost_bps", "results": [{"model", "horizon", "ic", ...}]}."""
        return {
            "market": self.market,
            "split": self.split,
            "period": {"first": self.first_date, "last": self.last_date},
            "cost_bps": self.cost_bps,
            "results": [{key: _clean(value) for key, value in row.items()} for row in self.rows],
        }

    def models(self) -> list[str]:
        return list(dict.fromkeys(row["model"] for row in self.rows))

    def _cell(self, row: dict[str, Any], key: str, fmt: str) -> str:
        value = row.get(key)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "n/a"
        return fmt.format(value)

    def table(self) -> Table:
        """A rich table: one row per model and horizon."""
        title = (
            f"{self.market} {self.split} {self.first_date}..{self.last_date} "
            f"(long-short quintiles, {self.cost_bps:g} bps cost)"
        )
        table = Table(title=title)
        table.add_column("model")
        for _, header, _ in TABLE_COLUMNS:
            table.add_column(header, justify="right")
        previous = None
        for row in self.rows:
            name = row["model"] if row["model"] != previous else ""
            table.add_row(name, *(self._cell(row, key, fmt) for key, _, fmt in TABLE_COLUMNS))
            previous = row["model"]
        return table

    def to_markdown(self) -> str:
        """The same table as markdown (for the README and reports)."""
        headers = ["model", *(header for _, header, _ in TABLE_COLUMNS)]
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        for row in self.rows:
            cells = [row["model"], *(self._cell(row, key, fmt) for key, _, fmt in TABLE_COLUMNS)]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def evaluate_models(
    dataset: MarketDataset,
    split: str,
    predictors: dict[str, pd.DataFrame],
    *,
    cost_bps: float = 10.0,
) -> EvaluationReport:
    """Metrics of every predictions frame in `predictors` (name -> frame) on `split` of `dataset`.

    Every frame is restricted to the days of the split, so all models are measured on the same days.
    """
    days = dataset.split_days(split)
    first, last = str(dataset.dates[days[0]]), str(dataset.dates[days[-1]])
    window = (pd.Timestamp(first), pd.Timestamp(last))
    report = EvaluationReport(dataset.market, split, first, last, float(cost_bps))
    for name, frame in predictors.items():
        check_frame(frame)
        dates = pd.to_datetime(frame["date"])
        inside = frame[(dates >= window[0]) & (dates <= window[1])]
        if inside.empty:
            raise ValueError(
                f"predictions of {name!r} have no row in the {split} period {first}..{last}; "
                "predict the same split that is evaluated"
            )
        for row in evaluate_frame(inside, cost_bps=cost_bps):
            report.rows.append({"model": name, **row})
    return report
