"""Collapse localisation: per-stage statistics name the first stage where the cross-sectional spread dies."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from atft.config import DiagnosticsConfig
from atft.diagnostics import collect, find_collapse
from atft.loss import LossConfig, QuantileCorrelationLoss
from atft.model import ATFT_GAT_FAN, ModelConfig

CONFIG = ModelConfig(hidden_size=16, horizons=(1, 5), quantiles=(0.1, 0.5, 0.9), dropout=0.0)


def make_batches(days: int = 3, n: int = 12) -> list[dict]:
    batches = []
    for day in range(days):
        generator = torch.Generator().manual_seed(day)
        src = torch.arange(n)
        edge_index = torch.cat([torch.stack([src, (src + 1) % n]), torch.stack([(src + 1) % n, src])], dim=1)
        batches.append(
            {
                "features": torch.randn(n, 8, 5, generator=generator),
                "mask": torch.ones(n, dtype=torch.bool),
                "edge_index": edge_index,
                "edge_attr": torch.rand(edge_index.shape[1], 3, generator=generator),
                "targets": torch.randn(n, 2, generator=generator),
                "target_mask": torch.ones(n, 2, dtype=torch.bool),
            }
        )
    return batches


def build() -> ATFT_GAT_FAN:
    torch.manual_seed(0)
    return ATFT_GAT_FAN(CONFIG, n_features=5)


def loss_fn() -> QuantileCorrelationLoss:
    return QuantileCorrelationLoss(LossConfig(), CONFIG.horizons, CONFIG.quantiles)


def test_healthy_model_has_no_collapse_and_every_stage_is_reported() -> None:
    report = collect(build(), make_batches(), loss_fn=loss_fn())
    stages = [row["stage"] for row in report.rows]
    assert stages == [
        "fan",
        "vsn",
        "projection",
        "temporal",
        "fan_forecast",
        "gat",
        "fusion",
        "head_input",
        "head_1d",
        "head_5d",
    ]
    assert report.collapse_stage is None and report.days == 3
    for row in report.rows:
        assert row["std"] > 0 and row["min"] <= row["mean"] <= row["max"]
        assert 0.0 <= row["dead_share"] <= 1.0
        if row["stage"] == "fan":  # FAN has no parameters and sees the raw input: no gradient flows into it
            assert row["grad_norm"] is None
        else:
            assert row["grad_norm"] is not None and row["grad_norm"] > 0, row["stage"]


def test_a_head_with_constant_output_is_localised_to_that_head() -> None:
    model = build()
    with torch.no_grad():
        model.heads["horizon_5d"].mlp[-1].weight.zero_()  # head 5d now outputs its bias for every stock
    report = collect(model, make_batches(), loss_fn=loss_fn())
    assert report.collapse_stage == "head_5d"
    row = next(r for r in report.rows if r["stage"] == "head_5d")
    assert row["std"] < 1e-6 and row["dead_share"] == 1.0
    assert "**head_5d**" in report.to_markdown()


def test_a_dead_encoder_stage_is_localised_before_the_heads() -> None:
    model = build()
    with torch.no_grad():
        model.projection.linear.weight.zero_()  # projection ignores its input: all stocks look alike
    report = collect(model, make_batches())
    assert report.collapse_stage == "projection"


def test_without_gat_the_stage_is_absent_and_switches_filter_stages() -> None:
    torch.manual_seed(0)
    model = ATFT_GAT_FAN(ModelConfig(**{**CONFIG.__dict__, "use_gat": False}), n_features=5)
    heads_only = collect(model, make_batches(), config=DiagnosticsConfig(enabled=True, encoder=False))
    assert [row["stage"] for row in heads_only.rows] == ["head_input", "head_1d", "head_5d"]
    assert all(row["grad_norm"] is None for row in heads_only.rows)


def test_collect_leaves_the_model_as_it_was() -> None:
    model = build()
    model.train()
    sentinel = [torch.full_like(p, 7.0) for p in model.parameters()]
    for p, g in zip(model.parameters(), sentinel, strict=True):
        p.grad = g
    collect(model, make_batches(), loss_fn=loss_fn())
    assert model.training
    assert all(p.grad is g for p, g in zip(model.parameters(), sentinel, strict=True))
    assert not any(m._forward_hooks for m in model.modules())


def test_find_collapse_uses_absolute_and_relative_thresholds() -> None:
    rows = [{"stage": "a", "std": 1.0}, {"stage": "b", "std": 0.5}, {"stage": "c", "std": 0.001}]
    assert find_collapse(rows, ratio=0.01, absolute=1e-6) == "c"
    assert find_collapse(rows, ratio=0.0001, absolute=1e-6) is None
    assert find_collapse([{"stage": "x", "std": 0.0}], ratio=0.01, absolute=1e-6) == "x"


def test_markdown_and_plot(tmp_path: Path) -> None:
    report = collect(build(), make_batches(), loss_fn=loss_fn())
    text = report.to_markdown()
    assert text.count("\n| ") == len(report.rows) and "No stage collapses" in text
    png = report.plot(tmp_path / "diag.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000


def test_no_usable_day_is_an_error() -> None:
    batch = make_batches(1)[0]
    batch["mask"][:] = False
    with pytest.raises(ValueError, match="no day"):
        collect(build(), [batch])
