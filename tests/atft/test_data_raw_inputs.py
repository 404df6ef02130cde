"""Issue 24 item 1: raw normalised price windows as model inputs (`data.inputs`), causal, and the same
inputs offered to the baselines.

The causality test follows `test_data_causality.py`: scaling every price and traded value after day t
by random factors (absurd jumps included) leaves day t's raw window unchanged.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atft.baselines import design, lightgbm_baseline, ridge_baseline
from atft.data import DataConfig
from atft.data.dataset import build_from_panel
from atft.data.features import FEATURE_NAMES, RAW_CHANNELS
from atft.data.synthetic import synthetic_panel
from tests.atft.test_data_causality import perturbed_after

CONFIG = DataConfig(market="synthetic", n_stocks=24, n_days=220, cache_dir=None, seed=3, lookback=30)
RAW = dataclasses.replace(CONFIG, inputs="raw")
PANEL = synthetic_panel(RAW)
BASE = build_from_panel(PANEL, RAW)


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(
    day=st.integers(min_value=int(BASE.quality_report["first_day"]), max_value=len(PANEL.dates) - 2),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
    jumps=st.booleans(),
)
def test_later_prices_never_change_day_ts_raw_window(day: int, seed: int, jumps: bool) -> None:
    after = build_from_panel(perturbed_after(PANEL, day, np.random.default_rng(seed), jumps), RAW)
    np.testing.assert_array_equal(BASE.window(day), after.window(day))
    # the perturbation reached the future: some later window changed (the test can fail)
    later = min(day + 5, len(PANEL.dates) - 1)
    assert not np.array_equal(BASE.window(later), after.window(later))


def test_the_window_reads_prices_over_todays_close() -> None:
    """raw_close is P_s - P_t z-scored per step over the day's stocks: its last step is 0, and its order
    at the first step is the order of -(return over the window)."""
    day = 200
    window, mask = BASE.window(day), BASE.mask[day]
    assert window.shape == (RAW.n_stocks, RAW.lookback, len(RAW_CHANNELS))
    close = RAW_CHANNELS.index("raw_close")
    np.testing.assert_array_equal(window[mask, -1, close], 0.0)
    first = day - RAW.lookback + 1
    moved = np.log(PANEL.close[day] / PANEL.close[first])[mask]
    observed = window[mask, 0, RAW_CHANNELS.index("raw_observed")] == 1
    order = np.argsort(-moved[observed])
    assert np.all(np.diff(window[mask, 0, close][observed][order]) >= -1e-5)
    assert np.all(window[~mask] == 0)  # a stock outside the day's universe reads nothing


def test_missing_days_are_masked() -> None:
    gappy = dataclasses.replace(PANEL, close=PANEL.close.copy())
    gappy.close[190:193, 4] = np.nan
    built = build_from_panel(gappy, RAW)
    window = built.window(200)
    if not built.mask[200, 4]:
        pytest.skip("the gap took stock 4 out of the universe of day 200")
    steps = [190 - (200 - RAW.lookback + 1) + k for k in range(3)]
    assert np.all(window[4, steps, RAW_CHANNELS.index("raw_observed")] == 0)
    assert np.all(window[4, steps, :-1] == 0)
    assert window[4, steps[-1] + 1, RAW_CHANNELS.index("raw_observed")] == 1


def test_both_puts_the_features_beside_the_raw_window() -> None:
    both = build_from_panel(PANEL, dataclasses.replace(CONFIG, inputs="both"))
    features = build_from_panel(PANEL, CONFIG)
    assert both.feature_names == [*FEATURE_NAMES, *RAW_CHANNELS]
    np.testing.assert_array_equal(both.window(150)[..., : len(FEATURE_NAMES)], features.window(150))
    np.testing.assert_array_equal(both.window(150)[..., len(FEATURE_NAMES) :], BASE.window(150))


def test_baselines_read_the_same_window_flattened() -> None:
    x, _, position, stock = design(BASE, "val", 1)
    assert x.shape[1] == RAW.lookback * len(RAW_CHANNELS) == len(BASE.input_names)
    day = int(BASE.split_days("val")[position[0]])
    np.testing.assert_array_equal(x[0], BASE.window(day)[stock[0]].reshape(-1))
    assert BASE.input_names[-1] == "raw_observed_lag0" and BASE.input_names[0] == "raw_close_lag29"


@pytest.mark.parametrize("baseline", [ridge_baseline, lightgbm_baseline])
def test_fitted_baselines_run_on_raw_inputs(baseline) -> None:
    frame = baseline(BASE, "test")
    assert len(frame) > 0 and frame["prediction"].std() > 0


def test_a_model_trains_and_predicts_on_both_inputs(tmp_path) -> None:
    from atft.config import load_config
    from atft.data import load_dataset
    from atft.inference import predict_frame
    from atft.train import train
    from tests.atft.tiny import TINY_RUN

    config = load_config(None, [*TINY_RUN, "data.market=synthetic", "data.inputs=both", "data.lookback=12"])
    dataset = load_dataset(config.data)
    result = train(config, tmp_path, dataset=dataset, progress=False)
    frame = predict_frame(result.checkpoint_path, dataset, "val")
    assert dataset.n_features == len(FEATURE_NAMES) + len(RAW_CHANNELS)
    assert len(frame) > 0 and np.isfinite(frame["prediction"]).all()
