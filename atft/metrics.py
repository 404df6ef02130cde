"""Honest metrics of a cross-sectional return prediction: pure functions of arrays and frames.

Definitions (PRODUCT.md, "Measuring a model honestly"):

- Per day and horizon: Pearson IC and Spearman RankIC of the point prediction against the raw forward
  return, over the stocks where both are finite. A day whose prediction is constant carries no
  information: its IC counts as 0 (never as a flattering number) and it is counted in
  `constant_day_share`. Days with fewer than 2 stocks or a constant target are left out.
- ic / rank_ic = mean of the daily values; ic_std their std; icir = ic / ic_std. Daily ICs of
  overlapping h-day returns are autocorrelated (an MA(h - 1) under the null), so ic_tstat / rank_ic_tstat
  (and their two-sided p-values ic_p / rank_ic_p) are Newey-West with lag nw_lag = h - 1 (`newey_west`,
  statsmodels' HAC estimator); a model is compared with a baseline by `paired_hac_test` on the daily
  RankIC difference.
- scale_ratio = mean over days of std(prediction) / std(target); pred_std = mean daily std(prediction).
- Long-short: every h trading days of the calendar (rows are consecutive trading days; a day without
  predictions is a flat book) buy the top quintile and sell the bottom quintile by prediction, equal
  weights (+1 long, -1 short), chosen from the finite predictions of that day only: a stock whose later
  prices are missing stays selectable and earns its last available return over the holding period
  (`held_return`), or a configured delisting return if its prices end (`exited`). A day with a constant
  prediction holds nothing. Period return = weighted h-day return minus cost_bps * sum|weight change| /
  1e4. sharpe = sqrt(252 / h) * mean / std of period returns; turnover = mean share of the book replaced
  per rebalance (sum|dw| / 4: 0 = none, 1 = all); max_drawdown = the largest fall of the compounded equity
  curve from its peak, as a positive fraction; ls_tstat = Newey-West t (lag h - 1) of the mean gross
  h-day return of the book formed every day (overlapping). No sign inversion.
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


def long_short_weight_matrix(pred: np.ndarray, quantile: float = QUANTILE) -> np.ndarray:
    """Long-short weights [T, N] of every row of a prediction matrix (vectorised over days).

    Per row: +1/k on the top and -1/k on the bottom k = max(1, floor(quantile * n)) of the n finite
    predictions (ties broken by column order); all zero for n < MIN_STOCKS_LONG_SHORT or a constant row.
    A stock is selectable exactly when its prediction is finite: what is known on the day.
    """
    pred = np.atleast_2d(np.asarray(pred, dtype=np.float64))
    valid = np.isfinite(pred)
    n = valid.sum(axis=1)
    order = np.argsort(np.where(valid, pred, np.inf), axis=1, kind="stable")
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.arange(pred.shape[1])[None, :].repeat(pred.shape[0], 0), axis=1)
    k = np.maximum(1, (n * quantile).astype(np.int64))[:, None]
    with np.errstate(invalid="ignore"):
        spread = np.nanmax(np.where(valid, pred, np.nan), axis=1, initial=-np.inf) - np.nanmin(
            np.where(valid, pred, np.nan), axis=1, initial=np.inf
        )
    active = ((n >= MIN_STOCKS_LONG_SHORT) & (spread > 0))[:, None]
    long = valid & (position >= n[:, None] - k) & active
    short = valid & (position < k) & active
    return (long.astype(np.float64) - short.astype(np.float64)) / k


def long_short_weights(pred: np.ndarray, quantile: float = QUANTILE) -> np.ndarray:
    """Equal weights +1/k on the top and -1/k on the bottom k = floor(quantile * n) predictions of one
    day (k >= 1); all zero for fewer than MIN_STOCKS_LONG_SHORT stocks or a constant prediction."""
    return long_short_weight_matrix(np.ravel(pred)[None], quantile)[0]


@dataclass(frozen=True)
class Holding:
    """What a holder of each stock earns when its forward return is unknown, [T, N] like the target.

    held: the stock's last available (jump-free) return over the holding period; NaN where the period's
    outcome is not in the data. exited: its prices end inside the period (a delisting). With a
    `delisting_return`, an exited stock earns that instead of its last available return.
    """

    held: np.ndarray
    exited: np.ndarray | None = None
    delisting_return: float | None = None

    def earned(self, target: np.ndarray) -> np.ndarray:
        """The forward return where known, else the held (or delisting) return."""
        held = np.asarray(self.held, dtype=np.float64)
        fallback = held
        if self.exited is not None and self.delisting_return is not None:
            exited = np.asarray(self.exited, dtype=bool) & np.isfinite(held)
            fallback = np.where(exited, float(self.delisting_return), held)
        return np.where(np.isfinite(target), target, fallback)


def earned_returns(target: np.ndarray, holding: Holding | None = None) -> np.ndarray:
    """What a holder of each stock earns over the horizon, [T, N]: `holding.earned(target)`; without a
    `Holding`, a stock with an unknown forward return earns 0 (its price taken as unchanged)."""
    target = np.asarray(target, dtype=np.float64)
    return np.nan_to_num(target, nan=0.0) if holding is None else holding.earned(target)


def _outcome_observed(pred: np.ndarray, target: np.ndarray, holding: Holding | None) -> np.ndarray:
    """bool [T]: the period starting on the day has an outcome in the data (some stock's forward return,
    or held return, is known), or the day has no prediction at all (the book is flat)."""
    outcome = np.atleast_2d(np.asarray(target if holding is None else holding.held, dtype=np.float64))
    return np.isfinite(outcome).any(axis=1) | ~np.isfinite(np.atleast_2d(pred)).any(axis=1)


def long_short_returns(
    pred: np.ndarray,
    target: np.ndarray,
    horizon: int,
    cost_bps: float = 10.0,
    holding: Holding | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Net period returns and turnovers of the quintile long-short book, rebalanced every `horizon`
    trading days.

    pred, target (and the holding arrays): [T, N] whose rows are consecutive days of the trading calendar
    (a day without predictions is an all-NaN row: the book goes flat), target = raw `horizon`-day forward
    return. The book of day t is chosen from the finite predictions of day t alone; each held stock earns
    `earned_returns` (with a `Holding`, its last available return if its later prices are missing). A rebalance day whose
    outcome is not observed for any stock (the period runs past the data) starts no period.
    """
    pred = np.atleast_2d(np.asarray(pred, dtype=np.float64))
    earned = np.atleast_2d(earned_returns(target, holding))
    if pred.shape != earned.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from target shape {earned.shape}")
    rows = np.arange(0, pred.shape[0], max(1, int(horizon)))
    rows = rows[_outcome_observed(pred, target, holding)[rows]]
    weights = long_short_weight_matrix(pred[rows])  # (P, N)
    previous = np.vstack([np.zeros((1, pred.shape[1])), weights[:-1]])
    traded = np.abs(weights - previous).sum(axis=1)
    gross = (weights * np.nan_to_num(earned[rows], nan=0.0)).sum(axis=1)
    return gross - traded * cost_bps / 1e4, traded / 4.0


