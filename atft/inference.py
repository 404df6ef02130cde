"""Predictions of a trained model as the long predictions frame of docs/architecture.md.

Every path that turns a model into numbers (validation in the trainer, export, `evaluate --checkpoint`,
reload then predict) goes through `predict_frame`, which calls the model exactly one way: ``model(batch)``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
from torch import nn

from atft.checkpoint import LoadedCheckpoint, load_checkpoint, unwrap
from atft.contract import horizon_key, validate_output
from atft.metrics import FRAME_COLUMNS

log = logging.getLogger(__name__)


class DayBatches(Protocol):
    """What `predict_frame` needs from a dataset (`atft.data.MarketDataset` provides it)."""

    feature_names: Any

    def iter_batches(self, split: str) -> Iterable[Mapping[str, Any]]: ...


def quantile_column(q: float) -> str:
    """Column name of a quantile in exported frames: ``q0.1``, ``q0.5``, ``q0.25``."""
    return f"q{q:g}"


def to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """The batch with its tensors moved to `device` (other values unchanged)."""
    return {
        k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()
    }


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _resolve(
    checkpoint_or_model: Path | str | LoadedCheckpoint | nn.Module,
) -> tuple[nn.Module, list[str] | None]:
    if isinstance(checkpoint_or_model, (str, Path)):
        checkpoint_or_model = load_checkpoint(Path(checkpoint_or_model))
    if isinstance(checkpoint_or_model, LoadedCheckpoint):
        names = checkpoint_or_model.metadata.get("user", {}).get("feature_names")
        return checkpoint_or_model.model, names
    if isinstance(checkpoint_or_model, nn.Module):
        return checkpoint_or_model, None
    raise TypeError(
        f"predict_frame expects a checkpoint path, a LoadedCheckpoint or a model; received "
        f"{type(checkpoint_or_model).__name__}."
    )


def batch_frame(
    output: Mapping[str, Any],
    batch: Mapping[str, Any],
    horizons: tuple[int, ...],
    quantiles: tuple[float, ...],
) -> pd.DataFrame:
    """Long rows (one per masked-in stock and horizon) of one day's model output."""
    mask = batch["mask"].detach().cpu().numpy().astype(bool)  # (N,)
    codes = np.asarray(batch["codes"], dtype=object)[mask]
    raw = batch["raw_targets"].detach().float().cpu().numpy()[mask]  # (M, H)
    pieces = []
    for column, horizon in enumerate(horizons):
        key = horizon_key(horizon)
        values = output["predictions"][key].detach().float().cpu().numpy()[mask]  # (M, Q)
        piece = {
            "date": np.repeat(np.datetime64(str(batch["date"]), "ns"), len(codes)),
            "code": codes,
            "horizon": np.full(len(codes), horizon, dtype=np.int64),
            "prediction": output["point"][key].detach().float().cpu().numpy()[mask],
            "target": raw[:, column],
        }
        piece |= {quantile_column(q): values[:, i] for i, q in enumerate(quantiles)}
        pieces.append(pd.DataFrame(piece))
    return pd.concat(pieces, ignore_index=True)


@torch.no_grad()
def predict_frame(
    checkpoint_or_model: Path | str | LoadedCheckpoint | nn.Module, dataset: DayBatches, split: str
) -> pd.DataFrame:
    """Predict every day of `split`; return date, code, horizon, prediction, target and one column per quantile.

    Rows are the masked-in stocks of each day; ``target`` is the raw forward return (NaN when unknown).
    The model runs in eval mode on its own device; its feature names must match the dataset's.
    """
    model, names = _resolve(checkpoint_or_model)
    plain = unwrap(model)
    config = plain.config
    if names is not None and list(names) != list(dataset.feature_names):
        raise ValueError(
            f"the checkpoint was trained on features {list(names)[:5]}... ({len(names)}) but the dataset has "
            f"{list(dataset.feature_names)[:5]}... ({len(dataset.feature_names)}); use the data config stored "
            "in the checkpoint."
        )
    was_training = model.training
    model.eval()
    device = model_device(model)
    frames = []
    try:
        for batch in dataset.iter_batches(split):
            output = model(to_device(batch, device))
            validate_output(
                output,
                n_stocks=int(batch["mask"].shape[0]),
                horizons=config.horizons,
                n_quantiles=len(config.quantiles),
            )
            frames.append(batch_frame(output, batch, tuple(config.horizons), tuple(config.quantiles)))
    finally:
        model.train(was_training)
    if not frames:
        columns = [*FRAME_COLUMNS, *(quantile_column(q) for q in config.quantiles)]
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    return pd.concat(frames, ignore_index=True)
