"""Training loss of ATFT-GAT-FAN, computed in fp32.

Per day and horizon, a weighted sum of up to four terms on the per-day normalised target:

    pinball_weight     * pinball loss of every quantile          (learns the spread)
    correlation_weight * (1 - Pearson(median, target))           (per-day IC: learns the order)
    rank_weight        * (1 - Pearson(median, ranks of target))  (per-day rank IC: order, robust to tails)
    point_weight       * mean squared error of the median        (a point forecast)

The correlations are across the day's stocks and differentiable in the prediction (the target's ranks
are constants). Horizons are averaged with `horizon_weights` (all equal when empty), so the judged
horizon can carry more of the network than, say, 1d, which is largely bid-ask bounce on thin markets.

A batch of several days (``batch["batch"]``, int64 [N]: the day of every row, as
`torch_geometric.data.Batch` numbers its graphs) gets every term computed per day, never across days,
and the loss is the mean of the day losses over the days with a usable target: the same loss, and
gradient, as the mean of one-day steps on those days.

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


LOSS_TERMS = ("pinball_weight", "correlation_weight", "rank_weight", "point_weight")


@dataclass(frozen=True)
class LossConfig:
    """Weights of the loss terms (stored in every checkpoint)."""

    pinball_weight: float = 1.0  # quantile (pinball) loss on the normalised targets
    correlation_weight: float = 0.5  # weight of (1 - per-day Pearson correlation of the median)
    rank_weight: float = 0.0  # weight of (1 - per-day Pearson correlation of the median with target ranks)
    point_weight: float = 0.0  # weight of the mean squared error of the median
    horizon_weights: tuple[float, ...] = ()  # one per horizon; empty = all equal

    def __post_init__(self) -> None:
        weights = {name: getattr(self, name) for name in LOSS_TERMS}
        negative = [f"loss.{name}" for name, value in weights.items() if value < 0]
        if negative:
            raise ValueError(f"{', '.join(negative)} must be >= 0.")
        if not any(weights.values()):
            raise ValueError(f"loss weights {', '.join(LOSS_TERMS)} are all 0: the loss would be constant.")
        if any(w < 0 for w in self.horizon_weights) or (
            self.horizon_weights and not any(self.horizon_weights)
        ):
            raise ValueError(
                f"loss.horizon_weights must be >= 0 and not all 0; found {list(self.horizon_weights)}."
            )


def pinball_loss(predictions: torch.Tensor, target: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Mean pinball loss. predictions (M, Q), target (M,), quantiles (Q,) -> scalar."""
    error = target.unsqueeze(1) - predictions  # (M, Q)
    return torch.maximum(quantiles * error, (quantiles - 1) * error).mean()


def _segment_sum(values: torch.Tensor, segment: torch.Tensor, n_segments: int) -> torch.Tensor:
    """Sums of `values` (M,) per segment id (M,) in 0..n_segments-1 -> (n_segments,)."""
    return torch.zeros(n_segments, dtype=values.dtype, device=values.device).index_add_(0, segment, values)


def _safe_sqrt(values: torch.Tensor) -> torch.Tensor:
    """sqrt that is 0, with a zero (not NaN) gradient, where `values` is 0 (a constant day)."""
    positive = values > 0
    return torch.where(positive, torch.where(positive, values, torch.ones_like(values)).sqrt(), 0.0)


def segment_pinball(
    predictions: torch.Tensor, target: torch.Tensor, quantiles: torch.Tensor, segment: torch.Tensor, n: int
) -> torch.Tensor:
    """`pinball_loss` of every segment (day). predictions (M, Q), target (M,), segment (M,) -> (n,)."""
    error = target.unsqueeze(1) - predictions  # (M, Q)
    per_row = torch.maximum(quantiles * error, (quantiles - 1) * error).mean(dim=1)  # (M,)
    count = _segment_sum(torch.ones_like(per_row), segment, n)  # (n,)
    return _segment_sum(per_row, segment, n) / count.clamp(min=1)


def segment_pearson(
    prediction: torch.Tensor, target: torch.Tensor, segment: torch.Tensor, n: int, eps: float = 1e-8
) -> torch.Tensor:
    """`pearson` of every segment (day). prediction (M,), target (M,), segment (M,) -> (n,)."""
    count = _segment_sum(torch.ones_like(prediction), segment, n).clamp(min=1)  # (n,)
    p = prediction - (_segment_sum(prediction, segment, n) / count)[segment]  # (M,) centred per day
    t = target - (_segment_sum(target, segment, n) / count)[segment]
    norms = _safe_sqrt(_segment_sum(p * p, segment, n)) * _safe_sqrt(_segment_sum(t * t, segment, n))
    return _segment_sum(p * t, segment, n) / (norms + eps)


