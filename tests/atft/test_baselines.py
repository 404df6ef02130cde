"""Baselines: the architecture's predictions frame, ridge recovers the planted signal, no test leakage."""

from __future__ import annotations

import numpy as np
import pytest

from atft import baselines
from atft.data import MarketDataset
from atft.metrics import FRAME_COLUMNS, evaluate_frame


def ic_by_horizon(frame) -> dict[int, float]:
    return {row["horizon"]: row["ic"] for row in evaluate_frame(frame)}


@pytest.fixture(scope="module")
def ridge_test_frame(synthetic_dataset: MarketDataset):
    return baselines.ridge_baseline(synthetic_dataset, "test")


def test_frames_have_the_architecture_columns_and_one_row_per_stock_day_horizon(
    synthetic_dataset: MarketDataset, ridge_test_frame
) -> None:
    ds = synthetic_dataset
    frame = ridge_test_frame
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert str(frame["date"].dtype).startswith("datetime64")
    days = ds.split_days("test")
    assert len(frame) == int(ds.mask[days].sum()) * len(ds.horizons)
    assert not frame.duplicated(["date", "code", "horizon"]).any()
    assert sorted(frame["horizon"].unique()) == list(ds.horizons)


def test_ridge_recovers_the_planted_signal_within_20_percent_of_the_oracle(
    synthetic_dataset: MarketDataset, ridge_test_frame
) -> None:
    oracle = synthetic_dataset.oracle_ic
    assert oracle is not None
    ridge = ic_by_horizon(ridge_test_frame)
    for horizon, oracle_ic in oracle.items():
        assert oracle_ic > 0.05
        assert ridge[horizon] == pytest.approx(oracle_ic, rel=0.2), (horizon, ridge[horizon], oracle_ic)


def test_oracle_ic_equals_the_metric_of_the_oracle_frame(synthetic_dataset: MarketDataset) -> None:
    measured = ic_by_horizon(synthetic_dataset.oracle_frame("test"))
    assert measured == pytest.approx(synthetic_dataset.oracle_ic)


def test_lightgbm_finds_the_signal(synthetic_dataset: MarketDataset) -> None:
    frame = baselines.lightgbm_baseline(synthetic_dataset, "test", max_rounds=60, num_threads=1)
    oracle = synthetic_dataset.oracle_ic
    assert oracle is not None
    for horizon, ic in ic_by_horizon(frame).items():
        assert ic > 0.5 * oracle[horizon], (horizon, ic)


def test_zero_baseline_has_no_skill(synthetic_dataset: MarketDataset) -> None:
    for row in evaluate_frame(baselines.zero_baseline(synthetic_dataset, "test")):
        assert row["ic"] == 0 and row["scale_ratio"] == 0 and row["sharpe"] == 0
        assert row["constant_day_share"] == 1


def test_reversal_and_momentum_are_signed_feature_columns(synthetic_dataset: MarketDataset) -> None:
    ds = synthetic_dataset
    reversal = baselines.reversal_baseline(ds, "val")
    momentum = baselines.momentum_baseline(ds, "val")
    day = ds.split_days("val")[0]
    first = reversal[(reversal["date"] == np.datetime64(str(ds.dates[day]))) & (reversal["horizon"] == 1)]
    expected = -ds.features[day, ds.mask[day], ds.feature_names.index("ret_5")]
    np.testing.assert_allclose(first["prediction"].to_numpy(), expected)
    assert (momentum["prediction"] != reversal["prediction"]).any()


def test_ridge_never_sees_test_targets(synthetic_dataset: MarketDataset, ridge_test_frame) -> None:
    ds = synthetic_dataset
    days = ds.split_days("test")
    saved = ds.targets[days].copy(), ds.raw_targets[days].copy()
    rng = np.random.default_rng(0)
    ds.targets[days] = rng.normal(size=ds.targets[days].shape)
    ds.raw_targets[days] = rng.normal(size=ds.raw_targets[days].shape)
    try:
        again = baselines.ridge_baseline(ds, "test")
    finally:
        ds.targets[days], ds.raw_targets[days] = saved
    np.testing.assert_allclose(again["prediction"].to_numpy(), ridge_test_frame["prediction"].to_numpy())


def test_fit_ridge_matches_the_normal_equations() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 4))
    y = x @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0 + rng.normal(scale=0.1, size=200)
    weights, intercept = baselines.fit_ridge(x, y, alpha=0.0)
    reference = np.linalg.lstsq(np.column_stack([x, np.ones(200)]), y, rcond=None)[0]
    np.testing.assert_allclose(weights, reference[:4], atol=1e-8)
    assert intercept == pytest.approx(reference[4])
    shrunk, _ = baselines.fit_ridge(x, y, alpha=1e6)
    assert np.abs(shrunk).sum() < 0.1 * np.abs(weights).sum()


def test_unknown_baseline_is_an_error(synthetic_dataset: MarketDataset) -> None:
    with pytest.raises(ValueError, match="unknown baseline"):
        baselines.run_baselines(synthetic_dataset, "test", ["zero", "oracle2"])