def daily_long_short_returns(
    pred: np.ndarray,
    target: np.ndarray,
    holding: Holding | None = None,
) -> np.ndarray:
    """Gross `horizon`-day return of the long-short book formed on each day [T] (overlapping periods,
    before costs); NaN for a day without predictions or whose outcome is not observed. The series whose
    mean the long-short Newey-West t tests."""
    pred = np.atleast_2d(np.asarray(pred, dtype=np.float64))
    earned = np.atleast_2d(earned_returns(target, holding))
    weights = long_short_weight_matrix(pred)
    gross = (weights * np.nan_to_num(earned, nan=0.0)).sum(axis=1)
    known = _outcome_observed(pred, target, holding) & np.isfinite(pred).any(axis=1)
    return np.where(known, gross, np.nan)


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


HOLDING_COLUMNS = ("held_return", "exited")  # optional frame columns, see `earned_returns`


def frame_to_matrices(
    frame: pd.DataFrame, horizon: int, calendar: np.ndarray | pd.DatetimeIndex | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(dates [T], {"prediction", "target"[, "held_return", "exited"]: [T, N]}) of one horizon.

    Rows are the frame's dates (sorted), or every day of `calendar` (the trading calendar; a day the frame
    lacks is an all-NaN row) so that "every h rows" means every h trading days; columns are the sorted
    codes. The frame's rows are scattered into the matrices by integer position (a pivot, without
    pandas' reshaping).
    """
    rows = frame[frame["horizon"] == horizon]
    day, dates = pd.factorize(pd.DatetimeIndex(pd.to_datetime(rows["date"])), sort=True)
    stock, _ = pd.factorize(rows["code"], sort=True)
    n_codes = int(stock.max()) + 1 if len(stock) else 0
    duplicated = pd.Series(day.astype(np.int64) * n_codes + stock).duplicated().to_numpy()
    if duplicated.any():
        first = rows.iloc[int(np.argmax(duplicated))]
        raise ValueError(
            f"predictions frame has several rows for (date, code, horizon) = ({first['date']}, "
            f"{first['code']}, {horizon}); expected one per stock, day and horizon"
        )
    index = pd.DatetimeIndex(dates)
    if calendar is not None:
        days = pd.DatetimeIndex(pd.to_datetime(np.asarray(calendar)))
        inside = days[(days >= index.min()) & (days <= index.max())] if len(index) else days[:0]
        missing = index.difference(days)
        if len(missing):
            raise ValueError(
                f"predictions frame has date {missing[0].date()} that is not a trading day of the "
                "calendar; predict on the dataset's own days"
            )
        day = inside.get_indexer(index)[day]  # the row of each frame row in the calendar
        index = inside
    columns = ["prediction", "target", *(c for c in HOLDING_COLUMNS if c in rows.columns)]
    matrices = {}
    for column in columns:
        if column == "exited":
            matrix = np.zeros((len(index), n_codes), dtype=bool)
            matrix[day, stock] = rows[column].fillna(False).to_numpy(dtype=bool)
        else:
            matrix = np.full((len(index), n_codes), np.nan)
            matrix[day, stock] = rows[column].to_numpy(dtype=np.float64)
        matrices[column] = matrix
    return index.to_numpy(), matrices


def check_frame(frame: pd.DataFrame) -> None:
    """Raise ValueError naming the missing columns of a predictions frame."""
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"predictions frame lacks column(s) {missing}; expected {list(FRAME_COLUMNS)} "
            "(see docs/architecture.md, 'the predictions frame')"
        )


def _daily_stats(pred: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """Per day [T]: ic, rank_ic (NaN on an unusable day, 0 on a constant one), constant, usable,
    pred_std, target_std over the stocks where both sides are finite."""
    pred, target, valid = _paired(pred, target)
    pred_std = rowwise_std(pred, valid)
    target_std = rowwise_std(target, valid)
    usable = (valid.sum(axis=1) >= 2) & (target_std > 0)
    constant = usable & ~(pred_std > CONSTANT_RELATIVE_STD * target_std)
    ic = np.where(constant, 0.0, rowwise_pearson(pred, target))
    ric = np.where(constant, 0.0, rowwise_spearman(pred, target))
    return {
        "ic": np.where(usable, ic, np.nan),
        "rank_ic": np.where(usable, ric, np.nan),
        "constant": constant,
        "usable": usable,
        "pred_std": pred_std,
        "target_std": target_std,
    }


def daily_ics(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ic [T], rank_ic [T], constant [T]) per day over the stocks where both are finite; NaN on a day
    with fewer than 2 pairs or a constant target; 0 on a day whose prediction is constant."""
    daily = _daily_stats(pred, target)
    return daily["ic"], daily["rank_ic"], daily["constant"]


