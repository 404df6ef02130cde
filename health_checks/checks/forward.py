"""The forward family (generic, through the tree's probe): the probe loads (HC040) and the forward pass
gives finite per-horizon predictions (HC041).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from health_checks.checks.probing import batches
from health_checks.context import CheckContext
from health_checks.core import Check, Details, Outcome, Severity, Status
from health_checks.probe import describe, load_probe


@dataclass(frozen=True, kw_only=True)
class ProbeDetails(Details):
    """The probe named in config, its label, the model's parameter count and the batches handed over."""

    probe: str | None
    label: str
    parameters: int
    train_batches: int
    val_batches: int


@dataclass(frozen=True, kw_only=True)
class ForwardDetails(Details):
    """The horizons predicted and each prediction tensor's shape."""

    horizons: list[str] = field(default_factory=list)
    shapes: dict[str, list[int]] = field(default_factory=dict)


class HC040(Check):
    """The probe of the tree loads and hands over a model and batches.

    ``[tool.health_checks] probe = "package.module:function"`` names a function that, called with the
    root of the tree, returns :class:`health_checks.probe.Probe`. Every runtime check needs it, so a
    missing or broken probe fails here and blocks them (no check passes without having run).
    INVALID: no ``probe`` key, a module that does not import, a function returning something else.
    VALID: ``tests/health_checks/fixtures/tinyrepo`` (``tinyrepo.probe:probe``).
    """

    name = "probe"
    severity = Severity.CRITICAL
    details_type = ProbeDetails

    def check(self, ctx: CheckContext) -> Outcome:
        probe = load_probe(ctx)
        n_params = sum(p.numel() for p in probe.model.parameters())
        return Outcome.passed(
            f"{probe.label}: {n_params:,} parameters, {len(probe.train_batches)} training and "
            f"{len(probe.val_batches)} validation batches",
            ProbeDetails(
                probe=ctx.settings.probe,
                label=probe.label,
                parameters=n_params,
                train_batches=len(probe.train_batches),
                val_batches=len(probe.val_batches),
            ),
        )


class HC041(Check):
    """The forward pass runs and every per-horizon prediction is finite.

    ``probe.forward`` on the validation batches in eval mode, then ``probe.predictions``: at least one
    horizon, every tensor finite. INVALID: a NaN from a division by a zero std. VALID: the clean twin.
    """

    name = "forward-finite"
    severity = Severity.CRITICAL
    requires = ("HC040",)
    details_type = ForwardDetails

    def check(self, ctx: CheckContext) -> Outcome:
        import torch

        probe = load_probe(ctx)
        probe.model.eval()
        shapes: dict[str, list[int]] = {}
        bad = []
        with torch.no_grad():
            for index, batch in enumerate(batches(probe, "val")):
                predictions = probe.predictions(probe.forward(probe.model, batch))
                if not predictions:
                    return Outcome(
                        Status.FAIL,
                        f"{describe(probe.predictions)} returned no prediction for validation batch {index}",
                    )
                for key, tensor in predictions.items():
                    shapes[key] = list(tensor.shape)
                    if not bool(torch.isfinite(tensor).all()):
                        share = float((~torch.isfinite(tensor)).float().mean())
                        bad.append(f"{key} in batch {index} ({share:.0%} not finite)")
        details = ForwardDetails(horizons=sorted(shapes), shapes=shapes)
        if bad:
            return Outcome(
                Status.FAIL,
                f"the predictions of {type(probe.model).__name__} are not finite: {', '.join(bad)}",
                details,
            )
        return Outcome.passed(f"finite predictions for {', '.join(sorted(shapes))}", details)
