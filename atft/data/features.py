"""Causal features, per-day cross-sectional normalisation, validity masks and forward-return targets.

Every feature of day t is a function of cleaned data up to and including day t (trailing windows only;
pandas `rolling` looks backwards). Notation: r = daily log return (cleaned), P = jump-free log price
(cumulative sum of r), V = log(1 + traded value), HL = log(high / low).

| name | formula | normalisation |
|---|---|---|
| ret_1 | r_t | cross-sectional z |
| ret_5, ret_20, ret_60 | sum of r over the last 5 / 20 / 60 days | cross-sectional z |
| mom_120_20 | sum of r from t-119 to t-20 (momentum skipping the last month) | cross-sectional z |
| reversal_5 | -ret_5 / (vol_20 * sqrt(5)) (volatility-scaled short-term reversal) | cross-sectional z |
| vol_20, vol_60 | std of r over 20 / 60 days | cross-sectional z |
| range_20 | mean of HL over 20 days | cross-sectional z |
| turnover_20 | mean of V over 20 days (liquidity level) | cross-sectional z |
| turnover_shock | V_t - mean of V over 60 days (abnormal trading) | cross-sectional z |
| ma_dist_20, ma_dist_60 | P_t - mean of P over 20 / 60 days (distance from the moving average) | cross-sectional z |
| sector_rel_5, sector_rel_20 | ret_5 / ret_20 minus its same-day sector mean | cross-sectional z |
| market_ret_20 | same-day cross-sectional mean of ret_20, x 10 | fixed scale (regime) |
| market_vol_20 | std over 20 days of the daily cross-sectional mean r, x sqrt(252) x 5 | fixed scale (regime) |
| dispersion_20 | same-day cross-sectional std of ret_20, x 10 | fixed scale (regime) |

Cross-sectional z: per day, over the stocks with a finite value, (x - mean) / std clipped to +-clip_z;
missing values become 0. Regime features are equal for every stock of a day, so a z-score would erase
them; they keep a fixed scale instead (no statistic over other days, hence no look-ahead).

Raw price windows (``data.inputs = "raw"`` or ``"both"``): the L days t-L+1 .. t of each stock, seen
from day t (`raw_window`), channel by channel:

| name | step s of the window of day t |
|---|---|
| raw_close | P_s - P_t: the close over today's close (log, jump-free) |
| raw_open, raw_high, raw_low | the open / high / low of day s over today's close (log) |
| raw_turnover | V_s minus the 60-day trailing mean of V at day t |
| raw_observed | 1 where day s has a close, 0 where it is missing (its other channels are 0) |

The first five are cross-sectional z-scores per step over the stocks of day t; every value of day t's
window is a function of data up to day t.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from atft.data.cleaning import CleanPanel
from atft.data.config import DataConfig

FEATURE_NAMES: tuple[str, ...] = (
    "ret_1",
    "ret_5",
    "ret_20",
    "ret_60",
    "mom_120_20",
    "reversal_5",
    "vol_20",
    "vol_60",
    "range_20",
    "turnover_20",
    "turnover_shock",
    "ma_dist_20",
    "ma_dist_60",
    "sector_rel_5",
    "sector_rel_20",
    "market_ret_20",
    "market_vol_20",
    "dispersion_20",
)
RAW_CHANNELS: tuple[str, ...] = (
    "raw_close",
    "raw_open",
    "raw_high",
    "raw_low",
    "raw_turnover",
    "raw_observed",
)
TURNOVER_MEAN_DAYS = 60  # the trailing mean raw_turnover is measured against
REGIME_FEATURES = frozenset({"market_ret_20", "market_vol_20", "dispersion_20"})
WARMUP_DAYS = 120  # the longest trailing window (mom_120_20)


def rolling(values: np.ndarray, window: int, how: str, min_share: float = 0.75) -> np.ndarray:
    """Trailing rolling statistic per column (day t uses days t-window+1 .. t), NaN-aware."""
    frame = pd.DataFrame(values).rolling(window, min_periods=max(1, int(np.ceil(window * min_share))))
    return getattr(frame, how)().to_numpy()


def turnover_shock(log_value: np.ndarray) -> np.ndarray:
    """V_t minus its trailing 60-day mean: abnormal trading activity (the synthetic market plants its
    signal here, so the model can see it)."""
    return log_value - rolling(log_value, 60, "mean", min_share=1 / 3)


def zscore_rows(values: np.ndarray, clip: float) -> np.ndarray:
    """Per-row (per-day) z-score over finite entries, clipped to +-clip; non-finite entries become 0."""
    finite = np.isfinite(values)
    count = finite.sum(axis=-1, keepdims=True)
    filled = np.where(finite, values, 0.0)
    mean = filled.sum(axis=-1, keepdims=True) / np.maximum(count, 1)
    centred = np.where(finite, values - mean, 0.0)
    std = np.sqrt((centred**2).sum(axis=-1, keepdims=True) / np.maximum(count - 1, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where((std > 1e-12) & finite, centred / std, 0.0)
    return np.clip(z, -clip, clip)


def _group_demean(values: np.ndarray, groups: list[str]) -> np.ndarray:
    """Subtract, per day, the mean of the stock's group (sector) over finite entries."""
    out = np.full_like(values, np.nan)
    labels = np.asarray(groups)
    for label in np.unique(labels):
        cols = labels == label
        block = values[:, cols]
        finite = np.isfinite(block)
        count = finite.sum(axis=1, keepdims=True)
        mean = np.where(finite, block, 0.0).sum(axis=1, keepdims=True) / np.maximum(count, 1)
        out[:, cols] = block - mean
    return out


