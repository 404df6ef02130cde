"""The day batch of docs/architecture.md, the on-disk cache, the calendar splits and their embargo."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from atft.data import DataConfig, DataError, MarketDataset, load_dataset
from atft.data import dataset as dataset_module
from atft.data.dataset import build_from_panel
from atft.data.graph import trailing_correlation
from atft.data.synthetic import synthetic_panel


def test_batch_has_exactly_the_contract_keys_dtypes_and_shapes(synthetic_dataset: MarketDataset) -> None:
    ds = synthetic_dataset
    day = int(ds.split_days("train")[10])
    batch = ds.batch(day)
    n, length, f, h = ds.n_stocks, ds.lookback, ds.n_features, len(ds.horizons)
    assert set(batch) == {
        "features",
        "mask",
        "edge_index",
        "edge_attr",
        "static_features",
        "targets",
        "raw_targets",
        "target_mask",
        "date",
        "codes",
    }
    expected = {
        "features": (torch.float32, (n, length, f)),
        "mask": (torch.bool, (n,)),
        "static_features": (torch.float32, (n, ds.n_static)),
        "targets": (torch.float32, (n, h)),
        "raw_targets": (torch.float32, (n, h)),
        "target_mask": (torch.bool, (n, h)),
    }
    for key, (dtype, shape) in expected.items():
        assert batch[key].dtype == dtype, key
        assert tuple(batch[key].shape) == shape, key
    assert batch["edge_index"].dtype == torch.int64 and batch["edge_index"].shape[0] == 2
    assert batch["edge_attr"].dtype == torch.float32
    assert batch["edge_attr"].shape == (batch["edge_index"].shape[1], 3)
    assert batch["date"] == str(ds.dates[day]) and len(batch["date"]) == 10
    assert batch["codes"] == ds.codes
    assert torch.isfinite(batch["features"]).all()
    assert torch.isfinite(batch["targets"]).all()


def test_masked_stocks_are_zero_and_targets_follow_the_target_mask(synthetic_dataset: MarketDataset) -> None:
    ds = synthetic_dataset
    last_day = int(ds.split_days("test")[-1])
    batch = ds.batch(last_day)  # the last day: every forward target is unknown
    assert not batch["target_mask"].any()
    assert torch.isnan(batch["raw_targets"]).all()
    assert (batch["targets"] == 0).all()
    # mask three stocks by hand, on a dataset of its own (day graphs are computed once and kept)
    ds = load_dataset(ds.config)
    some_day = int(ds.split_days("train")[0])
    ds.mask[some_day, :3] = False
    batch = ds.batch(some_day)
    assert (batch["features"][:3] == 0).all()
    edges = batch["edge_index"]
    assert not torch.isin(edges, torch.arange(3)).any()


def test_graph_edges_are_symmetric_without_self_loops_and_attributes_are_true(
    synthetic_dataset: MarketDataset,
) -> None:
    ds = synthetic_dataset
    day = int(ds.split_days("val")[5])
    edges, attr = ds.graph(day)
    pairs = set(zip(edges[0].tolist(), edges[1].tolist(), strict=True))
    assert all((b, a) in pairs for a, b in pairs)
    assert all(a != b for a, b in pairs)
    assert len(pairs) == edges.shape[1]  # no duplicate edge
    window = ds.log_ret[day - ds.config.corr_window + 1 : day + 1]
    corr = trailing_correlation(window)
    np.testing.assert_allclose(attr[:, 0], corr[edges[0], edges[1]], atol=1e-6)
    sectors = np.asarray(ds.sectors)
    np.testing.assert_array_equal(attr[:, 1], sectors[edges[0]] == sectors[edges[1]])
    subsectors = np.asarray(ds.subsectors)
    np.testing.assert_array_equal(attr[:, 2], subsectors[edges[0]] == subsectors[edges[1]])
    # every stock has at least its top-k strong links or its sector peers
    degree = np.bincount(edges[0], minlength=ds.n_stocks)
    assert (degree[ds.mask[day]] >= ds.config.sector_top_k).all()


def test_trailing_correlation_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    returns = rng.normal(size=(60, 8))
    np.testing.assert_allclose(trailing_correlation(returns), np.corrcoef(returns.T), atol=1e-6)  # float32


def test_normalised_targets_are_per_day_z_scores(synthetic_dataset: MarketDataset) -> None:
    ds = synthetic_dataset
    day = int(ds.split_days("train")[3])
    known = ds.target_mask[day, :, 0]
    z = ds.targets[day, known, 0]
    assert abs(float(z.mean())) < 1e-5
    assert float(z.std(ddof=1)) == pytest.approx(1.0, abs=1e-3)
    raw = ds.raw_targets[day, known, 0]
    assert np.corrcoef(raw, z)[0, 1] > 0.99


def test_splits_are_ordered_and_separated_by_the_embargo(synthetic_dataset: MarketDataset) -> None:
    ds = synthetic_dataset
    train, val, test = (ds.split_days(s) for s in ("train", "val", "test"))
    embargo = ds.config.effective_embargo
    assert embargo >= max(ds.horizons)
    # no label of a training day reaches the first validation day; same for validation -> test
    assert train[-1] + max(ds.horizons) < val[0]
    assert val[-1] + max(ds.horizons) < test[0]
    assert val[0] - train[-1] > embargo and test[0] - val[-1] > embargo
    assert len(set(train) | set(val) | set(test)) == len(train) + len(val) + len(test)


def test_embargo_is_raised_to_the_largest_horizon() -> None:
    config = DataConfig(market="synthetic", embargo=2, horizons=(1, 5, 30), cache_dir=None)
    assert config.effective_embargo == 30


def test_pse_default_split_is_2011_2017_2018_2019_2021(pse_dataset: MarketDataset) -> None:
    ds = pse_dataset
    first = {s: str(ds.dates[ds.split_days(s)[0]]) for s in ("train", "val", "test")}
    last = {s: str(ds.dates[ds.split_days(s)[-1]]) for s in ("train", "val", "test")}
    assert first["train"].startswith("2011-01") and last["train"].startswith("2017-")
    assert first["val"].startswith("2018-01") and last["val"].startswith("2018-")
    assert first["test"].startswith("2019-01") and last["test"].startswith("2021-12")
    # the embargo leaves at least 20 trading days between periods
    assert ds.split_days("val")[0] - ds.split_days("train")[-1] > 20


def test_pse_quality_report_finds_the_known_problems(pse_dataset: MarketDataset) -> None:
    q = pse_dataset.quality_report
    assert q["stocks_in_source"] == 257
    # point-in-time universe: no stock is dropped for its future; every stock with a close is a column, and
    # at least the 140 with a close on >= 80% of all days since 2011 (PRODUCT.md) enter it on some day
    assert q["stocks_kept"] == 257
    assert 140 <= q["stocks_ever_in_universe"] <= 257
    assert q["stocks_ever_in_universe"] + q["dropped_never_in_universe"] == q["stocks_kept"]
    assert q["stock_days_with_close"] + q["stock_days_missing"] == q["universe_stock_days"]
    # PRODUCT.md facts about the whole source since 2011: 35 OHLC breaks, zero and negative closes,
    # hundreds of >40% moves (unadjusted splits)
    assert q["source_ohlc_violations"] == 35
    assert q["source_non_positive_prices"] >= 4
    assert q["source_masked_jumps"] > 500
    # the kept universe: counts are subsets of the source's, zero returns are a real share
    for name in ("ohlc_violations", "non_positive_prices", "masked_jumps", "zero_returns"):
        assert 0 < q[name] <= q[f"source_{name}"], name
    assert 0.1 < q["zero_returns"] / q["returns"] < 0.3
    assert len(pse_dataset.sector_names) >= 6
    assert np.isfinite(pse_dataset.features).all()


def test_cache_round_trip_is_equal_and_skips_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = DataConfig(market="synthetic", n_stocks=30, n_days=300, cache_dir=str(tmp_path))
    built = load_dataset(config)
    folders = list(tmp_path.iterdir())
    assert len(folders) == 1 and folders[0].is_dir()  # one cache folder, no temporary left behind
    assert {f.name for f in folders[0].glob("*.npy")} >= {f"{key}.npy" for key in dataset_module.ARRAY_KEYS}

    def no_build(_config: DataConfig) -> None:
        raise AssertionError("the second load must read the cache, not the source")

    monkeypatch.setattr(dataset_module, "read_market", no_build)
    cached = load_dataset(config)
    for key in dataset_module.ARRAY_KEYS:
        np.testing.assert_array_equal(getattr(built, key), getattr(cached, key))
    np.testing.assert_array_equal(built.dates, cached.dates)
    np.testing.assert_array_equal(built.signal, cached.signal)
    assert built.codes == cached.codes and built.quality_report == cached.quality_report
    assert built.oracle_ic == cached.oracle_ic
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(built.split_days(split), cached.split_days(split))
    day = int(built.split_days("val")[0])
    for key in ("features", "edge_index", "edge_attr", "targets"):
        assert torch.equal(built.batch(day)[key], cached.batch(day)[key])


def test_cache_key_follows_the_config_but_not_the_cache_dir() -> None:
    base = DataConfig(market="synthetic")
    assert base.cache_key() == dataclasses.replace(base, cache_dir="/elsewhere").cache_key()
    assert base.cache_key() != dataclasses.replace(base, lookback=10).cache_key()
    assert base.cache_key() != dataclasses.replace(base, seed=1).cache_key()
    assert base.cache_key("file-a") != base.cache_key("file-b")


def test_a_corrupt_cache_file_is_rebuilt(tmp_path: Path) -> None:
    config = DataConfig(market="synthetic", n_stocks=20, n_days=300, cache_dir=str(tmp_path))
    path = dataset_module.cache_path(config)
    assert path is not None
    load_dataset(config)
    (path / "features.npy").write_bytes(b"not an array")
    ds = load_dataset(config)
    assert ds.n_stocks == 20
    assert (path / "features.npy").stat().st_size > 1000


def test_config_round_trips_through_a_dict() -> None:
    config = DataConfig(market="synthetic", horizons=(1, 3), lookback=7)
    assert DataConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match=r"unknown keys \[.bogus.\] in \[data\]"):
        DataConfig.from_dict({"market": "pse", "bogus": 1})
    with pytest.raises(ValueError, match="market"):
        DataConfig(market="nasdaq")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="panel_path"):
        DataConfig(market="panel")


def test_synthetic_market_is_seeded(synthetic_config: DataConfig, synthetic_dataset: MarketDataset) -> None:
    again = load_dataset(synthetic_config)
    np.testing.assert_array_equal(again.features, synthetic_dataset.features)
    other = load_dataset(dataclasses.replace(synthetic_config, seed=1))
    assert not np.array_equal(other.features, synthetic_dataset.features)


def test_synthetic_oracle_ic_is_positive_for_every_horizon(synthetic_dataset: MarketDataset) -> None:
    oracle = synthetic_dataset.oracle_ic
    assert oracle is not None and set(oracle) == set(synthetic_dataset.horizons)
    assert all(ic > 0.05 for ic in oracle.values())
    weaker = load_dataset(
        dataclasses.replace(synthetic_dataset.config, signal_strength=0.0, cache_dir=None)
    ).oracle_ic
    assert weaker is not None and all(abs(ic) < 0.05 for ic in weaker.values())


def test_iter_batches_walks_the_split_in_date_order(synthetic_dataset: MarketDataset) -> None:
    ds = synthetic_dataset
    dates = [batch["date"] for batch in ds.iter_batches("val")]
    assert dates == [str(ds.dates[d]) for d in ds.split_days("val")]
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
    with pytest.raises(KeyError, match="unknown split"):
        ds.split_days("holdout")


def test_predictions_frame_checks_its_shape_and_keeps_masked_in_rows(
    synthetic_dataset: MarketDataset,
) -> None:
    ds = synthetic_dataset
    days = ds.split_days("test")
    with pytest.raises(ValueError, match=r"expected \(days, stocks, horizons\)"):
        ds.predictions_frame("test", np.zeros((len(days), ds.n_stocks)))
    values = np.random.default_rng(0).normal(size=(len(days), ds.n_stocks, len(ds.horizons)))
    frame = ds.predictions_frame("test", values)
    row = frame.iloc[0]
    day = int(days[0])
    stock = ds.codes.index(row["code"])
    k = ds.horizons.index(int(row["horizon"]))
    assert row["prediction"] == values[0, stock, k]
    assert row["target"] == pytest.approx(float(ds.raw_targets[day, stock, k]))
    assert len(frame) == int(ds.mask[days].sum()) * len(ds.horizons)


def test_holding_frame_gives_a_delisted_stock_its_last_return() -> None:
    config = DataConfig(market="synthetic", n_stocks=20, n_days=300, cache_dir=None, seed=4)
    panel = synthetic_panel(config)
    dataset = build_from_panel(panel, config)
    days = dataset.split_days("test")
    day = int(days[5])
    stock = 3
    changed = {name: getattr(panel, name).copy() for name in ("open", "high", "low", "close", "value")}
    for array in changed.values():
        array[day + 3 :, stock] = np.nan  # prices end 2 days into the holding period
    delisted = build_from_panel(dataclasses.replace(panel, **changed), config)
    k = delisted.horizons.index(5)
    assert np.isnan(delisted.raw_targets[day, stock, k])  # the 5-day forward return is unknown
    frame = delisted.holding_frame("test")
    code = delisted.codes[stock]
    row = frame[(frame["date"] == pd.Timestamp(delisted.dates[day])) & (frame["code"] == code)]
    row = row[row["horizon"] == 5].iloc[0]
    close = changed["close"][:, stock]
    assert row["held_return"] == pytest.approx(close[day + 2] / close[day] - 1, rel=1e-5)
    assert bool(row["exited"])
    # a stock that keeps trading earns its forward return and has not exited
    other = frame[(frame["date"] == pd.Timestamp(delisted.dates[day])) & (frame["horizon"] == 5)]
    alive = other[other["code"] == delisted.codes[0]].iloc[0]
    assert alive["held_return"] == pytest.approx(delisted.raw_targets[day, 0, k], rel=1e-4)
    assert not bool(alive["exited"])


def test_one_split_end_alone_is_honoured() -> None:
    """`data.test_end` given alone shortens the test period (it was ignored unless train_end and val_end
    were given too); the other ends keep the market default."""
    config = DataConfig(market="synthetic", n_stocks=16, n_days=300, cache_dir=None)
    full = build_from_panel(synthetic_panel(config), config)
    last_test = full.dates[full.split_days("test")]
    cut = str(last_test[len(last_test) // 2])
    short = build_from_panel(synthetic_panel(config), dataclasses.replace(config, test_end=cut))
    assert short.dates[short.split_days("test")][-1] == np.datetime64(cut)
    np.testing.assert_array_equal(short.split_days("val"), full.split_days("val"))


def test_split_ends_that_do_not_increase_are_refused() -> None:
    config = DataConfig(market="synthetic", n_stocks=16, n_days=300, cache_dir=None, test_end="2011-02-01")
    with pytest.raises(DataError, match="do not increase"):
        build_from_panel(synthetic_panel(config), config)
