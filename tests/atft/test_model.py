"""ATFT-GAT-FAN: shapes, quantiles, and what the use_gat / use_fan switches really do."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from atft.model import ATFT_GAT_FAN, FrequencyAdaptiveNorm, ModelConfig

CONFIG = ModelConfig(hidden_size=16, horizons=(1, 5, 20), quantiles=(0.1, 0.25, 0.5, 0.75, 0.9), dropout=0.0)


def make_batch(n: int = 8, length: int = 16, n_features: int = 4, seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    src = torch.arange(n).repeat_interleave(n)
    dst = torch.arange(n).repeat(n)
    keep = src != dst  # complete graph: every stock attends to every other
    edge_index = torch.stack([src[keep], dst[keep]])
    return {
        "features": torch.randn(n, length, n_features, generator=generator),
        "mask": torch.ones(n, dtype=torch.bool),
        "edge_index": edge_index,
        "edge_attr": torch.rand(edge_index.shape[1], 3, generator=generator),
    }


def build(**changes) -> ATFT_GAT_FAN:
    torch.manual_seed(0)
    return ATFT_GAT_FAN(dataclasses.replace(CONFIG, **changes), n_features=4).eval()


def test_predictions_have_one_head_per_horizon_and_non_crossing_quantiles() -> None:
    output = build()(make_batch())
    assert list(output["predictions"]) == ["horizon_1d", "horizon_5d", "horizon_20d"]
    for values in output["predictions"].values():
        assert values.shape == (8, 5)
        assert (values.diff(dim=1) >= 0).all(), "quantiles must be non-decreasing"
        assert values[:, 2].std() > 0, "an untrained model must not be constant across stocks"


def test_without_gat_a_stock_ignores_the_other_stocks() -> None:
    model, batch = build(use_gat=False), make_batch()
    assert model.gat is None and "gat" not in model.stages()
    before = model(batch)["point"]["horizon_5d"]
    batch["features"][1:] = torch.randn_like(batch["features"][1:])  # change every other stock
    after = model(batch)["point"]["horizon_5d"]
    torch.testing.assert_close(after[0], before[0], rtol=0, atol=1e-6)
    assert not torch.allclose(after[1:], before[1:])


def test_with_gat_a_stock_depends_on_its_neighbours() -> None:
    model, batch = build(use_gat=True), make_batch()
    before = model(batch)["point"]["horizon_5d"]
    batch["features"][1:] = torch.randn_like(batch["features"][1:])
    after = model(batch)["point"]["horizon_5d"]
    assert abs(float((after[0] - before[0]).detach())) > 1e-5, (
        "GAT on: stock 0 must see its neighbours change"
    )


def test_with_gat_an_isolated_stock_ignores_the_others() -> None:
    model, batch = build(use_gat=True), make_batch()
    touches_zero = (batch["edge_index"] == 0).any(dim=0)
    batch["edge_index"] = batch["edge_index"][:, ~touches_zero]
    batch["edge_attr"] = batch["edge_attr"][~touches_zero]
    before = model(batch)["point"]["horizon_1d"][0]
    batch["features"][1:] += 1.0
    torch.testing.assert_close(model(batch)["point"]["horizon_1d"][0], before, rtol=0, atol=1e-6)


def _dominant_wave(n: int, length: int, n_features: int, frequency: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    t = torch.arange(length, dtype=torch.float32)
    phase = torch.rand(n, 1, n_features, generator=generator) * 2 * math.pi
    return torch.sin(2 * math.pi * frequency * t[None, :, None] / length + phase)  # (N, L, F)


def test_with_fan_the_dominant_oscillation_does_not_reach_the_encoder() -> None:
    """FAN removes the top-k frequency per stock and feature, so changing that component changes nothing."""
    batch = make_batch()
    base = 0.1 * batch["features"] + 3.0 * _dominant_wave(8, 16, 4, frequency=2, seed=1)
    changed = base + 2.0 * _dominant_wave(8, 16, 4, frequency=2, seed=2)  # same frequency, other phase
    for use_fan, should_match in ((True, True), (False, False)):
        model = build(use_fan=use_fan, fan_top_k=1, fan_recompose=False)
        first = model(batch | {"features": base})["point"]["horizon_5d"]
        second = model(batch | {"features": changed})["point"]["horizon_5d"]
        assert torch.allclose(first, second, atol=1e-5) is should_match, f"use_fan={use_fan}"


@settings(deadline=None, max_examples=25)
@given(
    top_k=st.integers(1, 4),
    length=st.integers(4, 24),
    seed=st.integers(0, 10_000),
    remove_mean=st.booleans(),
)
def test_fan_residual_equals_the_numpy_reference(
    top_k: int, length: int, seed: int, remove_mean: bool
) -> None:
    x = np.random.default_rng(seed).normal(size=(3, length, 2)).astype(np.float32)
    spectrum = np.fft.rfft(x.astype(np.float64), axis=1)
    amplitude = np.abs(spectrum)
    first = 0 if remove_mean else 1
    k = min(top_k, amplitude.shape[1] - first)
    keep = np.zeros_like(amplitude)
    for i in range(3):
        for f in range(2):
            top = np.argsort(-amplitude[i, first:, f], kind="stable")[:k] + first
            keep[i, top, f] = 1.0
    expected = x - np.fft.irfft(spectrum * keep, n=length, axis=1)
    got = FrequencyAdaptiveNorm(top_k, remove_mean)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)
    if not remove_mean:
        np.testing.assert_allclose(got.mean(axis=1), x.mean(axis=1), atol=1e-4)  # the level survives


def test_fan_removes_a_pure_k_component_signal_completely() -> None:
    wave = 5.0 * _dominant_wave(4, 32, 3, frequency=3, seed=0) + 2.0 * _dominant_wave(
        4, 32, 3, frequency=7, seed=1
    )
    residual = FrequencyAdaptiveNorm(top_k=2, remove_mean=False)(wave)
    assert residual.abs().max() < 1e-4


def test_masked_stocks_do_not_change_the_others_without_edges() -> None:
    model, batch = build(use_gat=False), make_batch()
    batch["mask"][3] = False
    before = model(batch)["point"]["horizon_1d"]
    batch["features"][3] = 0.0
    after = model(batch)["point"]["horizon_1d"]
    torch.testing.assert_close(after[[0, 1, 2, 4]], before[[0, 1, 2, 4]])


def test_gradients_reach_every_parameter() -> None:
    model = build()
    model.train()
    output = model(make_batch())
    sum(v.sum() for v in output["predictions"].values()).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"parameters without gradient: {missing}"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quantiles": (0.1, 0.9)}, "must include the median"),
        ({"quantiles": (0.5, 0.1)}, "increasing"),
        ({"hidden_size": 10, "gat_heads": 4}, "divisible"),
        ({"fan_top_k": 0}, "fan_top_k"),
        ({"horizons": (1, 1)}, "distinct"),
    ],
)
def test_invalid_model_config_is_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(CONFIG, **changes)


def test_fan_recomposition_brings_the_removed_components_back_through_fan_forecast_only() -> None:
    """With fan_recompose the removed oscillation reaches the prediction, and only via `fan_forecast`."""
    batch = make_batch()
    base = 0.1 * batch["features"] + 3.0 * _dominant_wave(8, 16, 4, frequency=2, seed=1)
    changed = base + 2.0 * _dominant_wave(8, 16, 4, frequency=2, seed=2)
    model = build(use_fan=True, fan_top_k=1, fan_recompose=True)
    assert "fan_forecast" in model.stages()
    first = model(batch | {"features": base})["point"]["horizon_5d"]
    second = model(batch | {"features": changed})["point"]["horizon_5d"]
    assert not torch.allclose(first, second, atol=1e-5), "the removed components must reach the output"
    with torch.no_grad():
        model.fan_forecast.out.weight.zero_()
    first = model(batch | {"features": base})["point"]["horizon_5d"]
    second = model(batch | {"features": changed})["point"]["horizon_5d"]
    torch.testing.assert_close(first, second, rtol=0, atol=1e-5)
    assert "fan_forecast" not in build(use_fan=False).stages()


@pytest.mark.parametrize("use_gat", [True, False])
def test_a_masked_out_stock_changes_nothing_and_predicts_zero(use_gat: bool) -> None:
    """mask honoured: stock 3 masked out sends no graph message, and its outputs are 0 whatever its inputs."""
    model, batch = build(use_gat=use_gat), make_batch()
    batch["mask"][3] = False
    before = model(batch)
    batch["features"][3] = 5.0 * torch.randn_like(batch["features"][3])
    after = model(batch)
    for key, values in after["predictions"].items():
        torch.testing.assert_close(values, before["predictions"][key], rtol=0, atol=1e-6)
        assert (values[3] == 0).all()
        assert values[torch.arange(8) != 3, 2].std() > 0


def test_masked_out_stock_gets_no_message_even_when_the_graph_links_it() -> None:
    """The same check without the mask shows the graph really links stock 3 to the others."""
    model, batch = build(use_gat=True), make_batch()
    before = model(batch)["point"]["horizon_5d"]
    batch["features"][3] = 5.0 * torch.randn_like(batch["features"][3])
    after = model(batch)["point"]["horizon_5d"]
    assert not torch.allclose(after[0], before[0], atol=1e-5), "unmasked, stock 3 reaches stock 0"


def test_missing_lookback_steps_are_not_attended_to() -> None:
    """Steps zero-filled as missing do not reach the prediction through attention; data there would."""
    model = build(use_fan=False, use_gat=False)
    batch = make_batch()
    batch["features"][:, :5] = 0.0  # the first 5 steps of every stock are missing
    base = model(batch)["point"]["horizon_5d"]
    temporal = model.temporal
    h = torch.randn(8, 16, 16)
    valid = torch.ones(8, 16, dtype=torch.bool)
    valid[:, :5] = False
    out = temporal(h, valid)
    h_changed = h.clone()
    h_changed[:, :5] = 100.0 * torch.randn(8, 5, 16)  # garbage on the missing steps
    torch.testing.assert_close(temporal(h_changed, valid), out, rtol=0, atol=1e-5)
    assert not torch.allclose(temporal(h_changed, None), temporal(h, None), atol=1e-3)
    assert torch.isfinite(base).all()
    everything_missing = make_batch()
    everything_missing["features"][2] = 0.0  # a stock with no valid step at all stays finite
    assert torch.isfinite(model(everything_missing)["point"]["horizon_5d"]).all()


@pytest.mark.parametrize("encoder", ["gru", "last"])
def test_the_other_encoders_give_the_same_outputs_shapes(encoder: str) -> None:
    model = build(encoder=encoder, use_fan=False, use_gat=False)
    assert type(model.temporal).__name__ == {"gru": "RecurrentEncoder", "last": "LatestStep"}[encoder]
    output = model(make_batch())
    assert all(v.shape == (8, 5) and v[:, 2].std() > 0 for v in output["predictions"].values())


@pytest.mark.parametrize(("encoder", "reads_history"), [("attention", True), ("gru", True), ("last", False)])
def test_only_the_last_step_encoder_ignores_earlier_steps(encoder: str, reads_history: bool) -> None:
    model = build(encoder=encoder, use_fan=False)
    batch = make_batch()
    changed = dict(batch, features=batch["features"].clone())
    changed["features"][:, :-1] += 1.0  # every step but today's
    before, after = model(batch)["point"]["horizon_5d"], model(changed)["point"]["horizon_5d"]
    assert (not torch.allclose(before, after)) is reads_history


def test_an_unknown_encoder_is_refused() -> None:
    with pytest.raises(ValueError, match=r"model\.encoder"):
        ModelConfig(encoder="transformer")