def _row_stat(values: np.ndarray, how: Callable[..., np.ndarray]) -> np.ndarray:
    """Per-day statistic over the finite entries of a row (NaN for fewer than 2)."""
    finite = np.isfinite(values)
    enough = finite.sum(axis=1) >= 2
    out = np.full(values.shape[0], np.nan)
    if enough.any():
        out[enough] = how(np.where(finite[enough], values[enough], np.nan), axis=1)
    return out


def raw_features(clean: CleanPanel) -> dict[str, np.ndarray]:
    """Every feature before normalisation, float64 [D, N], NaN where not computable."""
    r = clean.log_ret
    n_stocks = r.shape[1]
    log_price = np.where(np.isfinite(clean.close), np.nancumsum(np.nan_to_num(r, nan=0.0), axis=0), np.nan)
    out: dict[str, np.ndarray] = {"ret_1": r}
    for window in (5, 20, 60):
        out[f"ret_{window}"] = rolling(r, window, "sum")
    out["mom_120_20"] = np.vstack([np.full((20, n_stocks), np.nan), rolling(r, 100, "sum")[:-20]])[
        : r.shape[0]
    ]
    out["vol_20"] = rolling(r, 20, "std")
    out["vol_60"] = rolling(r, 60, "std")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["reversal_5"] = -out["ret_5"] / (out["vol_20"] * np.sqrt(5.0))
    out["reversal_5"][~np.isfinite(out["reversal_5"])] = np.nan
    out["range_20"] = rolling(clean.log_range, 20, "mean", min_share=0.5)
    out["turnover_20"] = rolling(clean.log_value, 20, "mean", min_share=0.5)
    out["turnover_shock"] = turnover_shock(clean.log_value)
    out["ma_dist_20"] = log_price - rolling(log_price, 20, "mean")
    out["ma_dist_60"] = log_price - rolling(log_price, 60, "mean")
    out["sector_rel_5"] = _group_demean(out["ret_5"], clean.sector)
    out["sector_rel_20"] = _group_demean(out["ret_20"], clean.sector)
    market_r = _row_stat(r, np.nanmean)
    market_ret_20 = _row_stat(out["ret_20"], np.nanmean)
    market_vol = rolling(market_r[:, None], 20, "std")[:, 0] * np.sqrt(252.0)
    dispersion = _row_stat(out["ret_20"], np.nanstd)
    for name, series, scale in (
        ("market_ret_20", market_ret_20, 10.0),
        ("market_vol_20", market_vol, 5.0),
        ("dispersion_20", dispersion, 10.0),
    ):
        out[name] = np.repeat((series * scale)[:, None], n_stocks, axis=1)
    return {name: out[name] for name in FEATURE_NAMES}


def bar_planes(clean: CleanPanel) -> np.ndarray:
    """float32 [D, N, 6] from which `raw_window` reads any day's window: P (jump-free log price, NaN
    without a close), log(open / close), log(high / close), log(low / close), V, and V's trailing
    TURNOVER_MEAN_DAYS-day mean. Causal: day s's row uses data up to day s only."""
    r = clean.log_ret
    log_price = np.where(np.isfinite(clean.close), np.nancumsum(np.nan_to_num(r, nan=0.0), axis=0), np.nan)
    mean_value = rolling(clean.log_value, TURNOVER_MEAN_DAYS, "mean", min_share=1 / 3)
    planes = [log_price, *np.moveaxis(clean.bars, -1, 0), clean.log_value, mean_value]
    return np.stack(planes, axis=-1).astype(np.float32)


