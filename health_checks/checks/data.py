"""Data quality of the embedded market."""

from __future__ import annotations

from typing import Any

from health_checks import ml
from health_checks.context import CheckContext
from health_checks.core import Check, Outcome, Severity, Status


def _scalars(report: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in report.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= _scalars(value, f"{name}.")
        elif isinstance(value, int | float | str | bool) or value is None:
            flat[name] = ml.clean(value)
    return flat


class HC010(Check):
    """The market data loads with usable splits.

    ``atft.data.load_dataset`` of the quick-training market (the embedded PSE panel by default): stocks,
    features and trading days per split, and the data path's own quality report (missing closes, masked
    moves, stale prices, OHLC breaks). Fails when a split is empty; warns on the data path's warnings.
    """

    name = "data-quality"
    severity = Severity.MAJOR

    def check(self, ctx: CheckContext) -> Outcome:
        data = ml.dataset(ctx)
        splits = {split: len(list(data.split_days(split))) for split in ("train", "val", "test")}
        quality = dict(getattr(data, "quality_report", {}) or {})
        details: dict[str, Any] = {
            "market": ctx.settings.quick_train_market,
            "stocks": len(data.codes),
            "features": len(data.feature_names),
            "horizons": [ml.horizon_label(h) for h in data.horizons],
            "days": splits,
            "quality": _scalars(quality),
        }
        oracle = getattr(data, "oracle_ic", None)
        if oracle is not None:
            details["oracle_ic"] = oracle if isinstance(oracle, int | float) else str(oracle)
        empty = [split for split, n in splits.items() if n == 0]
        if empty or not data.codes:
            return Outcome(
                Status.FAIL,
                f"the {details['market']} dataset has no days in {', '.join(empty) or '-'} and {len(data.codes)} "
                "stocks; check the split dates and min_coverage in the data config.",
                details,
                f"python -m atft data --market {details['market']}",
            )
        warnings = [str(w) for w in quality.get("warnings", []) or []]
        summary = (
            f"{details['stocks']} stocks, {details['features']} features, "
            f"{splits['train']}/{splits['val']}/{splits['test']} train/val/test days"
        )
        if warnings:
            details["warnings"] = warnings
            return Outcome(
                Status.WARN,
                f"{summary}; the data path warns: {'; '.join(warnings[:3])}",
                details,
                f"python -m atft data --market {details['market']}",
            )
        return Outcome.passed(summary, **details)
