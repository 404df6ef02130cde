"""Honest metrics of a cross-sectional return prediction: pure functions of arrays and frames.

Definitions (PRODUCT.md, "Measuring a model honestly"):

- Per day and horizon: Pearson IC and Spearman RankIC of the point prediction against the raw forward
  return, over the stocks where both are finite. A day whose prediction is constant carries no
  information: its IC counts as 0 (never as a flattering number) and it is counted in
  `constant_day_share`. Days with fewer than 2 stocks or a constant target are left out.
- ic / rank_ic = mean of the daily values; ic_std their std; icir = ic / ic_std; ic_tstat =
  icir * sqrt(n_days).
- scale_ratio = mean over days of std(prediction) / std(target); pred_std = mean daily std(prediction).
- Long-short: on every h-th day (non-overlapping h-day holding periods; every day for h = 1) buy the top
  quintile and sell the bottom quintile by prediction, equal weights (+1 long, -1 short). A day with a
  constant prediction holds nothing. Period return = weighted raw h-day return minus
  cost_bps * sum|weight change| / 1e4. sharpe = sqrt(252 / h) * mean / std of period returns; turnover =
  mean share of the book replaced per rebalance (sum|dw| / 4: 0 = none, 1 = all); max_drawdown = the
  largest fall of the compounded equity curve from its peak, as a positive fraction. No sign inversion.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

FRAME_COLUMNS = ("date", "code", "horizon", "prediction", "target")
QUANTILE = 0.2  # long the top and short the bottom quintile
MIN_STOCKS_LONG_SHORT = 5
CONSTANT_RELATIVE_STD = 1e-6  # prediction std below this share of the target std = a constant day


def _paired(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from target shape {target.shape}")
    valid = np.isfinite(pred) & np.isfinite(target)
    return np.where(valid, pred, np.nan), np.where(valid, target, np.nan), valid


def rowwise_pearson(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of two [T, N] arrays over the columns finite in both.

    NaN for a row with fewer than 2 pairs or a constant side.
    """
    pred, target, valid = _paired(np.atleast_2d(pred), np.atleast_2d(target))
    count = valid.sum(axis=1)
    p = np.where(valid, pred, 0.0)
    t = np.where(valid, target, 0.0)
    n = np.maximum(count, 1)[:, None]
    pc = np.where(valid, p - p.sum(axis=1, keepdims=True) / n, 0.0)
    tc = np.where(valid, t - t.sum(axis=1, keepdims=True) / n, 0.0)
    denominator = np.sqrt((pc**2).sum(axis=1) * (tc**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (pc * tc).sum(axis=1) / denominator
    corr[(count < 2) | ~(denominator > 0)] = np.nan
    return np.clip(corr, -1.0, 1.0)


def rowwise_rank(values: np.ndarray) -> np.ndarray:
    """Average ranks (1..n) of each row's finite entries; NaN stays NaN."""
    frame = pd.DataFrame(np.atleast_2d(values))
    return frame.rank(axis=1, method="average", na_option="keep").to_numpy(dtype=np.float64)


def rowwise_spearman(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row over the columns finite in both (Pearson of average ranks)."""
    pred, target, _ = _paired(np.atleast_2d(pred), np.atleast_2d(target))
    return rowwise_pearson(rowwise_rank(pred), rowwise_rank(target))


def pearson_ic(pred: np.ndarray, target: np.ndarray) -> float:
    """Pearson IC of one cross-section (1-D arrays); NaN if undefined (constant side, < 2 stocks)."""
    return float(rowwise_pearson(np.ravel(pred)[None], np.ravel(target)[None])[0])


def rank_ic(pred: np.ndarray, target: np.ndarray) -> float:
    """Spearman RankIC of one cross-section (1-D arrays); NaN if undefined."""
    return float(rowwise_spearman(np.ravel(pred)[None], np.ravel(target)[None])[0])


def rowwise_std(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Sample std (ddof=1) of each row over `valid` entries; NaN for fewer than 2."""
    count = valid.sum(axis=1)
    x = np.where(valid, values, 0.0)
    mean = x.sum(axis=1, keepdims=True) / np.maximum(count, 1)[:, None]
    ss = (np.where(valid, values - mean, 0.0) ** 2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.sqrt(ss / (count - 1))
    std[count < 2] = np.nan
    return std


def mean_std_tstat(daily: np.ndarray) -> tuple[float, float, float, float]:
    """(mean, std, mean/std, t-stat) of a daily series, ignoring NaN; NaN where undefined."""
    values = np.asarray(daily, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return math.nan, math.nan, math.nan, math.nan
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if len(values) > 1 else math.nan
    ratio = mean / std if std and std > 0 else math.nan
    return mean, std, ratio, ratio * math.sqrt(len(values)) if math.isfinite(ratio) else math.nan


def default_lag(horizon: int) -> int:
    """Newey-West lag for daily statistics of overlapping `horizon`-day returns: h - 1 (0 for h = 1).

    Two days t and t + k share h - k days of their h-day forward returns, so the daily series is
    autocorrelated up to lag h - 1 (an MA(h - 1) under the null) and uncorrelated beyond.
    """
    return max(0, int(horizon) - 1)


@dataclass(frozen=True)
class HacResult:
    """Mean of a series with its Newey-West (Bartlett kernel, `lag` lags) standard error.

    t = mean / se; p = two-sided normal p-value of mean = 0; n = finite observations used. NaN fields
    where undefined (fewer than 2 observations, or a series with no variation).
    """

    mean: float
    se: float
    t: float
    p: float
    n: int
    lag: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def newey_west(series: np.ndarray | pd.Series, lag: int) -> HacResult:
    """Newey-West (HAC) inference on the mean of a daily series; NaN entries are dropped.

    The estimator is statsmodels' OLS of the series on a constant with `cov_type="HAC"` (Bartlett
    weights 1 - j / (lag + 1), no small-sample correction), so the long-run variance is
    gamma_0 + 2 * sum_{j<=lag} (1 - j / (lag + 1)) * gamma_j with 1/n autocovariances. `lag` is clipped to
    n - 1; lag 0 is the plain (1/n variance) t-statistic.
    """
    from statsmodels.regression.linear_model import OLS  # imported on use: statsmodels costs ~1 s

    if int(lag) < 0:
        raise ValueError(f"Newey-West lag is {lag}; expected a non-negative number of lags")
    values = np.asarray(series, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    n = len(values)
    lag = min(int(lag), max(n - 1, 0))
    if n < 2:
        mean = float(values.mean()) if n else math.nan
        return HacResult(mean, math.nan, math.nan, math.nan, n, lag)
    mean = float(values.mean())
    if float(np.ptp(values)) == 0.0:
        return HacResult(mean, 0.0, math.nan, math.nan, n, lag)
    fit = OLS(values, np.ones(n)).fit(cov_type="HAC", cov_kwds={"maxlags": lag, "use_correction": False})
    se = float(fit.bse[0])
    t = mean / se if se > 0 else math.nan
    p = float(2.0 * stats.norm.sf(abs(t))) if math.isfinite(t) else math.nan
    return HacResult(mean, se, t, p, n, lag)


def newey_west_tstat(series: np.ndarray | pd.Series, lag: int) -> float:
    """t-statistic of the mean of `series` with a Newey-West standard error of `lag` lags (NaN dropped)."""
    return newey_west(series, lag).t


def paired_hac_test(
    model_daily: np.ndarray | pd.Series, baseline_daily: np.ndarray | pd.Series, lag: int
) -> dict[str, Any]:
    """Paired test of two daily series (e.g. a model's and a baseline's daily RankIC) on the same days.

    The daily difference model - baseline gets a Newey-West t (`lag` lags). Two pandas Series are
    aligned on their sorted index (dates); arrays must have the same length and are aligned by position. Days
    where either side is NaN are left out. Returns {"mean_diff", "se", "t", "p", "n", "lag"}; p is
    two-sided (mean difference = 0).
    """
    if isinstance(model_daily, pd.Series) and isinstance(baseline_daily, pd.Series):
        model_daily, baseline_daily = model_daily.sort_index().align(
            baseline_daily.sort_index(), join="inner"
        )
    model = np.asarray(model_daily, dtype=np.float64).ravel()
    baseline = np.asarray(baseline_daily, dtype=np.float64).ravel()
    if model.shape != baseline.shape:
        raise ValueError(
            f"paired test: model series has {len(model)} days, baseline {len(baseline)}; expected the "
            "same days (pass pandas Series indexed by date to align them)"
        )
    both = np.isfinite(model) & np.isfinite(baseline)
    result = newey_west(model[both] - baseline[both], lag)
    return {
        "mean_diff": result.mean,
        "se": result.se,
        "t": result.t,
        "p": result.p,
        "n": result.n,
        "lag": result.lag,
    }


def long_short_weights(pred: np.ndarray, quantile: float = QUANTILE) -> np.ndarray:
    """Equal weights +1/k on the top and -1/k on the bottom k = floor(quantile * n) predictions of one
    day (k >= 1); all zero for fewer than MIN_STOCKS_LONG_SHORT stocks or a constant prediction."""
    pred = np.asarray(pred, dtype=np.float64)
    weights = np.zeros_like(pred)
    valid = np.flatnonzero(np.isfinite(pred))
    if len(valid) < MIN_STOCKS_LONG_SHORT or np.ptp(pred[valid]) == 0:
        return weights
    k = max(1, int(len(valid) * quantile))
    order = valid[np.argsort(pred[valid], kind="stable")]
    weights[order[-k:]] = 1.0 / k
    weights[order[:k]] = -1.0 / k
    return weights


def long_short_returns(
    pred: np.ndarray, target: np.ndarray, horizon: int, cost_bps: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """Net period returns and turnovers of the quintile long-short book, rebalanced every `horizon` rows.

    pred, target: [T, N] (rows = consecutive trading days, target = raw `horizon`-day forward return).
    Only stocks whose target is known can be chosen on a rebalance day.
    """
    pred, target, _ = _paired(np.atleast_2d(pred), np.atleast_2d(target))
    returns, turnovers = [], []
    previous = np.zeros(pred.shape[1])
    for row in range(0, pred.shape[0], max(1, int(horizon))):
        weights = long_short_weights(pred[row])
        traded = float(np.abs(weights - previous).sum())
        gross = float(np.nansum(weights * np.nan_to_num(target[row], nan=0.0)))
        returns.append(gross - traded * cost_bps / 1e4)
        turnovers.append(traded / 4.0)
        previous = weights
    return np.asarray(returns), np.asarray(turnovers)


def sharpe_ratio(period_returns: np.ndarray, horizon: int) -> float:
    """sqrt(252 / horizon) * mean / std (ddof=1); 0 when every return is 0; NaN for < 2 periods."""
    values = np.asarray(period_returns, dtype=np.float64)
    if len(values) < 2:
        return math.nan
    std = float(values.std(ddof=1))
    if std == 0:
        return 0.0 if float(np.abs(values).max()) == 0 else math.nan
    return math.sqrt(252.0 / horizon) * float(values.mean()) / std


def max_drawdown(period_returns: np.ndarray) -> float:
    """Largest fall of the compounded equity curve from its running peak (0.25 = -25%)."""
    values = np.asarray(period_returns, dtype=np.float64)
    if len(values) == 0:
        return math.nan
    equity = np.concatenate([[1.0], np.cumprod(1.0 + values)])
    peak = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peak))


def frame_to_matrices(frame: pd.DataFrame, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dates [T], prediction [T, N], target [T, N]) of one horizon of a predictions frame."""
    rows = frame[frame["horizon"] == horizon]
    if rows.duplicated(["date", "code"]).any():
        first = rows[rows.duplicated(["date", "code"])].iloc[0]
        raise ValueError(
            f"predictions frame has several rows for (date, code, horizon) = ({first['date']}, "
            f"{first['code']}, {horizon}); expected one per stock, day and horizon"
        )
    pred = rows.pivot(index="date", columns="code", values="prediction").sort_index()
    target = rows.pivot(index="date", columns="code", values="target").reindex_like(pred)
    return (
        pred.index.to_numpy(),
        pred.to_numpy(dtype=np.float64),
        target.to_numpy(dtype=np.float64),
    )


def check_frame(frame: pd.DataFrame) -> None:
    """Raise ValueError naming the missing columns of a predictions frame."""
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"predictions frame lacks column(s) {missing}; expected {list(FRAME_COLUMNS)} "
            "(see docs/architecture.md, 'the predictions frame')"
        )


def horizon_metrics(pred: np.ndarray, target: np.ndarray, horizon: int, cost_bps: float = 10.0) -> dict:
    """Every metric of one horizon from [T, N] prediction and raw-target matrices (rows = days)."""
    pred, target, valid = _paired(pred, target)
    pred_std = rowwise_std(pred, valid)
    target_std = rowwise_std(target, valid)
    usable = (valid.sum(axis=1) >= 2) & (target_std > 0)
    constant = usable & ~(pred_std > CONSTANT_RELATIVE_STD * target_std)
    ic = np.where(constant, 0.0, rowwise_pearson(pred, target))[usable]
    ric = np.where(constant, 0.0, rowwise_spearman(pred, target))[usable]
    ic_mean, ic_std, icir, ic_t = mean_std_tstat(ic)
    ric_mean, _, ric_ir, _ = mean_std_tstat(ric)
    n_days = int(usable.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(constant, 0.0, pred_std / target_std)[usable]
    returns, turnover = long_short_returns(pred[usable], target[usable], horizon, cost_bps)
    return {
        "horizon": int(horizon),
        "ic": ic_mean,
        "rank_ic": ric_mean,
        "ic_std": ic_std,
        "icir": icir,
        "ic_tstat": ic_t,
        "rank_icir": ric_ir,
        "scale_ratio": float(np.mean(scale)) if n_days else math.nan,
        "constant_day_share": float(constant[usable].mean()) if n_days else math.nan,
        "pred_std": float(np.nanmean(np.where(constant, 0.0, pred_std)[usable])) if n_days else math.nan,
        "sharpe": sharpe_ratio(returns, horizon),
        "ls_return_ann": float(returns.mean() * 252.0 / horizon) if len(returns) else math.nan,
        "turnover": float(turnover.mean()) if len(turnover) else math.nan,
        "max_drawdown": max_drawdown(returns),
        "cost_bps": float(cost_bps),
        "n_days": n_days,
        "n_periods": len(returns),
    }


def evaluate_frame(frame: pd.DataFrame, *, cost_bps: float = 10.0) -> list[dict[str, Any]]:
    """One metrics row per horizon of a predictions frame (columns date, code, horizon, prediction,
    target), in increasing horizon order."""
    check_frame(frame)
    rows = []
    for horizon in sorted(int(h) for h in frame["horizon"].unique()):
        _, pred, target = frame_to_matrices(frame, horizon)
        rows.append(horizon_metrics(pred, target, horizon, cost_bps))
    return rows