def raw_window(bars: np.ndarray, day: int, length: int, mask: np.ndarray, clip: float) -> np.ndarray:
    """The raw price window of day `day`: float32 [N, L, 6] in RAW_CHANNELS order (see the module doc).

    bars [D, N, 6] from `bar_planes`; mask bool [N] (the stocks of the day: others are all 0). Steps
    before the first day are missing (raw_observed 0).
    """
    lo = max(0, day - length + 1)
    block = np.asarray(bars[lo : day + 1], dtype=np.float64)  # (l, N, 6)
    if block.shape[0] < length:
        block = np.concatenate([np.full((length - block.shape[0], *block.shape[1:]), np.nan), block])
    today = np.asarray(bars[day], dtype=np.float64)  # (N, 6)
    price = block[:, :, 0]  # (L, N)
    relative = np.stack(
        [
            price - today[:, 0],
            price + block[:, :, 1] - today[:, 0],
            price + block[:, :, 2] - today[:, 0],
            price + block[:, :, 3] - today[:, 0],
            block[:, :, 4] - today[:, 5],
        ],
        axis=1,
    )  # (L, 5, N)
    observed = np.isfinite(price) & mask  # (L, N)
    relative = np.where(observed[:, None, :], relative, np.nan)  # missing days and other stocks: NaN
    z = zscore_rows(relative, clip)  # per step and channel, over the stocks of the day
    out = np.concatenate([z, observed[:, None, :].astype(np.float64)], axis=1)  # (L, 6, N)
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32)  # (N, L, 6)


def stock_mask(clean: CleanPanel, features: dict[str, np.ndarray]) -> np.ndarray:
    """bool [D, N]: the stock is in the point-in-time universe of day t and has valid data (a close, a
    20-day history, not stale). Causal."""
    return clean.universe & np.isfinite(clean.close) & np.isfinite(features["ret_20"]) & ~clean.stale


def normalised_features(
    clean: CleanPanel, config: DataConfig
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """features float32 [D, N, F] (0 where masked), mask bool [D, N], and the raw features."""
    raw = raw_features(clean)
    mask = stock_mask(clean, raw)
    planes = []
    for name in FEATURE_NAMES:
        values = np.where(mask, raw[name], np.nan)
        if name in REGIME_FEATURES:
            plane = np.clip(np.nan_to_num(values, nan=0.0), -config.clip_z, config.clip_z)
        else:
            plane = zscore_rows(values, config.clip_z)
        planes.append(np.where(mask, plane, 0.0))
    return np.stack(planes, axis=-1).astype(np.float32), mask, raw


def forward_targets(
    clean: CleanPanel, mask: np.ndarray, horizons: tuple[int, ...], clip: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """raw_targets float32 [D, N, H] (NaN unknown), targets (per-day z, 0 unknown), target_mask [D, N, H].

    The h-day target of day t is close_{t+h} / close_t - 1; it is unknown when either close is missing,
    when a masked jump lies in (t, t+h] (an unadjusted split would fake the move) or the stock is masked.
    """
    n_days, n_stocks = clean.close.shape
    log_close = np.log(clean.close)
    jumps = np.cumsum(clean.jump.astype(np.int64), axis=0)
    raw = np.full((n_days, n_stocks, len(horizons)), np.nan)
    for k, h in enumerate(horizons):
        if h >= n_days:
            continue
        ahead = log_close[h:] - log_close[:-h]
        jump_free = (jumps[h:] - jumps[:-h]) == 0
        raw[:-h, :, k] = np.where(jump_free, np.expm1(ahead), np.nan)
    valid = np.isfinite(raw) & mask[:, :, None]
    raw = np.where(valid, raw, np.nan)
    normalised = np.stack([zscore_rows(raw[:, :, k], clip) for k in range(len(horizons))], axis=-1)
    normalised = np.where(valid, normalised, 0.0)
    return raw.astype(np.float32), normalised.astype(np.float32), valid


def holding_returns(log_ret: np.ndarray, horizons: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """What a holder earns over each horizon, from the cleaned daily log returns [D, N].

    held [D, N, H]: exp(sum of the valid daily log returns of days t+1 .. t+h) - 1, so a stock whose
    prices end (or go missing) inside the period earns its last available return, and a masked jump
    counts as no move; NaN where t + h lies beyond the last day (the outcome is not in the data).
    exited [D, N, H]: the stock has no valid daily return on or after day t + h (its prices end before
    the period does: a delisting); False where the outcome is not in the data. Outcomes for evaluation
    only, never features.
    """
    n_days, n_stocks = log_ret.shape
    valid = np.isfinite(log_ret)
    cumulative = np.vstack([np.zeros((1, n_stocks)), np.cumsum(np.where(valid, log_ret, 0.0), axis=0)])
    # last day index with a valid return, per stock (-1 if none)
    last_valid = np.where(valid.any(axis=0), n_days - 1 - np.argmax(valid[::-1], axis=0), -1)
    held = np.full((n_days, n_stocks, len(horizons)), np.nan)
    exited = np.zeros((n_days, n_stocks, len(horizons)), dtype=bool)
    days = np.arange(n_days)
    for k, h in enumerate(horizons):
        if h >= n_days:
            continue
        held[:-h, :, k] = np.expm1(cumulative[1 + h :] - cumulative[1 : n_days - h + 1])
        exited[:-h, :, k] = last_valid[None, :] < (days[:-h] + h)[:, None]
    return held, exited
