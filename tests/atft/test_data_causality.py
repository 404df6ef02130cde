"""No look-ahead: changing any price after day t leaves every feature, mask and graph edge of day t unchanged,
and the point-in-time universe of day t does not depend on whether a stock's later prices exist."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atft.data import DataConfig, RawPanel
from atft.data.dataset import build_from_panel, read_market
from atft.data.synthetic import synthetic_panel

CONFIG = DataConfig(market="synthetic", n_stocks=24, n_days=220, cache_dir=None, seed=3, lookback=10)
BASE_PANEL = synthetic_panel(CONFIG)
BASE = build_from_panel(BASE_PANEL, CONFIG)


def perturbed_after(panel: RawPanel, day: int, rng: np.random.Generator, jumps: bool) -> RawPanel:
    """A copy of `panel` whose prices and traded values after `day` are scaled by random factors
    (every later day changes)."""
    later = slice(day + 1, None)
    shape = panel.close[later].shape
    # a random walk of relative changes (a few percent a day), so later days stay mostly usable
    log_scale = np.cumsum(rng.normal(0.0, 0.04, shape), axis=0)
    if jumps:  # absurd moves, as unadjusted splits make them
        log_scale += np.cumsum(np.where(rng.random(shape) < 0.003, np.log(3.0), 0.0), axis=0)
    scale = np.exp(log_scale)
    changed = {}
    for name in ("open", "high", "low", "close", "value"):
        array = getattr(panel, name).copy()
        array[later] = array[later] * scale * (rng.uniform(0.9, 1.1, shape) if name == "value" else 1.0)
        changed[name] = array
    # keep OHLC rows mostly consistent but let some break: the cleaning must stay causal either way
    changed["high"][later] = np.maximum(changed["high"][later], changed["close"][later])
    return dataclasses.replace(panel, **changed)


def assert_day_equal(before, after, day: int) -> None:
    np.testing.assert_array_equal(before.window(day), after.window(day))
    np.testing.assert_array_equal(before.mask[day], after.mask[day])
    edges_before, attr_before = before.graph(day)
    edges_after, attr_after = after.graph(day)
    np.testing.assert_array_equal(edges_before, edges_after)
    np.testing.assert_array_equal(attr_before, attr_after)


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(
    day=st.integers(min_value=CONFIG.lookback, max_value=len(BASE_PANEL.dates) - 2),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
    jumps=st.booleans(),
)
def test_prices_after_day_t_do_not_change_day_t(day: int, seed: int, jumps: bool) -> None:
    changed = perturbed_after(BASE_PANEL, day, np.random.default_rng(seed), jumps)
    after = build_from_panel(changed, CONFIG)
    assert_day_equal(BASE, after, day)
    # the perturbation did reach the future: some later feature changed (the test can fail)
    later = slice(day + 1, None)
    assert not np.array_equal(BASE.features[later], after.features[later])


def test_features_of_every_earlier_day_are_unchanged_too() -> None:
    day = 150
    after = build_from_panel(perturbed_after(BASE_PANEL, day, np.random.default_rng(0), True), CONFIG)
    np.testing.assert_array_equal(BASE.features[: day + 1], after.features[: day + 1])
    np.testing.assert_array_equal(BASE.mask[: day + 1], after.mask[: day + 1])


def test_targets_do_look_ahead_and_are_kept_apart() -> None:
    """The h-day target of day t depends on day t+h: targets are the only forward-looking arrays."""
    day = 150
    after = build_from_panel(perturbed_after(BASE_PANEL, day, np.random.default_rng(1), False), CONFIG)
    assert not np.allclose(BASE.raw_targets[day], after.raw_targets[day], equal_nan=True)


def test_no_look_ahead_on_the_real_pse_panel() -> None:
    config = DataConfig(market="pse", cache_dir=None)
    panel = read_market(config)
    day = int(np.searchsorted(panel.dates, np.datetime64("2016-06-01")))
    base = build_from_panel(panel, config)
    after = build_from_panel(perturbed_after(panel, day, np.random.default_rng(7), True), config)
    assert base.codes == after.codes
    assert_day_equal(base, after, day)


@pytest.mark.parametrize("day", [25, 120, 219])
def test_batch_window_ends_on_its_own_day(day: int) -> None:
    """The last look-back step of day t is the feature row of day t itself, not t+1."""
    window = BASE.window(day)
    masked = BASE.mask[day]
    np.testing.assert_array_equal(window[masked, -1, :], BASE.features[day][masked])


# ---------------------------------------------------------------------------------------- universe

PIT_CONFIG = dataclasses.replace(CONFIG, coverage_window=40, min_coverage=0.8)


def with_gaps(panel: RawPanel, rng: np.random.Generator) -> RawPanel:
    """A copy with blocks of missing prices (10-30 days) in a third of the stocks, so that stocks leave
    and re-enter a trailing-coverage universe."""
    changed = {name: getattr(panel, name).copy() for name in ("open", "high", "low", "close", "value")}
    n_days, n_stocks = panel.close.shape
    for stock in rng.choice(n_stocks, size=n_stocks // 3, replace=False):
        start = int(rng.integers(20, n_days - 30))
        stop = start + int(rng.integers(10, 31))
        for array in changed.values():
            array[start:stop, stock] = np.nan
    return dataclasses.replace(panel, **changed)


GAPPY_PANEL = with_gaps(BASE_PANEL, np.random.default_rng(21))
GAPPY = build_from_panel(GAPPY_PANEL, PIT_CONFIG)


def delisted_after(panel: RawPanel, day: int, stocks: np.ndarray) -> RawPanel:
    """A copy where `stocks` have no price after `day` (delisted), other later prices unchanged."""
    changed = {name: getattr(panel, name).copy() for name in ("open", "high", "low", "close", "value")}
    for array in changed.values():
        array[day + 1 :, stocks] = np.nan
    return dataclasses.replace(panel, **changed)


def members(dataset, day: int) -> dict[str, np.ndarray]:
    """Universe members of day t by code, with their feature row of that day."""
    return {code: dataset.features[day, i] for i, code in enumerate(dataset.codes) if dataset.mask[day, i]}


def test_the_universe_moves_over_time() -> None:
    """The gaps do take stocks out of the universe and back in: membership is a function of the day."""
    universe = GAPPY.mask[GAPPY.quality_report["first_day"] :]
    assert (~universe.all(axis=0)).sum() >= 4  # some stocks are out on some days
    assert len({tuple(row) for row in universe}) > 5


@settings(deadline=None, max_examples=20, suppress_health_check=[HealthCheck.too_slow])
@given(
    day=st.integers(min_value=PIT_CONFIG.lookback, max_value=len(BASE_PANEL.dates) - 60),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
    n_delisted=st.integers(min_value=1, max_value=12),
    rescale=st.booleans(),
)
def test_later_prices_never_change_day_t_membership(
    day: int, seed: int, n_delisted: int, rescale: bool
) -> None:
    rng = np.random.default_rng(seed)
    stocks = rng.choice(len(GAPPY_PANEL.codes), size=n_delisted, replace=False)
    changed = delisted_after(GAPPY_PANEL, day, stocks)
    if rescale:
        changed = perturbed_after(changed, day, rng, jumps=True)
    after = build_from_panel(changed, PIT_CONFIG)
    before_members, after_members = members(GAPPY, day), members(after, day)
    assert sorted(before_members) == sorted(after_members)
    for code, row in before_members.items():
        np.testing.assert_array_equal(row, after_members[code])
    # the delisting did reach the future: the delisted stocks are out of the universe later on
    gone = [GAPPY_PANEL.codes[s] for s in stocks]
    late = members(after, len(BASE_PANEL.dates) - 1)
    assert not set(gone) & set(late)
