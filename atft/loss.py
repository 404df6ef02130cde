"""Training loss of ATFT-GAT-FAN, computed in fp32.

Per horizon: pinball (quantile) loss of every quantile against the per-day normalised target, plus
``correlation_weight * (1 - corr)`` where corr is the differentiable Pearson correlation, across the
day's stocks, of the median prediction with the target. Horizons are averaged with optional weights.

The project we replace handed its loss the wrong dict, matched no horizon and returned 0, so training
did nothing for weeks. Here a loss that cannot depend on the predictions raises `LossContractError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from atft.contract import horizon_key


class LossContractError(ValueError):
    """The loss was asked to compute something that does not depend on the predictions."""


@dataclass(frozen=True)
class LossConfig:
    """Weights of the loss terms (stored in every checkpoint)."""

    pinball_weight: float = 1.0  # quantile (pinball) loss on the normalised targets
    correlation_weight: float = 0.5  # weight of (1 - per-day Pearson correlation of the median)
    horizon_weights: tuple[float, ...] = ()  # one per horizon; empty = all equal

    def __post_init__(self) -> None:
        if self.pinball_weight < 0 or self.correlation_weight < 0:
            raise ValueError("loss.pinball_weight and loss.correlation_weight must be >= 0.")
        if self.pinball_weight == 0 and self.correlation_weight == 0:
            raise ValueError(
                "loss.pinball_weight and loss.correlation_weight are both 0: the loss would be constant."
            )


def pinball_loss(predictions: torch.Tensor, target: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Mean pinball loss. predictions (M, Q), target (M,), quantiles (Q,) -> scalar."""
    error = target.unsqueeze(1) - predictions  # (M, Q)
    return torch.maximum(quantiles * error, (quantiles - 1) * error).mean()


def pearson(prediction: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Differentiable Pearson correlation of two (M,) vectors (0 when either is constant)."""
    p = prediction - prediction.mean()
    t = target - target.mean()
    return (p * t).sum() / (p.norm() * t.norm() + eps)


class QuantileCorrelationLoss:
    """Callable ``loss(output, batch) -> (scalar, per-horizon floats)`` for one day."""

    def __init__(self, config: LossConfig, horizons: Sequence[int], quantiles: Sequence[float]) -> None:
        if config.horizon_weights and len(config.horizon_weights) != len(horizons):
            raise ValueError(
                f"loss.horizon_weights has {len(config.horizon_weights)} entries, expected one per horizon "
                f"{list(horizons)}."
            )
        self.config = config
        self.horizons = tuple(horizons)
        self.quantiles = torch.tensor(list(quantiles), dtype=torch.float32)
        self.median_index = list(quantiles).index(0.5)
        weights = config.horizon_weights or (1.0,) * len(self.horizons)
        self.weights = [w / sum(weights) for w in weights]

    def __call__(self, output: Mapping, batch: Mapping) -> tuple[torch.Tensor, dict[str, float]]:
        if not isinstance(output, Mapping) or "predictions" not in output:
            keys = sorted(output) if isinstance(output, Mapping) else type(output).__name__
            raise LossContractError(
                f"the loss expects the model output dict with key 'predictions'; received {keys}. "
                "Pass model(batch) unchanged."
            )
        predictions = output["predictions"]
        wanted = [horizon_key(h) for h in self.horizons]
        missing = [key for key in wanted if key not in predictions]
        if missing:
            raise LossContractError(
                f"output['predictions'] has keys {sorted(predictions)} but the loss needs {wanted}; "
                f"missing {missing}. The model's and the loss's horizons must agree."
            )
        for key in ("targets", "target_mask", "mask"):
            if key not in batch:
                raise LossContractError(
                    f"batch is missing {key!r}, which the loss needs; it has keys {sorted(batch)}."
                )
        targets = batch["targets"].float()  # (N, H)
        valid = batch["target_mask"] & batch["mask"].unsqueeze(1)  # (N, H)
        if targets.shape[1] != len(self.horizons):
            raise LossContractError(
                f"batch['targets'] has {targets.shape[1]} horizons, the loss expects {len(self.horizons)} "
                f"({list(self.horizons)})."
            )
        quantiles = self.quantiles.to(targets.device)
        total = torch.zeros((), device=targets.device)
        used = 0
        parts: dict[str, float] = {}
        for column, (key, weight) in enumerate(zip(wanted, self.weights, strict=True)):
            rows = valid[:, column]
            if int(rows.sum()) < 2:
                continue
            pred = predictions[key][rows].float()  # (M, Q) in fp32 whatever the autocast dtype
            target = targets[rows, column]  # (M,)
            pin = pinball_loss(pred, target, quantiles)
            corr = pearson(pred[:, self.median_index], target)
            term = self.config.pinball_weight * pin + self.config.correlation_weight * (1 - corr)
            total = total + weight * term
            used += 1
            parts[f"pinball_{key}"] = float(pin.detach())
            parts[f"corr_{key}"] = float(corr.detach())
        if used == 0:
            raise LossContractError(
                f"no horizon of the day {batch.get('date', '?')} has 2 or more valid targets, so the loss does "
                "not depend on the predictions; skip such days before calling the loss."
            )
        if any(p.requires_grad for p in predictions.values()) and not total.requires_grad:
            raise LossContractError("the loss is detached from the predictions; gradients would be zero.")
        if not torch.isfinite(total):
            raise LossContractError(
                f"the loss is {float(total)} on day {batch.get('date', '?')}; expected finite."
            )
        return total, parts
