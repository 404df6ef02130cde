"""Issue 24 item 3: a graph worth attending over (market-residual correlations, zero returns skipped) and
the GAT's own dropout and learning rate as config."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from atft.config import TrainConfig, load_config
from atft.data import DataConfig
from atft.data.dataset import build_from_panel
from atft.data.graph import graph_returns, market_residual, trailing_correlation
from atft.data.synthetic import synthetic_panel
from atft.model import ATFT_GAT_FAN, ModelConfig
from atft.train import parameter_groups
from tests.atft.test_data_causality import perturbed_after


def _market_driven(seed: int = 0, days: int = 250, stocks: int = 30) -> np.ndarray:
    """Returns = beta * market + independent noise: every pair correlates through the market only."""
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0, 0.02, days)
    beta = rng.uniform(0.5, 1.5, stocks)
    return beta * market[:, None] + rng.normal(0.0, 0.01, (days, stocks))


def test_residual_returns_remove_the_market_from_the_correlations() -> None:
    returns = _market_driven()
    off_diagonal = ~np.eye(returns.shape[1], dtype=bool)
    raw = trailing_correlation(returns)[off_diagonal]
    residual = trailing_correlation(market_residual(returns))[off_diagonal]
    assert raw.mean() > 0.5  # raw returns: everything looks linked
    assert abs(residual.mean()) < 0.1 and np.abs(residual).max() < 0.5


def test_residual_returns_keep_a_real_link() -> None:
    returns = _market_driven(seed=1)
    returns[:, 1] = returns[:, 0] * 0.8 + returns[:, 1] * 0.2  # stock 1 follows stock 0 beyond the market
    residual = trailing_correlation(market_residual(returns))
    assert residual[0, 1] > 0.5


def test_missing_returns_stay_missing_and_zeros_can_be_skipped() -> None:
    returns = _market_driven(seed=2, days=40, stocks=5)
    returns[3, 2], returns[5, 4] = np.nan, 0.0
    config = DataConfig(market="synthetic", graph_returns="residual", graph_skip_zero=True)
    out = graph_returns(returns, config)
    assert np.isnan(out[3, 2]) and np.isnan(out[5, 4]) and np.isfinite(np.delete(out.ravel(), [17, 29])).all()


CONFIG = DataConfig(
    market="synthetic", n_stocks=24, n_days=220, cache_dir=None, seed=3, lookback=10, graph_returns="residual"
)
PANEL = synthetic_panel(CONFIG)
BASE = build_from_panel(PANEL, CONFIG)


@pytest.mark.parametrize("day", [130, 200])
def test_residual_graph_of_day_t_ignores_later_prices(day: int) -> None:
    after = build_from_panel(perturbed_after(PANEL, day, np.random.default_rng(day), True), CONFIG)
    for before_part, after_part in zip(BASE.graph(day), after.graph(day), strict=True):
        np.testing.assert_array_equal(before_part, after_part)
    raw = build_from_panel(PANEL, dataclasses.replace(CONFIG, graph_returns="raw"))
    assert not np.array_equal(raw.graph(day)[1], BASE.graph(day)[1])  # the option changes the graph


def test_the_gat_has_its_own_dropout() -> None:
    model = ATFT_GAT_FAN(ModelConfig(hidden_size=8, gat_heads=2, attention_heads=2, gat_dropout=0.3), 4)
    assert all(conv.dropout == 0.3 for conv in model.gat.convs)
    assert model.fusion.dropout.p == 0.1  # the rest keeps model.dropout
    default = ATFT_GAT_FAN(ModelConfig(hidden_size=8, gat_heads=2, attention_heads=2), 4)
    assert all(conv.dropout == 0.1 for conv in default.gat.convs)


def test_the_gat_has_its_own_learning_rate() -> None:
    model = ATFT_GAT_FAN(ModelConfig(hidden_size=8, gat_heads=2, attention_heads=2), 4)
    groups = parameter_groups(model, TrainConfig(learning_rate=1e-3, gat_lr_scale=3.0))
    optimizer = torch.optim.AdamW(groups, lr=1e-3)
    assert [group["lr"] for group in optimizer.param_groups] == pytest.approx([1e-3, 3e-3])
    gat = {id(p) for p in model.gat.parameters()}
    assert {id(p) for p in optimizer.param_groups[1]["params"]} == gat
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))
    assert len(parameter_groups(model, TrainConfig())) == 1  # scale 1: today's single group


def test_gat_options_are_refused_out_of_range() -> None:
    with pytest.raises(ValueError, match="gat_lr_scale"):
        load_config(None, ["train.gat_lr_scale=0"])
    with pytest.raises(ValueError, match="gat_dropout"):
        load_config(None, ["model.gat_dropout=1.5"])
    with pytest.raises(ValueError, match="graph_returns"):
        load_config(None, ["data.graph_returns=sector"])
