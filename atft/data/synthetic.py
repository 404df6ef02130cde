"""A seeded synthetic market with a planted signal of known strength.

Daily log return of stock n on day t+1:

    r[t+1, n] = beta_n * market[t+1] + sector[t+1, s(n)] + sigma_n * (a * S[t, n] + sqrt(1 - a^2) * eps)

with a = `signal_strength`. The planted signal S[t] is the same-day cross-sectional z-score of the
`turnover_shock` feature (log traded value minus its 60-day mean), and the traded value follows a
persistent AR(1) (coefficient `signal_persistence`) that is independent of returns. So the signal is
visible to any model through its features, it carries over to longer horizons through the persistence,
and an oracle that predicts S[t] for every horizon has a measurable IC (`MarketDataset.oracle_ic`).
"""

from __future__ import annotations

import numpy as np

from atft.data.config import DataConfig
from atft.data.features import WARMUP_DAYS, turnover_shock, zscore_rows
from atft.data.panel import RawPanel

# What the oracle's number means, printed wherever it is printed.
ORACLE_NOTE = (
    "oracle = the planted signal S[t] used as the forecast of every horizon: a reference, not an upper "
    "bound. At 1d it is the conditional mean up to each stock's volatility; an h-day return also carries "
    "S[t+1..t+h-1], which S[t] only approximates; and over a short test split the IC of overlapping h-day "
    "returns has a sampling error of several hundredths, so a model may score above it by chance."
)


def synthetic_panel(config: DataConfig) -> RawPanel:
    """The synthetic market: `n_days` trading days from `start` (plus a warm-up before it)."""
    rng = np.random.default_rng(config.seed)
    n_stocks, n_sectors = config.n_stocks, max(1, config.n_sectors)
    n_days = config.n_days + WARMUP_DAYS
    first = np.busday_offset(np.datetime64(config.start, "D"), 0, roll="forward")
    dates = np.busday_offset(first, np.arange(-WARMUP_DAYS, config.n_days))

    sector_of = np.arange(n_stocks) % n_sectors
    subsector_of = sector_of * 2 + (np.arange(n_stocks) // n_sectors) % 2

    # Traded value: a stock-specific level plus a persistent AR(1) shock, independent of returns.
    phi = config.signal_persistence
    level = rng.uniform(12.0, 18.0, n_stocks)
    shocks = np.zeros((n_days, n_stocks))
    noise = rng.normal(0.0, 0.5 * np.sqrt(1.0 - phi**2), (n_days, n_stocks))
    shocks[0] = rng.normal(0.0, 0.5, n_stocks)
    for t in range(1, n_days):
        shocks[t] = phi * shocks[t - 1] + noise[t]
    log_value = level + shocks
    signal = zscore_rows(turnover_shock(log_value), clip=np.inf)  # S[t]: known at the close of day t

    # Returns: market factor, sector factors, idiosyncratic part carrying yesterday's signal.
    a = float(np.clip(config.signal_strength, 0.0, 1.0))
    beta = rng.uniform(0.5, 1.5, n_stocks)
    sigma = rng.uniform(0.01, 0.025, n_stocks)
    market = rng.normal(0.0003, 0.01, n_days)
    sector = rng.normal(0.0, 0.006, (n_days, n_sectors))[:, sector_of]
    eps = rng.normal(0.0, 1.0, (n_days, n_stocks))
    planted = np.vstack([np.zeros((1, n_stocks)), signal[:-1]])
    idio = sigma * (a * planted + np.sqrt(1.0 - a**2) * eps)
    log_ret = beta * market[:, None] + sector + idio
    log_close = np.log(rng.uniform(5.0, 100.0, n_stocks)) + np.cumsum(log_ret, axis=0)
    close = np.exp(log_close)

    previous = np.vstack([close[:1], close[:-1]])
    open_ = previous * np.exp(rng.normal(0.0, 0.3, (n_days, n_stocks)) * sigma)
    spread = np.abs(rng.normal(0.0, 0.5, (2, n_days, n_stocks))) * sigma
    high = np.maximum(open_, close) * np.exp(spread[0])
    low = np.minimum(open_, close) * np.exp(-spread[1])
    return RawPanel(
        dates=dates.astype("datetime64[D]"),
        codes=[f"S{n:04d}" for n in range(n_stocks)],
        open=open_,
        high=high,
        low=low,
        close=close,
        value=np.expm1(log_value),
        sector=[f"sector_{s}" for s in sector_of],
        subsector=[f"sector_{s // 2}.{s % 2}" for s in subsector_of],
        source=f"synthetic (seed {config.seed})",
        signal=np.nan_to_num(signal, nan=0.0),
    )