def horizon_metrics(
    pred: np.ndarray,
    target: np.ndarray,
    horizon: int,
    cost_bps: float = 10.0,
    holding: Holding | None = None,
    *,
    lag: int | None = None,
) -> dict:
    """Every metric of one horizon from [T, N] prediction and raw-target matrices (rows = consecutive
    trading days; see `long_short_returns` for held/exited). t-stats are Newey-West with `lag` lags
    (default h - 1)."""
    return _metrics_of_daily(_daily_stats(pred, target), pred, target, horizon, cost_bps, holding, lag)


def _metrics_of_daily(
    daily: dict[str, np.ndarray],
    pred: np.ndarray,
    target: np.ndarray,
    horizon: int,
    cost_bps: float,
    holding: Holding | None,
    lag: int | None,
) -> dict:
    """`horizon_metrics` from the `_daily_stats` of the same matrices."""
    lag = default_lag(horizon) if lag is None else int(lag)
    usable = daily["usable"]
    ic, ric, constant = daily["ic"][usable], daily["rank_ic"][usable], daily["constant"][usable]
    pred_std, target_std = daily["pred_std"][usable], daily["target_std"][usable]
    ic_mean, ic_std, icir, _ = mean_std_tstat(ic)
    ric_mean, _, ric_ir, _ = mean_std_tstat(ric)
    ic_hac, ric_hac = newey_west(ic, lag), newey_west(ric, lag)
    n_days = int(usable.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(constant, 0.0, pred_std / target_std)
    returns, turnover = long_short_returns(pred, target, horizon, cost_bps, holding)
    ls_hac = newey_west(daily_long_short_returns(pred, target, holding), lag)
    return {
        "horizon": int(horizon),
        "ic": ic_mean,
        "rank_ic": ric_mean,
        "ic_std": ic_std,
        "icir": icir,
        "ic_tstat": ic_hac.t,
        "ic_p": ic_hac.p,
        "rank_icir": ric_ir,
        "rank_ic_tstat": ric_hac.t,
        "rank_ic_p": ric_hac.p,
        "nw_lag": lag,
        "scale_ratio": float(np.mean(scale)) if n_days else math.nan,
        "constant_day_share": float(constant.mean()) if n_days else math.nan,
        "pred_std": float(np.nanmean(np.where(constant, 0.0, pred_std))) if n_days else math.nan,
        "sharpe": sharpe_ratio(returns, horizon),
        "ls_return_ann": float(returns.mean() * 252.0 / horizon) if len(returns) else math.nan,
        "ls_tstat": ls_hac.t,
        "turnover": float(turnover.mean()) if len(turnover) else math.nan,
        "max_drawdown": max_drawdown(returns),
        "cost_bps": float(cost_bps),
        "n_days": n_days,
        "n_periods": len(returns),
    }


def _horizon_matrices(
    frame: pd.DataFrame,
    horizon: int,
    calendar: np.ndarray | pd.DatetimeIndex | None,
    delisting_return: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Holding | None]:
    dates, matrices = frame_to_matrices(frame, horizon, calendar)
    holding = None
    if "held_return" in matrices:
        holding = Holding(matrices["held_return"], matrices.get("exited"), delisting_return)
    return dates, matrices["prediction"], matrices["target"], holding


def evaluate_frame(
    frame: pd.DataFrame,
    *,
    cost_bps: float = 10.0,
    calendar: np.ndarray | pd.DatetimeIndex | None = None,
    delisting_return: float | None = None,
) -> list[dict[str, Any]]:
    """One metrics row per horizon of a predictions frame (columns date, code, horizon, prediction,
    target; optionally held_return and exited), in increasing horizon order. `calendar`: the trading
    days, so that rebalancing steps over days rather than rows of the frame."""
    return [
        row
        for row, _ in evaluate_horizons(
            frame, cost_bps=cost_bps, calendar=calendar, delisting_return=delisting_return
        )
    ]


def evaluate_horizons(
    frame: pd.DataFrame,
    *,
    cost_bps: float = 10.0,
    calendar: np.ndarray | pd.DatetimeIndex | None = None,
    delisting_return: float | None = None,
) -> list[tuple[dict[str, Any], pd.Series]]:
    """`evaluate_frame`'s rows, each with its horizon's `daily_rank_ic` series, from one pass per horizon
    (the matrices and the daily statistics are computed once for both)."""
    check_frame(frame)
    out = []
    for horizon in sorted(int(h) for h in frame["horizon"].unique()):
        dates, pred, target, holding = _horizon_matrices(frame, horizon, calendar, delisting_return)
        daily = _daily_stats(pred, target)
        row = _metrics_of_daily(daily, pred, target, horizon, cost_bps, holding, None)
        out.append((row, _daily_series(daily["rank_ic"], dates, horizon)))
    return out


def _daily_series(rank_ic: np.ndarray, dates: np.ndarray, horizon: int) -> pd.Series:
    series = pd.Series(rank_ic, index=pd.DatetimeIndex(dates), name=f"rank_ic_{horizon}d")
    return series.dropna()


def daily_rank_ic(
    frame: pd.DataFrame, horizon: int, calendar: np.ndarray | pd.DatetimeIndex | None = None
) -> pd.Series:
    """The daily RankIC of one horizon of a predictions frame, indexed by date (NaN days dropped): the
    series `paired_hac_test` compares between a model and a baseline."""
    dates, pred, target, _ = _horizon_matrices(frame, horizon, calendar)
    _, ric, _ = daily_ics(pred, target)
    return _daily_series(ric, dates, horizon)


def mean_prediction_frame(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The ensemble of several predictions frames of the same rows: their mean `prediction`, row by row.

    What a user deploys from several seeds is this one prediction, not a seed's; its metrics are not the
    mean of the seeds' metrics. The frames must hold the same (date, code, horizon) rows in the same
    order, as the frames of one split of one dataset do; other columns come from the first frame.
    """
    if not frames:
        raise ValueError("an ensemble needs at least one predictions frame")
    keys = ["date", "code", "horizon"]
    first = frames[0]
    for index, frame in enumerate(frames[1:], start=1):
        if len(frame) != len(first) or not frame[keys].reset_index(drop=True).equals(
            first[keys].reset_index(drop=True)
        ):
            raise ValueError(
                f"predictions frame {index} does not hold the rows of frame 0 ({len(frame)} vs {len(first)} "
                "rows, or other dates/codes/horizons); ensemble frames of the same split and dataset"
            )
    out = first.copy()
    out["prediction"] = np.mean([frame["prediction"].to_numpy(dtype=np.float64) for frame in frames], axis=0)
    return out


def rank_ic_by_year(frame: pd.DataFrame, horizon: int) -> dict[int, float]:
    """Mean daily RankIC of one horizon per calendar year of the prediction date."""
    series = daily_rank_ic(frame, horizon)
    if series.empty:
        return {}
    years = pd.DatetimeIndex(series.index).year
    return {int(year): float(values.mean()) for year, values in series.groupby(years)}
