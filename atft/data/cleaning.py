"""Cleaning: mask bad prices, pick the point-in-time universe, count what was found per category.

Every rule is causal: whether a value at day t is masked depends only on data up to day t, so the
features of day t never see a later price (see tests/atft/test_data_causality.py). The universe too:
a stock is in the universe on day t when it has a close on at least `min_coverage` of the trailing
`coverage_window` trading days ending at t (fewer days at the start of the panel: the share is over the
days there are). No stock is dropped for what happens later; a stock that never has a close is left out
(it holds no value that any statistic could read).

| category | rule | treatment |
|---|---|---|
| non_positive_prices | close <= 0 (PSE: 0 on 2020-11-23, 2021-01-14, 2 negatives) | close missing |
| masked_jumps | |close_t / last close - 1| > max_abs_move (unadjusted splits) | that return missing; targets spanning it invalid |
| ohlc_violations | high < max(open, close, low) or low > min(open, close) | open/high/low of the row missing (close kept) |
| zero_returns | close equal to the last close | kept (stale quotes of illiquid stocks) |
| stale_masked | no price change for `STALE_DAYS` days in a row | stock masked on that day |
| outside_universe | close on fewer than min_coverage of the trailing coverage_window days | stock masked on that day |
| dropped_never_in_universe | never in the universe on a day since start | counted (kept as a column: it still trades) |

Counts are over the stock-days in the universe since `start`; `source_<category>` repeats them over
every stock-day of the source since `start`. `returns` is the number of valid daily returns in the
universe, the base of `zero_returns`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from atft.data.config import DataConfig
from atft.data.panel import DataError, RawPanel

logger = logging.getLogger(__name__)

STALE_DAYS = 10  # a close unchanged for this many consecutive trading days masks the stock
FILL_LIMIT = 10  # a return may bridge at most this many missing days back to the last close


@dataclass
class CleanPanel:
    """Cleaned arrays [D, N] of the kept universe (all days, the warm-up before `start` included)."""

    dates: np.ndarray
    codes: list[str]
    sector: list[str]
    subsector: list[str]
    close: np.ndarray  # float64, NaN where missing or non-positive
    log_ret: (
        np.ndarray
    )  # float64 daily log return vs the last close (<= FILL_LIMIT days back), NaN when masked
    jump: np.ndarray  # bool: the return of that day was masked as an absurd move
    log_range: np.ndarray  # float64 log(high / low), NaN where absent or the OHLC row is inconsistent
    log_value: np.ndarray  # float64 log(1 + traded value), NaN where absent
    # float64 [D, N, 3]: log(open / close), log(high / close), log(low / close) of the same day, NaN
    # where the OHLC row is absent or inconsistent (the intraday shape of the raw price windows)
    bars: np.ndarray
    stale: np.ndarray  # bool: the close has not changed for STALE_DAYS days
    universe: np.ndarray  # bool: in the point-in-time universe that day (trailing coverage, causal)
    first_day: int  # index of the first day on or after `start`
    quality: dict[str, Any] = field(default_factory=dict)  # counts per category, see the module doc
    signal: np.ndarray | None = None


def _log_returns(close: np.ndarray) -> np.ndarray:
    """Log return of each close vs the last valid close at most FILL_LIMIT days earlier (NaN otherwise)."""
    previous = pd.DataFrame(close).ffill(limit=FILL_LIMIT).shift(1).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(close) - np.log(previous)


def _unchanged_run(log_ret: np.ndarray) -> np.ndarray:
    """Length of the current run of exactly-zero returns, per day and stock (causal cumulative count)."""
    zero = (log_ret == 0).astype(np.int32)
    run = np.zeros_like(zero)
    for t in range(1, zero.shape[0]):
        run[t] = (run[t - 1] + 1) * zero[t]
    run[0] = zero[0]
    return run


def point_in_time_universe(has_close: np.ndarray, window: int, min_coverage: float) -> np.ndarray:
    """bool [D, N]: on day t the stock has a close on >= `min_coverage` of the trailing `window` days
    t-window+1 .. t (of the days since the panel's first day, when fewer). Depends on nothing after t."""
    coverage = pd.DataFrame(has_close.astype(np.float64)).rolling(window, min_periods=1).mean().to_numpy()
    return coverage >= min_coverage - 1e-12


def clean_panel(raw: RawPanel, config: DataConfig) -> CleanPanel:
    """Mask bad values, mark the point-in-time universe of every day, and report counts."""
    start = np.datetime64(config.start, "D")
    first_day = int(np.searchsorted(raw.dates, start))
    if first_day >= len(raw.dates):
        raise DataError(
            f"{raw.source}: no trading day on or after start={config.start} (last day {raw.dates[-1]}); "
            "choose an earlier start"
        )
    since = slice(first_day, None)
    quality: dict[str, Any] = {"source": raw.source, "stocks_in_source": len(raw.codes)}

    close = raw.close.copy()
    non_positive = np.isfinite(close) & (close <= 0)
    close[non_positive] = np.nan

    has_close = np.isfinite(close)
    universe = point_in_time_universe(has_close, config.coverage_window, config.min_coverage)
    keep = has_close.any(axis=0)
    ever = universe[since].any(axis=0)
    quality["days_since_start"] = len(raw.dates) - first_day
    quality["dropped_never_in_universe"] = int((keep & ~ever).sum())
    quality["stocks_kept"] = int(keep.sum())
    quality["stocks_ever_in_universe"] = int(ever.sum())
    quality["mean_universe_size"] = round(float(universe[since].sum(axis=1).mean()), 2)
    if ever.sum() < 2:
        raise DataError(
            f"{raw.source}: only {int(ever.sum())} stock(s) ever have a close on >= {config.min_coverage:.0%} "
            f"of {config.coverage_window} trailing days since {config.start}; lower min_coverage, shorten "
            "coverage_window or choose a later start"
        )

    log_ret = _log_returns(close)
    with np.errstate(invalid="ignore"):
        jump = np.isfinite(log_ret) & (np.abs(np.expm1(log_ret)) > config.max_abs_move)
    log_ret[jump] = np.nan
    stale = _unchanged_run(log_ret) >= STALE_DAYS

    prices = np.stack([raw.open, raw.high, raw.low, close])
    present = np.isfinite(prices).all(axis=0)
    with np.errstate(invalid="ignore"):
        violation = present & (
            (raw.high < np.maximum.reduce([raw.open, close, raw.low]))
            | (raw.low > np.minimum(raw.open, close))
            | (raw.low <= 0)
        )
        log_range = np.where(present & ~violation, np.log(raw.high / raw.low), np.nan)
        bars = np.stack(
            [
                np.where(present & ~violation, np.log(p / close), np.nan)
                for p in (raw.open, raw.high, raw.low)
            ],
            axis=-1,
        )
    with np.errstate(invalid="ignore"):
        log_value = np.where(raw.value >= 0, np.log1p(raw.value), np.nan)

    # Counts over the stock-days in the universe since `start` (shares of stock_days_with_close are
    # meaningful), then the same categories over every stock of the source (`source_*`).
    categories = {
        "non_positive_prices": non_positive,
        "masked_jumps": jump,
        "ohlc_violations": violation,
        "zero_returns": log_ret == 0,
    }
    inside = universe[since]
    quality["universe_stock_days"] = int(inside.sum())
    quality["outside_universe"] = int((has_close[since] & ~inside).sum())  # stock-days with a close
    quality["stock_days_with_close"] = int((has_close[since] & inside).sum())
    quality["stock_days_missing"] = int((~has_close[since] & inside).sum())
    for name, flags in categories.items():
        quality[name] = int((flags[since] & inside).sum())
    quality["stale_masked"] = int((stale[since] & inside).sum())
    quality["returns"] = int((np.isfinite(log_ret[since]) & inside).sum())
    for name, flags in categories.items():
        quality[f"source_{name}"] = int(flags[since].sum())
    for name in categories:
        logger.info(
            "%s: %s = %d (source-wide %d)", raw.source, name, quality[name], quality[f"source_{name}"]
        )

    codes = [c for c, k in zip(raw.codes, keep, strict=True) if k]
    return CleanPanel(
        dates=raw.dates,
        codes=codes,
        sector=[s for s, k in zip(raw.sector, keep, strict=True) if k],
        subsector=[s for s, k in zip(raw.subsector, keep, strict=True) if k],
        close=close[:, keep],
        log_ret=log_ret[:, keep],
        jump=jump[:, keep],
        log_range=log_range[:, keep],
        log_value=log_value[:, keep],
        bars=bars[:, keep],
        stale=stale[:, keep],
        universe=universe[:, keep],
        first_day=first_day,
        quality=quality,
        signal=None if raw.signal is None else raw.signal[:, keep],
    )
