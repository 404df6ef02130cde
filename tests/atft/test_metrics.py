"""atft.metrics against scipy/numpy references and hand-computed cases; a constant prediction flatters nothing."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from atft import metrics

EXPECTED_KEYS = {
    "horizon",
    "ic",
    "rank_ic",
    "ic_std",
    "icir",
    "ic_tstat",
    "rank_icir",
    "scale_ratio",
    "constant_day_share",
    "pred_std",
    "sharpe",
    "turnover",
    "max_drawdown",
    "n_days",
}


def make_frame(pred: np.ndarray, target: np.ndarray, horizon: int = 1) -> pd.DataFrame:
    """Long frame from [T, N] matrices (NaN entries are left out, as a predictor would)."""
    days, stocks = np.nonzero(np.isfinite(pred) | np.isfinite(target))
    dates = pd.bdate_range("2020-01-01", periods=pred.shape[0])
    return pd.DataFrame(
        {
            "date": dates[days],
            "code": [f"C{s:03d}" for s in stocks],
            "horizon": horizon,
            "prediction": pred[days, stocks],
            "target": target[days, stocks],
        }
    )


def test_rowwise_ic_matches_scipy_with_missing_values() -> None:
    rng = np.random.default_rng(0)
    pred = rng.normal(size=(30, 25))
    target = 0.3 * pred + rng.normal(size=(30, 25))
    pred[rng.random(pred.shape) < 0.1] = np.nan
    target[rng.random(target.shape) < 0.1] = np.nan
    pearson = metrics.rowwise_pearson(pred, target)
    spearman = metrics.rowwise_spearman(pred, target)
    for row in range(30):
        ok = np.isfinite(pred[row]) & np.isfinite(target[row])
        assert pearson[row] == pytest.approx(stats.pearsonr(pred[row, ok], target[row, ok])[0], abs=1e-12)
        assert spearman[row] == pytest.approx(stats.spearmanr(pred[row, ok], target[row, ok])[0], abs=1e-12)


def test_spearman_handles_ties_like_scipy() -> None:
    pred = np.array([1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 4.0])
    target = np.array([0.1, -0.2, 0.3, 0.0, 0.5, 0.5, 0.9])
    assert metrics.rank_ic(pred, target) == pytest.approx(stats.spearmanr(pred, target)[0], abs=1e-12)


def test_hand_cases_perfect_reversed_and_undefined() -> None:
    target = np.array([0.01, 0.02, -0.03, 0.04])
    assert metrics.pearson_ic(target * 7 + 1, target) == pytest.approx(1.0)
    assert metrics.pearson_ic(-target, target) == pytest.approx(-1.0)
    assert metrics.rank_ic(np.array([1.0, 2.0, 0.0, 3.0]), target) == pytest.approx(1.0)
    assert math.isnan(metrics.pearson_ic(np.ones(4), target))  # constant prediction: undefined
    assert math.isnan(metrics.pearson_ic(np.array([1.0]), np.array([0.1])))  # one stock


@settings(deadline=None, max_examples=50)
@given(
    scale=st.floats(min_value=1e-3, max_value=1e3),
    shift=st.floats(min_value=-1e3, max_value=1e3),
    seed=st.integers(0, 10_000),
)
def test_ic_is_invariant_to_positive_affine_maps_and_flips_with_sign(
    scale: float, shift: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    pred, target = rng.normal(size=(2, 40))
    base = metrics.pearson_ic(pred, target)
    assert metrics.pearson_ic(pred * scale + shift, target) == pytest.approx(base, abs=1e-7)
    assert metrics.pearson_ic(-pred, target) == pytest.approx(-base, abs=1e-9)
    assert metrics.rank_ic(pred * scale + shift, target) == pytest.approx(metrics.rank_ic(pred, target))


def test_a_constant_prediction_gets_no_credit() -> None:
    rng = np.random.default_rng(1)
    target = rng.normal(0.001, 0.02, size=(60, 30))
    rows = metrics.evaluate_frame(make_frame(np.full_like(target, 0.5), target))
    (row,) = rows
    assert set(row) >= EXPECTED_KEYS
    assert row["ic"] == 0.0 and row["rank_ic"] == 0.0
    assert row["scale_ratio"] == 0.0 and row["pred_std"] == 0.0
    assert row["constant_day_share"] == 1.0
    assert row["sharpe"] == 0.0 and row["turnover"] == 0.0 and row["max_drawdown"] == 0.0
    assert math.isnan(row["icir"])  # no variation of the IC: undefined, not infinite
    assert row["n_days"] == 60


def test_constant_days_count_as_zero_ic() -> None:
    rng = np.random.default_rng(2)
    target = rng.normal(size=(40, 20))
    pred = target.copy()
    pred[:10] = 1.0  # a quarter of the days constant
    (row,) = metrics.evaluate_frame(make_frame(pred, target))
    assert row["constant_day_share"] == pytest.approx(0.25)
    assert row["ic"] == pytest.approx(0.75)
    assert row["scale_ratio"] == pytest.approx(0.75)


def test_ic_summary_statistics_match_numpy() -> None:
    rng = np.random.default_rng(3)
    target = rng.normal(size=(50, 30))
    pred = 0.2 * target + rng.normal(size=(50, 30))
    (row,) = metrics.evaluate_frame(make_frame(pred, target))
    daily = np.array([np.corrcoef(pred[t], target[t])[0, 1] for t in range(50)])
    assert row["ic"] == pytest.approx(daily.mean())
    assert row["ic_std"] == pytest.approx(daily.std(ddof=1))
    assert row["icir"] == pytest.approx(daily.mean() / daily.std(ddof=1))
    assert row["ic_tstat"] == pytest.approx(stats.ttest_1samp(daily, 0.0).statistic)
    ratios = pred.std(axis=1, ddof=1) / target.std(axis=1, ddof=1)
    assert row["scale_ratio"] == pytest.approx(ratios.mean())


def test_long_short_hand_case_with_costs() -> None:
    pred = np.arange(10.0)[None, :].repeat(2, axis=0)
    target = np.linspace(-0.05, 0.04, 10)[None, :].repeat(2, axis=0)
    returns, turnover = metrics.long_short_returns(pred, target, horizon=1, cost_bps=10.0)
    gross = target[0, 8:].mean() - target[0, :2].mean()
    # day 1 opens the book from cash: sum |dw| = 2 -> 2 * 10 bps; day 2 keeps it
    np.testing.assert_allclose(returns, [gross - 2 * 10 / 1e4, gross])
    np.testing.assert_allclose(turnover, [0.5, 0.0])


def test_long_short_uses_non_overlapping_periods() -> None:
    rng = np.random.default_rng(4)
    pred = rng.normal(size=(23, 15))
    target = rng.normal(size=(23, 15))
    returns, _ = metrics.long_short_returns(pred, target, horizon=5, cost_bps=0.0)
    assert len(returns) == 5  # rows 0, 5, 10, 15, 20
    weights = metrics.long_short_weights(pred[10])
    assert returns[2] == pytest.approx(float(weights @ target[10]))
    assert weights.sum() == pytest.approx(0.0) and np.abs(weights).sum() == pytest.approx(2.0)


def test_long_short_skips_stocks_without_a_target() -> None:
    pred = np.arange(10.0)[None, :]
    target = np.full((1, 10), 0.01)
    target[0, 9] = np.nan  # the best-ranked stock has no known return: it cannot be held
    weights = metrics.long_short_weights(np.where(np.isfinite(target[0]), pred[0], np.nan))
    assert weights[9] == 0 and weights[8] > 0


def test_sharpe_and_drawdown_formulas() -> None:
    returns = np.array([0.1, -0.5, 0.2, 0.05])
    assert metrics.sharpe_ratio(returns, 5) == pytest.approx(
        math.sqrt(252 / 5) * returns.mean() / returns.std(ddof=1)
    )
    # equity 1.1, 0.55, 0.66, 0.693 -> the worst fall is 1.1 -> 0.55
    assert metrics.max_drawdown(returns) == pytest.approx(0.5)
    assert metrics.max_drawdown(np.array([0.01, 0.02])) == 0.0
    assert math.isnan(metrics.sharpe_ratio(np.array([0.1]), 1))


def test_no_sign_inversion_a_bad_model_has_a_negative_sharpe() -> None:
    rng = np.random.default_rng(5)
    target = rng.normal(0, 0.02, size=(120, 30))
    (good,) = metrics.evaluate_frame(make_frame(target, target))
    (bad,) = metrics.evaluate_frame(make_frame(-target, target))
    assert good["ic"] == pytest.approx(1.0) and bad["ic"] == pytest.approx(-1.0)
    assert good["sharpe"] > 5 and bad["sharpe"] < -5


def test_rows_per_horizon_in_order_and_frame_errors() -> None:
    rng = np.random.default_rng(6)
    target = rng.normal(size=(30, 12))
    frame = pd.concat([make_frame(target, target, 5), make_frame(target, target, 1)])
    assert [r["horizon"] for r in metrics.evaluate_frame(frame)] == [1, 5]
    with pytest.raises(ValueError, match="lacks column"):
        metrics.evaluate_frame(frame.drop(columns=["target"]))
    with pytest.raises(ValueError, match="several rows"):
        metrics.evaluate_frame(pd.concat([frame, frame.iloc[:1]]))


# ---------------------------------------------------------------------------------------- HAC inference


def _bartlett_long_run_variance(autocov: np.ndarray, lag: int) -> float:
    """gamma_0 + 2 * sum_{j=1..lag} (1 - j / (lag + 1)) gamma_j from given autocovariances."""
    weights = 1.0 - np.arange(1, lag + 1) / (lag + 1.0)
    return float(autocov[0] + 2.0 * (weights * autocov[1 : lag + 1]).sum())


def test_newey_west_matches_the_bartlett_formula_by_hand() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=50).cumsum() * 0.1 + rng.normal(size=50)
    lag = 4
    d = x - x.mean()
    autocov = np.array([(d[j:] * d[: len(d) - j]).sum() / len(d) for j in range(lag + 1)])
    se = math.sqrt(_bartlett_long_run_variance(autocov, lag) / len(x))
    result = metrics.newey_west(x, lag)
    assert result.se == pytest.approx(se, rel=1e-10)
    assert result.t == pytest.approx(x.mean() / se, rel=1e-10)
    assert result.p == pytest.approx(2 * stats.norm.sf(abs(x.mean() / se)), rel=1e-8)
    assert (result.n, result.lag) == (50, 4)
    # lag 0 is the plain t-statistic with the 1/n variance
    assert metrics.newey_west_tstat(x, 0) == pytest.approx(x.mean() / (x.std(ddof=0) / math.sqrt(50)))


def test_newey_west_on_ar1_recovers_the_analytic_long_run_variance() -> None:
    # x_t = phi x_{t-1} + e_t, var(e) = 1: gamma_j = phi^j / (1 - phi^2); long-run variance 1 / (1 - phi)^2.
    phi, n, lag = 0.6, 200_000, 12
    rng = np.random.default_rng(11)
    e = rng.normal(size=n)
    x = np.empty(n)
    x[0] = e[0] / math.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    autocov = phi ** np.arange(lag + 1) / (1 - phi**2)
    expected = _bartlett_long_run_variance(autocov, lag)  # what Bartlett with `lag` lags estimates
    result = metrics.newey_west(x, lag)
    assert result.se**2 * n == pytest.approx(expected, rel=0.04)
    assert result.se**2 * n > 3 * autocov[0]  # far above the iid variance gamma_0 = 1.5625
    # with many lags the Bartlett bias (~2 gamma_0 phi / (1 - phi)^2 / (lag + 1)) is small: the estimate
    # approaches the true long-run variance 1 / (1 - phi)^2 = 6.25
    many = metrics.newey_west(x, 60)
    assert many.se**2 * n == pytest.approx(1 / (1 - phi) ** 2, rel=0.08)


def test_newey_west_on_overlapping_returns_ma_h_minus_1() -> None:
    # Daily sums of h = 5 overlapping iid shocks (an h-day return sampled daily): an MA(4) with
    # gamma_j = h - j. Bartlett with lag h - 1 = 4 targets 5 + 2 * (4*4 + 3*3 + 2*2 + 1*1) / 5 = 17.
    h, n = 5, 200_000
    rng = np.random.default_rng(5)
    shocks = rng.normal(size=n + h - 1)
    x = np.convolve(shocks, np.ones(h), mode="valid")
    lag = metrics.default_lag(h)
    assert lag == 4
    assert metrics.newey_west(x, lag).se ** 2 * n == pytest.approx(17.0, rel=0.03)


def test_newey_west_keeps_its_size_where_the_naive_t_does_not() -> None:
    # 300 zero-mean MA(4) series of 500 days: how often does |t| exceed 1.96?
    h, n, runs = 5, 500, 300
    rng = np.random.default_rng(7)
    naive_rejects = hac_rejects = 0
    for _ in range(runs):
        x = np.convolve(rng.normal(size=n + h - 1), np.ones(h), mode="valid")
        _, _, ratio, _ = metrics.mean_std_tstat(x)
        naive_rejects += abs(ratio * math.sqrt(n)) > 1.96
        hac_rejects += abs(metrics.newey_west_tstat(x, metrics.default_lag(h))) > 1.96
    assert naive_rejects / runs > 0.3  # iid t: ~38% false positives
    assert hac_rejects / runs < 0.16  # HAC: ~10% (Bartlett underweights the tail; nominal 5%)


def test_newey_west_edge_cases() -> None:
    assert math.isnan(metrics.newey_west([], 3).t)
    assert metrics.newey_west([1.0], 3).n == 1
    constant = metrics.newey_west([0.5] * 10, 2)
    assert constant.mean == 0.5 and math.isnan(constant.t)
    with_nan = metrics.newey_west([1.0, np.nan, 2.0, 4.0], 10)
    assert (with_nan.n, with_nan.lag) == (3, 2)
    with pytest.raises(ValueError, match="lag"):
        metrics.newey_west([1.0, 2.0], -1)


def test_paired_hac_test_detects_a_planted_difference_and_aligns_dates() -> None:
    rng = np.random.default_rng(2)
    dates = pd.bdate_range("2020-01-01", periods=600)
    common = rng.normal(0.05, 0.1, size=600)
    baseline = pd.Series(common + rng.normal(0, 0.02, size=600), index=dates)
    better = pd.Series(common + 0.01 + rng.normal(0, 0.02, size=600), index=dates)
    result = metrics.paired_hac_test(better, baseline, lag=4)
    assert result["mean_diff"] == pytest.approx(0.01, abs=0.003)
    assert result["t"] > 5 and result["p"] < 1e-4 and result["n"] == 600
    same = metrics.paired_hac_test(baseline, baseline.copy(), lag=4)
    assert same["mean_diff"] == 0 and math.isnan(same["p"])
    # Series are aligned on their dates: a shuffled copy gives the same answer; arrays must match in length
    shuffled = metrics.paired_hac_test(better.sample(frac=1.0, random_state=0), baseline, lag=4)
    assert shuffled["t"] == pytest.approx(result["t"])
    partial = metrics.paired_hac_test(better.iloc[100:], baseline, lag=4)
    assert partial["n"] == 500
    with pytest.raises(ValueError, match="same days"):
        metrics.paired_hac_test(np.zeros(3), np.zeros(4), lag=1)
