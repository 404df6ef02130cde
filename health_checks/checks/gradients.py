"""The gradients family (generic, through the tree's probe): the loss depends on the predictions (HC042),
every parameter group gets a gradient (HC044), one optimiser step changes the parameters (HC045).

The atft-only HC012 (:mod:`health_checks.checks.loss`) overlaps HC042 and HC044 on atft's own loss and
parameter groups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from health_checks import model_state
from health_checks.checks.probing import batches
from health_checks.context import CheckContext
from health_checks.core import Check, Details, Outcome, Severity, Status
from health_checks.probe import Probe, describe, load_probe

# a parameter group whose gradient norm is below this share of the largest group's gets no signal
MIN_GRAD_RATIO = 1e-6


@dataclass(frozen=True, kw_only=True)
class LossSignalDetails(Details):
    """The loss function, its value per batch, the prediction and target keys, and the prediction keys
    that received a gradient from it."""

    loss: str
    values: list[float] = field(default_factory=list)
    prediction_keys: list[str] = field(default_factory=list)
    target_keys: list[str] = field(default_factory=list)
    keys_with_gradient: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class GradientDetails(Details):
    """The largest group gradient norm, the ratio floor, and per parameter group its norm and ratio."""

    largest: float
    min_ratio: float
    groups: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class StepDetails(Details):
    """Parameters with a gradient, parameters the step changed, and those with a gradient it left alone."""

    with_gradient: int
    changed: int
    unchanged: list[str] = field(default_factory=list)


class HC042(Check):
    """The loss depends on the predictions and is not the same constant over batches.

    On each training batch: ``probe.loss(output, batch)`` is a finite scalar, some prediction of
    ``probe.predictions(output)`` receives a non-zero gradient from it, and its value differs between
    batches. A loss that matches none of the prediction keys (it looks for ``horizon_1``, the model says
    ``1d``, the targets ``ret_1d``) skips every horizon and returns the same 0: this check fails, naming
    the loss function, the prediction keys and the target keys.

    Overlaps the atft-only HC012 (:mod:`health_checks.checks.loss`), which checks atft's own loss on a
    synthetic day without a probe.
    """

    name = "loss-signal"
    severity = Severity.CRITICAL
    # a forward that is not finite (HC041) makes a NaN loss for that known reason
    requires = ("HC040", "HC041")
    details_type = LossSignalDetails

    def check(self, ctx: CheckContext) -> Outcome:
        import torch

        probe = load_probe(ctx)
        probe.model.train()
        values = []
        reached: set[str] = set()
        keys: list[str] = []
        target_keys: list[str] = []
        for batch in batches(probe, "train"):
            probe.model.zero_grad(set_to_none=True)
            output = probe.forward(probe.model, batch)
            predictions = probe.predictions(output)
            keys = sorted(predictions)
            target_keys = sorted(probe.targets(batch))
            for tensor in predictions.values():
                if tensor.requires_grad:
                    tensor.retain_grad()
            loss = probe.loss(output, batch)
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                return Outcome(
                    Status.FAIL,
                    f"{describe(probe.loss)} returned {type(loss).__name__}, expected a scalar tensor",
                )
            values.append(float(loss.detach()))
            if loss.requires_grad:
                loss.backward()
            for key, tensor in predictions.items():
                if tensor.grad is not None and float(tensor.grad.abs().sum()) > 0:
                    reached.add(key)
        probe.model.zero_grad(set_to_none=True)
        details = LossSignalDetails(
            loss=describe(probe.loss),
            values=[round(v, 6) for v in values],
            prediction_keys=keys,
            target_keys=target_keys,
            keys_with_gradient=sorted(reached),
        )
        problems = []
        if any(not math.isfinite(v) for v in values):
            problems.append(f"the loss is not finite: {details.values}")
        if not reached:
            problems.append(
                "no prediction receives a gradient from it (it does not depend on the predictions)"
            )
        if len(values) > 1 and len(set(values)) == 1:
            problems.append(f"it is the same constant {values[0]:g} on all {len(values)} batches")
        if problems:
            return Outcome(
                Status.FAIL,
                f"the loss {details.loss}: {'; '.join(problems)}. Prediction keys {keys}, target keys "
                f"{target_keys} (they need not match; check how the loss pairs each prediction with its "
                "target, and what it is handed: the watch check HC064 shows the program's own call).",
                details,
            )
        return Outcome.passed(
            f"loss {' / '.join(f'{v:.4g}' for v in values)} over {len(values)} batches; gradient reaches "
            f"{', '.join(sorted(reached))}",
            details,
        )


def grad_norms(probe: Probe) -> dict[str, float | None]:
    """Gradient norm per parameter group (the module owning the parameters), accumulated over the
    training batches; None for a group none of whose parameters got a gradient."""
    probe.model.train()
    probe.model.zero_grad(set_to_none=True)
    for batch in batches(probe, "train"):
        probe.loss(probe.forward(probe.model, batch), batch).backward()
    squares: dict[str, float | None] = {}
    for name, param in probe.model.named_parameters():
        if not param.requires_grad:
            continue
        group = name.rpartition(".")[0] or name
        if param.grad is None:
            squares.setdefault(group, None)
            continue
        squares[group] = (squares.get(group) or 0.0) + float(param.grad.detach().float().pow(2).sum())
    probe.model.zero_grad(set_to_none=True)
    return {group: None if value is None else math.sqrt(value) for group, value in squares.items()}


class HC044(Check):
    """Every parameter group gets a gradient.

    The gradient norm of each group of parameters (grouped by the module that owns them), accumulated over
    the training batches, and its ratio to the largest group's. A group with no gradient or below
    ``1e-6`` of the largest gets no training signal: a stage bypassed by a switch, a branch whose output
    is dropped, a normalisation replaced by one without parameters downstream.

    Overlaps the atft-only HC012 (:mod:`health_checks.checks.loss`), which checks that atft's loss
    reaches every stage of atft's model without a probe.
    """

    name = "gradient-flow"
    severity = Severity.CRITICAL
    # a loss without signal (HC042), a norm fed a constant (HC043) or a forward that is not finite (HC041)
    # starves groups (or fills them with NaN) for a known reason
    requires = ("HC040", "HC041", "HC042", "HC043")
    details_type = GradientDetails

    def check(self, ctx: CheckContext) -> Outcome:
        probe = load_probe(ctx)
        norms = grad_norms(probe)
        largest = max((v for v in norms.values() if v), default=0.0)
        rows = [
            {
                "group": group,
                "grad_norm": value,
                "ratio": None if value is None or not largest else value / largest,
            }
            for group, value in norms.items()
        ]
        starved = [r["group"] for r in rows if r["ratio"] is None or r["ratio"] < MIN_GRAD_RATIO]
        details = GradientDetails(largest=largest, min_ratio=MIN_GRAD_RATIO, groups=rows)
        if starved:
            return Outcome(
                Status.FAIL,
                f"{len(starved)} of {len(rows)} parameter groups of {type(probe.model).__name__} get no gradient "
                f"(norm below {MIN_GRAD_RATIO:g} of the largest): {', '.join(starved)}. Look for a switch or "
                "a branch that skips these modules (see HC047).",
                details,
            )
        weakest = min(rows, key=lambda r: r["ratio"] or 0.0)
        return Outcome.passed(
            f"all {len(rows)} parameter groups get a gradient (weakest {weakest['group']} at "
            f"{weakest['ratio']:.2e} of the largest)",
            details,
        )


class HC045(Check):
    """One optimiser step changes the parameters that got a gradient.

    ``probe.optimizer(model.parameters())``, one step on a training batch; every parameter with a non-zero
    gradient must change. INVALID: an optimiser built on a copy of the parameters, a learning rate of 0.
    """

    name = "optimiser-step"
    severity = Severity.MAJOR
    requires = ("HC040", "HC041", "HC042")
    details_type = StepDetails

    def check(self, ctx: CheckContext) -> Outcome:
        probe = load_probe(ctx)
        model = probe.model
        # the step must not change the model the other checks see: snapshot and restore its tensors in
        # place (a deepcopy raises for healthy models that cache a non-leaf tensor or use spectral_norm)
        state = model_state.snapshot(model)
        try:
            model.train()
            optimizer = probe.optimizer(model.parameters())
            batch = batches(probe, "train")[0]
            optimizer.zero_grad(set_to_none=True)
            probe.loss(probe.forward(model, batch), batch).backward()
            before = {n: p.detach().clone() for n, p in model.named_parameters()}
            with_grad = {
                n for n, p in model.named_parameters() if p.grad is not None and float(p.grad.abs().sum()) > 0
            }
            optimizer.step()
            changed = {n for n, p in model.named_parameters() if not bool((p.detach() == before[n]).all())}
        finally:
            model_state.restore(model, state)
        stuck = sorted(with_grad - changed)
        details = StepDetails(with_gradient=len(with_grad), changed=len(changed), unchanged=stuck)
        if not changed or stuck:
            return Outcome(
                Status.FAIL,
                f"the optimiser of {describe(probe.optimizer)} changed {len(changed)} parameters; "
                f"{len(stuck)} with a gradient stayed the same: {', '.join(stuck[:8]) or 'all'}",
                details,
            )
        return Outcome.passed(
            f"one step changed {len(changed)} parameters ({len(with_grad)} had a gradient)", details
        )
