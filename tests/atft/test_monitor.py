"""TrainingMonitor: a short synthetic training loop writes TensorBoard event files that read back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from atft.config import load_config
from atft.data import MarketDataset
from atft.loss import QuantileCorrelationLoss
from atft.model import ATFT_GAT_FAN
from atft.monitor import TrainingMonitor, grad_norms, track
from atft.train import validate
from tests.atft.tiny import TINY_MODEL


def _events(out_dir: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(out_dir), size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()
    return accumulator


def _short_run(dataset: MarketDataset, out_dir: Path, *, epochs: int, steps: int) -> None:
    """Train a tiny model for `epochs` x `steps` days, logging through a TrainingMonitor."""
    torch.manual_seed(0)
    config = load_config(None, TINY_MODEL)
    first = dataset.batch(dataset.split_days("train")[0])
    model = ATFT_GAT_FAN(config.model, dataset.n_features, int(first["static_features"].shape[1]))
    loss_fn = QuantileCorrelationLoss(config.loss, config.model.horizons, config.model.quantiles)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    stages = model.stages()
    days = list(dataset.split_days("train"))[:steps]
    step = 0
    captured: dict[str, torch.Tensor] = {}
    with TrainingMonitor(out_dir, progress=False) as monitor:
        for epoch in range(epochs):
            monitor.start_epoch(epoch, steps=len(days))
            model.train()
            for day in days:
                loss, _ = loss_fn(model(dataset.batch(day)), dataset.batch(day))
                optimizer.zero_grad()
                loss.backward()
                norms = grad_norms(stages)
                optimizer.step()
                monitor.log_step(step, loss=float(loss.detach()), lr=1e-3, grad_norms=norms)
                step += 1
            spreads: dict[str, dict] = {}
            model.eval()
            batch = dataset.batch(dataset.split_days("val")[0])
            handles = [
                m.register_forward_hook(lambda _m, _i, out, n=name: captured.__setitem__(n, out))
                for name, m in stages.items()
            ]
            with torch.no_grad():
                model(batch)
            for handle in handles:
                handle.remove()
            for name, tensor in captured.items():
                if isinstance(tensor, torch.Tensor) and tensor.shape[0] == batch["mask"].shape[0]:
                    values = tensor[batch["mask"]].reshape(int(batch["mask"].sum()), -1)
                    unit_std = values.std(dim=0)
                    spreads[name] = {"std": float(unit_std.mean()), "unit_std": unit_std}
            monitor.log_epoch(epoch, metrics=validate(model, dataset, "val"), stage_stats=spreads)


def test_event_files_read_back(synthetic_dataset: MarketDataset, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="atft.monitor")
    _short_run(synthetic_dataset, tmp_path, epochs=2, steps=3)
    assert list(tmp_path.glob("events.out.tfevents.*")), "no event file written"
    events = _events(tmp_path)
    tags = events.Tags()
    loss = events.Scalars("train/loss")
    assert [e.step for e in loss] == list(range(6))
    assert all(e.value > 0 for e in loss)
    assert [e.value for e in events.Scalars("train/lr")] == pytest.approx([1e-3] * 6)
    assert any(t.startswith("grad_norm/") for t in tags["scalars"])
    for horizon in synthetic_dataset.horizons:
        for key in ("ic", "rank_ic", "scale_ratio"):
            assert [e.step for e in events.Scalars(f"val/{key}/h{horizon}")] == [0, 1]
    assert any(t.startswith("stage/") and t.endswith("/std") for t in tags["scalars"])
    histograms = [t for t in tags["histograms"] if t.endswith("/unit_std")]
    assert histograms, tags["histograms"]
    assert len(events.Histograms(histograms[0])) == 2
    # no terminal: one log line per epoch
    lines = [r.getMessage() for r in caplog.records if r.name == "atft.monitor"]
    assert len(lines) == 2 and lines[0].startswith("epoch 0: 3 steps, loss")


def test_no_tensorboard_writes_no_event_file(tmp_path: Path) -> None:
    monitor = TrainingMonitor(tmp_path / "run", tensorboard=False, progress=False)
    monitor.log_step(0, loss=1.0, lr=0.1, grad_norms={"fan": 1.0})
    monitor.log_epoch(0, metrics=[{"horizon": 1, "rank_ic": 0.1}])
    monitor.close()
    monitor.close()
    assert not (tmp_path / "run").exists()


def test_nan_metrics_are_not_plotted(tmp_path: Path) -> None:
    with TrainingMonitor(tmp_path, progress=False) as monitor:
        monitor.log_epoch(0, metrics=[{"horizon": 5, "ic": float("nan"), "rank_ic": 0.2, "split": "val"}])
    tags = _events(tmp_path).Tags()["scalars"]
    assert tags == ["val/rank_ic/h5"]


def test_track_passes_items_through() -> None:
    assert list(track(range(4), description="x", progress=False)) == [0, 1, 2, 3]
    assert list(track([1, 2], description="x", progress=True)) == [1, 2]
