"""The collapse family (generic, through the tree's probe): no module's output collapses across the batch
(HC046).

The atft-only HC022 (:mod:`health_checks.checks.training`) overlaps HC046: it finds the same collapse in
atft's named stages after a quick training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from health_checks.checks.probing import batches, module_hooks
from health_checks.context import CheckContext
from health_checks.core import Check, Details, Outcome, Severity, Status
from health_checks.probe import load_probe
from health_checks.watch.tensors import first_tensor as _first_tensor

# a module output whose spread across the batch is below this share of its input's spread collapsed
COLLAPSE_RATIO = 1e-6


@dataclass(frozen=True, kw_only=True)
class CollapseDetails(Details):
    """The first module whose output collapses, and per module (forward order) its input/output spread."""

    collapse_module: str | None = None
    modules: list[dict[str, Any]] = field(default_factory=list)


def _spread(tensor: Any) -> float:
    """Mean over features of the std across the batch (dim 0)."""
    return float(tensor.detach().float().reshape(tensor.shape[0], -1).std(dim=0).mean())


class HC046(Check):
    """No module's output collapses across the batch.

    Forward hooks on every named module, on the validation batches: the spread (std across the batch
    dimension, averaged over the rest) of each module's input and output. The first module, in forward
    order, whose output spread falls below ``1e-6`` of its input's is where the predictions become the
    same for every sample. INVALID: a head that multiplies by zero. VALID: the clean twin.

    Overlaps the atft-only HC022 (:mod:`health_checks.checks.training`), which finds the collapse stage
    among atft's named stages after the quick training.
    """

    name = "spread-collapse"
    severity = Severity.MAJOR
    # a norm fed an input constant along its axis (HC043) collapses its output for that known reason, and a
    # forward that is not finite (HC041) has no spread to measure
    requires = ("HC040", "HC041", "HC043")
    details_type = CollapseDetails

    def check(self, ctx: CheckContext) -> Outcome:
        import torch

        probe = load_probe(ctx)
        probe.model.eval()
        order: list[str] = []
        stats: dict[str, list[tuple[float, float]]] = {}

        def record(name: str, module: Any, args: Any, output: Any) -> None:
            inp, out = _first_tensor(args), _first_tensor(output)
            if inp is None or out is None or inp.dim() == 0 or out.dim() == 0:
                return
            if inp.shape[0] != out.shape[0] or out.shape[0] < 2 or not out.is_floating_point():
                return
            if not inp.is_floating_point():
                return
            if name not in stats:
                order.append(name)
            stats.setdefault(name, []).append((_spread(inp), _spread(out)))

        with torch.no_grad(), module_hooks(probe.model, post=record):
            for batch in batches(probe, "val"):
                probe.forward(probe.model, batch)
        rows = []
        collapsed = None
        for name in order:
            spread_in = sum(s[0] for s in stats[name]) / len(stats[name])
            spread_out = sum(s[1] for s in stats[name]) / len(stats[name])
            rows.append({"module": name, "input_spread": spread_in, "output_spread": spread_out})
            if collapsed is None and spread_in > 0 and spread_out <= COLLAPSE_RATIO * spread_in:
                collapsed = name
        details = CollapseDetails(collapse_module=collapsed, modules=rows)
        if collapsed:
            module = dict(probe.model.named_modules())[collapsed]
            return Outcome(
                Status.FAIL,
                f"the output of module `{collapsed}` ({type(module).__name__}) is the same for every sample "
                f"of the batch while its input varies: everything after it predicts a constant",
                details,
            )
        return Outcome.passed(f"no module collapses ({len(rows)} modules measured)", details)
