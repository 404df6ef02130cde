"""The data path at scale: memory-mapped cache, day graphs computed once, block-diagonal multi-day batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from atft.data import DataConfig, MarketDataset, load_dataset
from atft.data import dataset as dataset_module
from atft.data import graph as graph_module
from atft.data.graph import day_graph


def _count_graphs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def counting(*args, **kwargs):
        calls.append(1)
        return day_graph(*args, **kwargs)

    monkeypatch.setattr(dataset_module, "day_graph", counting)
    return calls


def test_cached_arrays_are_memory_mapped_and_graphs_computed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = DataConfig(market="synthetic", n_stocks=24, n_days=300, cache_dir=str(tmp_path))
    ds = load_dataset(config)
    assert isinstance(ds.features, np.memmap) and isinstance(ds.targets, np.memmap)
    calls = _count_graphs(monkeypatch)
    day = int(ds.split_days("val")[0])
    first = ds.graph(day)
    assert ds.graph(day) is first and len(calls) == 1  # in memory
    assert (dataset_module.cache_path(config) / "graphs" / f"{day:06d}.npz").exists()
    again = load_dataset(config)
    edge_index, edge_attr = again.graph(day)  # from graphs/ on disk, not recomputed
    assert len(calls) == 1
    np.testing.assert_array_equal(edge_index, first[0])
    np.testing.assert_array_equal(edge_attr, first[1])
    assert edge_index.dtype == np.int64


def test_memory_budget_evicts_the_oldest_graph(
    synthetic_dataset: MarketDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = load_dataset(synthetic_dataset.config)
    days = [int(d) for d in ds.split_days("train")[:3]]
    one_graph = sum(a.nbytes for a in ds.graph(days[0]))
    monkeypatch.setattr(dataset_module, "GRAPH_MEMORY_BYTES", int(1.5 * one_graph))
    ds.graph(days[1])
    ds.graph(days[2])
    assert days[0] not in ds._graphs and days[2] in ds._graphs


def test_batch_days_is_block_diagonal(synthetic_dataset: MarketDataset) -> None:
    ds = synthetic_dataset
    days = [int(d) for d in ds.split_days("train")[:3]]
    joined = ds.batch_days(days)
    n = ds.n_stocks
    assert joined["features"].shape == (3 * n, ds.lookback, ds.n_features)
    assert joined["batch"].tolist() == [i for i in range(3) for _ in range(n)]
    assert joined["dates"] == [str(ds.dates[d]) for d in days]
    offset = 0
    for i, day in enumerate(days):
        single = ds.batch(day)
        block = slice(i * n, (i + 1) * n)
        for key in ("features", "mask", "targets", "target_mask", "static_features"):
            assert torch.equal(joined[key][block], single[key]), key
        edges = single["edge_index"].shape[1]
        part = joined["edge_index"][:, offset : offset + edges]
        assert torch.equal(part - i * n, single["edge_index"])  # own block only: no edge across days
        assert torch.equal(joined["edge_attr"][offset : offset + edges], single["edge_attr"])
        offset += edges
    assert offset == joined["edge_index"].shape[1]
    with pytest.raises(ValueError, match="at least one day"):
        ds.batch_days([])


def test_out_degree_is_capped(synthetic_dataset: MarketDataset) -> None:
    config = synthetic_dataset.config
    day = int(synthetic_dataset.split_days("test")[-1])
    edge_index, _ = synthetic_dataset.graph(day)
    cap = config.top_k + config.sector_top_k
    # every link is kept in both directions, so a stock's degree is its own picks plus those picking it;
    # the total is bounded by twice the picks
    assert edge_index.shape[1] <= 2 * cap * synthetic_dataset.n_stocks


def _reference_edges(returns: np.ndarray, sectors: np.ndarray, config: DataConfig) -> set[tuple[int, int]]:
    """The definition, stock by stock: its top_k |corr| >= threshold and its sector_top_k sector peers."""
    corr = np.corrcoef(returns.T)
    n = corr.shape[0]
    links = set()
    for i in range(n):
        others = [j for j in range(n) if j != i]
        strongest = sorted(others, key=lambda j: -abs(corr[i, j]))
        links |= {(i, j) for j in strongest[: config.top_k] if abs(corr[i, j]) >= config.corr_threshold}
        peers = [j for j in strongest if sectors[j] == sectors[i]]
        links |= {(i, j) for j in peers[: config.sector_top_k]}
    return links | {(j, i) for i, j in links}


def test_day_graph_in_row_blocks_matches_the_definition(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocked float32 correlation + torch.topk pick the same edges as the per-stock definition."""
    rng = np.random.default_rng(3)
    n, window = 37, 60
    factor = rng.normal(size=(window, 4))
    returns = factor @ rng.normal(size=(4, n)) + rng.normal(size=(window, n))
    sectors = rng.integers(0, 5, size=n)
    config = DataConfig(top_k=4, corr_threshold=0.2, sector_top_k=2)
    mask = np.ones(n, dtype=bool)
    whole, attr = day_graph(returns, mask, sectors, sectors, config)
    monkeypatch.setattr(graph_module, "BLOCK_ELEMENTS", 5 * n)  # blocks of 5 rows
    blocked, blocked_attr = day_graph(returns, mask, sectors, sectors, config)
    np.testing.assert_array_equal(blocked, whole)
    np.testing.assert_array_equal(blocked_attr, attr)
    assert set(zip(*whole.tolist(), strict=True)) == _reference_edges(returns, sectors, config)
    np.testing.assert_allclose(attr[:, 0], np.corrcoef(returns.T)[whole[0], whole[1]], atol=1e-6)