def segment_ranks(values: torch.Tensor, segment: torch.Tensor, n: int) -> torch.Tensor:
    """Rank (0, 1, ...) of every value within its segment (day), ties in input order. (M,) -> (M,) float."""
    order = torch.argsort(values, stable=True)
    order = order[torch.argsort(segment[order], stable=True)]  # by segment, then by value
    count = _segment_sum(torch.ones_like(values), segment, n)  # (n,)
    start = torch.cumsum(count, 0) - count  # (n,) first position of each segment
    position = torch.arange(len(values), device=values.device, dtype=values.dtype)
    ranks = torch.empty_like(values)
    ranks[order] = position - start[segment[order]]
    return ranks


def segment_mse(
    prediction: torch.Tensor, target: torch.Tensor, segment: torch.Tensor, n: int
) -> torch.Tensor:
    """Mean squared error of every segment (day). prediction (M,), target (M,), segment (M,) -> (n,)."""
    count = _segment_sum(torch.ones_like(prediction), segment, n).clamp(min=1)
    return _segment_sum((prediction - target) ** 2, segment, n) / count


def pearson(prediction: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Differentiable Pearson correlation of two (M,) vectors (0 when either is constant)."""
    p = prediction - prediction.mean()
    t = target - target.mean()
    return (p * t).sum() / (p.norm() * t.norm() + eps)


def day_ids(batch: Mapping, n_rows: int, device: torch.device) -> tuple[torch.Tensor, int]:
    """(day of every row (N,), number of days) of a batch: ``batch["batch"]`` or one day."""
    ids = batch.get("batch")
    if ids is None:
        return torch.zeros(n_rows, dtype=torch.long, device=device), 1
    if not isinstance(ids, torch.Tensor) or tuple(ids.shape) != (n_rows,) or ids.is_floating_point():
        shape = list(ids.shape) if isinstance(ids, torch.Tensor) else type(ids).__name__
        raise LossContractError(
            f"batch['batch'] must be an integer tensor [{n_rows}] naming the day of every row; received {shape}."
        )
    ids = ids.to(device=device, dtype=torch.long)
    return ids, int(ids.max()) + 1 if n_rows else 1


class QuantileCorrelationLoss:
    """Callable ``loss(output, batch) -> (scalar, per-horizon floats)`` for one day or a multi-day batch."""

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
        day, n_days = day_ids(batch, targets.shape[0], targets.device)
        day_total = torch.zeros(n_days, device=targets.device)  # (K,) weighted terms of each day
        day_used = torch.zeros(n_days, dtype=torch.bool, device=targets.device)
        parts: dict[str, float] = {}
        for column, (key, weight) in enumerate(zip(wanted, self.weights, strict=True)):
            rows = valid[:, column]
            segment = day[rows]  # (M,) the day of every valid row
            usable = torch.bincount(segment, minlength=n_days) >= 2  # (K,) days with 2+ valid targets
            if not bool(usable.any()):
                continue
            pred = predictions[key][rows].float()  # (M, Q) in fp32 whatever the autocast dtype
            target = targets[rows, column]  # (M,)
            median = pred[:, self.median_index]  # (M,)
            pin = segment_pinball(pred, target, quantiles, segment, n_days)  # (K,)
            corr = segment_pearson(median, target, segment, n_days)  # (K,)
            term = self.config.pinball_weight * pin + self.config.correlation_weight * (1 - corr)
            terms = {"pinball": pin, "corr": corr}
            if self.config.rank_weight:
                ranks = segment_ranks(target, segment, n_days)  # (M,) constants: no gradient
                terms["rank_corr"] = segment_pearson(median, ranks, segment, n_days)
                term = term + self.config.rank_weight * (1 - terms["rank_corr"])
            if self.config.point_weight:
                terms["mse"] = segment_mse(median, target, segment, n_days)
                term = term + self.config.point_weight * terms["mse"]
            day_total = day_total + weight * torch.where(usable, term, 0.0)
            day_used = day_used | usable
            for name, values in terms.items():
                parts[f"{name}_{key}"] = float(values.detach()[usable].mean())
        if not bool(day_used.any()):
            raise LossContractError(
                f"no horizon of the day {batch.get('date', batch.get('dates', '?'))} has 2 or more valid "
                "targets, so the loss does not depend on the predictions; skip such days before calling the loss."
            )
        total = day_total[day_used].mean()  # the mean of the one-day losses
        if any(p.requires_grad for p in predictions.values()) and not total.requires_grad:
            raise LossContractError("the loss is detached from the predictions; gradients would be zero.")
        if not torch.isfinite(total):
            raise LossContractError(
                f"the loss is {float(total)} on day {batch.get('date', '?')}; expected finite."
            )
        return total, parts
