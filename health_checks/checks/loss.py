"""Loss sanity: positive, depends on the predictions, and every parameter group gets a gradient."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from health_checks import ml
from health_checks.checks.contract import synthetic_batch
from health_checks.context import CheckContext
from health_checks.core import Check, Details, Outcome, Severity, Status


@dataclass(frozen=True, kw_only=True)
class LossSanityDetails(Details):
    """The loss on one synthetic day and per horizon, the loss after changing every prediction, how the
    wrapper dict was refused, and the gradient norm each stage received."""

    loss: float | None = None
    per_horizon: dict[str, float] = field(default_factory=dict)
    loss_after_changing_predictions: float | None = None
    wrapper_dict_refused: str | None = None
    grad_norm_by_stage: dict[str, float] = field(default_factory=dict)


class HC012(Check):
    """The loss is positive, depends on the predictions and reaches every parameter group.

    One synthetic day through a small ATFT-GAT-FAN and ``QuantileCorrelationLoss``: the loss must be finite
    and > 0, change when the predictions change (a loss handed the wrapper dict matches no horizon and
    trains on a constant 0), and give a non-zero gradient to every stage.

    Overlaps the generic HC042 (loss signal) and HC044 (gradient flow) of
    :mod:`health_checks.checks.gradients`, which measure the same on any model through the probe; this
    one checks atft's own loss and stages on a synthetic day, without a probe.
    """

    name = "loss-sanity"
    atft_only = True
    severity = Severity.CRITICAL
    details_type = LossSanityDetails

    def check(self, ctx: CheckContext) -> Outcome:
        ml.require_atft_tree(ctx)
        import torch

        from atft.loss import LossConfig, LossContractError, QuantileCorrelationLoss
        from atft.model import ATFT_GAT_FAN, ModelConfig

        torch.manual_seed(0)
        config = ModelConfig(hidden_size=16, dropout=0.0)
        n_stocks, horizons = 12, config.horizons
        model = ATFT_GAT_FAN(config, n_features=4)
        batch = synthetic_batch(n_stocks, 8, 4, config.edge_dim)
        targets = torch.randn(n_stocks, len(horizons))
        batch |= {"targets": targets, "target_mask": torch.ones(n_stocks, len(horizons), dtype=torch.bool)}
        batch["raw_targets"] = targets * 0.02
        loss_fn = QuantileCorrelationLoss(LossConfig(), horizons, config.quantiles)
        problems: list[str] = []
        found: dict[str, Any] = {}

        output = model(batch)
        loss, parts = loss_fn(output, batch)
        value = float(loss.detach())
        found["loss"] = value
        found["per_horizon"] = {str(k): round(float(v), 6) for k, v in parts.items()}
        if not math.isfinite(value) or value <= 0:
            problems.append(f"loss is {value!r}, expected finite and > 0")

        shifted = {
            "predictions": {k: v.detach() * 3.0 + 1.0 for k, v in output["predictions"].items()},
            "point": {k: v.detach() * 3.0 + 1.0 for k, v in output.get("point", {}).items()},
        }
        other, _ = loss_fn(shifted, batch)
        found["loss_after_changing_predictions"] = float(other.detach())
        if abs(float(other.detach()) - value) < 1e-9:
            problems.append("changing every prediction leaves the loss unchanged: it does not depend on them")
        try:
            loss_fn(batch, batch)
        except LossContractError as error:
            found["wrapper_dict_refused"] = str(error)[:120]
        else:
            problems.append(
                "the loss accepted the batch dict instead of the model output (LossContractError expected)"
            )

        model.zero_grad()
        loss.backward()
        stages = model.stages() if hasattr(model, "stages") else dict(model.named_children())
        no_grad = []
        norms = {}
        for name, stage in stages.items():
            params = [p for p in stage.parameters() if p.requires_grad]
            if not params:
                continue
            norm = sum(float(p.grad.norm()) for p in params if p.grad is not None)
            norms[name] = norm
            if norm == 0.0:
                no_grad.append(name)
        found["grad_norm_by_stage"] = {k: float(f"{v:.3g}") for k, v in norms.items()}
        details = LossSanityDetails(**found)
        if no_grad:
            problems.append(f"no gradient reaches {', '.join(no_grad)}")
        if problems:
            return Outcome(Status.FAIL, "; ".join(problems) + ".", details, "pytest tests/atft -k loss")
        return Outcome.passed(
            f"loss {value:.4f} > 0, changes with the predictions, and all {len(norms)} stages get a gradient",
            details,
        )
