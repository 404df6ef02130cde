"""Data quality of the embedded market."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from health_checks import ml
from health_checks.context import CheckContext
from health_checks.core import Check, Details, Outcome, Severity, Status

# shares of stock-days above which the data is too thin to trust a model trained on it
MAX_MISSING_SHARE = 0.25
MAX_ZERO_RETURN_SHARE = 0.35


def shares(quality: dict[str, Any]) -> dict[str, float]:
    """Missing closes, stale (zero) returns, masked jumps and OHLC breaks as shares of the stock-days."""
    have = quality.get("stock_days_with_close")
    missing = quality.get("stock_days_missing")
    if not isinstance(have, int) or not isinstance(missing, int) or have + missing == 0:
        return {}
    total = have + missing
    out = {"missing_close": missing / total}
    for key, name in (
        ("zero_returns", "zero_return"),
        ("masked_jumps", "masked_jump"),
        ("ohlc_violations", "ohlc_break"),
    ):
        if isinstance(quality.get(key), int):
            out[name] = quality[key] / max(have, 1)
    return {k: round(v, 4) for k, v in out.items()}


def _scalars(report: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in report.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= _scalars(value, f"{name}.")
        elif isinstance(value, int | float | str | bool) or value is None:
            flat[name] = ml.clean(value)
    return flat


@dataclass(frozen=True, kw_only=True)
class DataQualityDetails(Details):
    """The market, its stocks, features, horizons and days per split, the data path's quality report
    (scalars), the planted oracle IC of a synthetic market, the quality shares and the warnings."""

    market: str
    stocks: int | None = None
    features: int | None = None
    horizons: list[str] = field(default_factory=list)
    days: dict[str, int] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    oracle_ic: float | str | None = None
    shares: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class HC010(Check):
    """The market data loads with usable splits.

    ``atft.data.load_dataset`` of the quick-training market (the embedded PSE panel by default): stocks,
    features and trading days per split, and the data path's own quality report (missing closes, masked
    moves, stale prices, OHLC breaks). Fails when a split is empty; warns on the data path's warnings.
    """

    name = "data-quality"
    atft_only = True
    severity = Severity.MAJOR
    details_type = DataQualityDetails

    def check(self, ctx: CheckContext) -> Outcome:
        if not ctx.settings.model_factory:  # a fixture tree checks atft's data with its own model
            ml.require_atft_tree(ctx)
        from atft.data import DataError

        try:
            data = ml.dataset(ctx)
        except DataError as error:
            return Outcome(
                Status.FAIL,
                f"the {ctx.settings.quick_train_market} dataset does not build: {error}",
                DataQualityDetails(market=ctx.settings.quick_train_market),
                f"python -m atft data --market {ctx.settings.quick_train_market}",
            )
        splits = {split: len(list(data.split_days(split))) for split in ("train", "val", "test")}
        quality = dict(getattr(data, "quality_report", {}) or {})
        found: dict[str, Any] = {
            "market": ctx.settings.quick_train_market,
            "stocks": len(data.codes),
            "features": len(data.feature_names),
            "horizons": [ml.horizon_label(h) for h in data.horizons],
            "days": splits,
            "quality": _scalars(quality),
        }
        oracle = getattr(data, "oracle_ic", None)
        if oracle is not None:
            found["oracle_ic"] = oracle if isinstance(oracle, int | float) else str(oracle)
        details = DataQualityDetails(**found)
        empty = [split for split, n in splits.items() if n == 0]
        if empty or not data.codes:
            return Outcome(
                Status.FAIL,
                f"the {details.market} dataset has no days in {', '.join(empty) or '-'} and {len(data.codes)} "
                "stocks; check the split dates and min_coverage in the data config.",
                details,
                f"python -m atft data --market {details.market}",
            )
        share = shares(quality)
        details = replace(details, shares=share)
        warnings = [str(w) for w in quality.get("warnings", []) or []]
        if share.get("missing_close", 0.0) > MAX_MISSING_SHARE:
            warnings.append(
                f"{share['missing_close']:.0%} of stock-days have no close (limit {MAX_MISSING_SHARE:.0%})"
            )
        if share.get("zero_return", 0.0) > MAX_ZERO_RETURN_SHARE:
            warnings.append(
                f"{share['zero_return']:.0%} of returns are exactly 0 (stale prices; limit {MAX_ZERO_RETURN_SHARE:.0%})"
            )
        summary = (
            f"{details.stocks} stocks, {details.features} features, "
            f"{splits['train']}/{splits['val']}/{splits['test']} train/val/test days"
            + (
                f"; {share['missing_close']:.1%} closes missing, {share.get('zero_return', 0):.1%} zero returns, "
                f"{quality.get('masked_jumps', 0)} jumps masked, {quality.get('ohlc_violations', 0)} OHLC breaks"
                if share
                else ""
            )
        )
        if warnings:
            return Outcome(
                Status.WARN,
                f"{summary}; the data path warns: {'; '.join(warnings[:3])}",
                replace(details, warnings=warnings),
                f"python -m atft data --market {details.market}",
            )
        return Outcome.passed(summary, details)
