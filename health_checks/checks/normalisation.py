"""The normalisation family (generic, through the tree's probe): no norm module is fed an input constant
along its axis (HC043), and the modules the probe declares adaptive still are (HC051).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from health_checks.checks.probing import batches, module_hooks
from health_checks.context import CheckContext
from health_checks.core import Check, Details, NotApplicable, Outcome, Severity, Status
from health_checks.probe import Probe, load_probe
from health_checks.watch.tensors import first_tensor as _first_tensor

# a tensor whose spread along an axis is below this share of its magnitude is constant along it
CONSTANT_TOLERANCE = 1e-6


@dataclass(frozen=True, kw_only=True)
class NormInputDetails(Details):
    """Per normalisation module: its class, the axes it normalises and whether its input was constant
    along them."""

    modules: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class AdaptiveNormDetails(Details):
    """Per module the probe declares in ``norm_axes``: its class, the axis declared, the input's rank and
    the axes the module's own class normalises (None for a module that is not a torch norm layer)."""

    modules: list[dict[str, Any]] = field(default_factory=list)


def own_axes(module: Any) -> tuple[int, ...] | None:
    """The axes a torch norm layer normalises by its class (negative: from the end; 0: the batch), or None
    for a module that is not one of them."""
    from torch import nn

    if isinstance(module, nn.LayerNorm):
        return tuple(range(-len(module.normalized_shape), 0))
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return (0,)
    if isinstance(module, nn.GroupNorm | nn.modules.instancenorm._InstanceNorm):
        return (-1,)
    if isinstance(module, nn.Identity):
        return ()
    return None


def norm_axes(probe: Probe) -> dict[str, tuple[str, tuple[int, ...]]]:
    """``{module name: (class name, axes it normalises)}`` for the torch norm layers of the model and the
    modules the probe names (at the axis the probe declares)."""
    found: dict[str, tuple[str, tuple[int, ...]]] = {}
    for name, module in probe.model.named_modules():
        kind, axes = type(module).__name__, own_axes(module)
        if axes:  # a torch norm layer (an Identity normalises nothing)
            found[name] = (kind, axes)
        if name in probe.norm_axes:
            found[name] = (kind, (int(probe.norm_axes[name]),))
    return found


class HC043(Check):
    """No normalisation module is fed an input that is constant along the axis it normalises.

    ``LayerNorm`` (its last dims), ``BatchNorm*`` (the batch), ``GroupNorm`` / ``InstanceNorm*`` (the
    last spatial dim) and every module the probe names in ``norm_axes`` (``{"encoder.norm": 1}``): a
    forward pre-hook measures the input's spread along that axis. An input constant along it (a summary
    broadcast over time with ``z.unsqueeze(1).expand(-1, T, -1)`` into a time-axis norm) is normalised to
    nothing: the module does nothing, whatever its name promises.
    """

    name = "norm-input"
    severity = Severity.MAJOR
    requires = ("HC040",)
    details_type = NormInputDetails

    def check(self, ctx: CheckContext) -> Outcome:
        import torch

        probe = load_probe(ctx)
        axes = norm_axes(probe)
        constant: dict[str, list[bool]] = {}

        def record(name: str, module: Any, args: Any) -> None:
            if name not in axes:
                return
            tensor = _first_tensor(args)
            if tensor is None or not tensor.is_floating_point() or tensor.dim() == 0:
                return
            dims = tuple(a for a in axes[name][1] if -tensor.dim() <= a < tensor.dim())
            if not dims or all(tensor.shape[d] < 2 for d in dims):
                return
            x = tensor.detach().float()
            spread = float(x.std(dim=dims).max())
            scale = float(x.abs().max())
            constant.setdefault(name, []).append(spread <= CONSTANT_TOLERANCE * max(scale, 1e-12))

        probe.model.eval()
        with torch.no_grad(), module_hooks(probe.model, pre=record):
            for batch in batches(probe, "val"):
                probe.forward(probe.model, batch)
        rows = [
            {"module": name, "kind": axes[name][0], "axes": list(axes[name][1]), "constant": all(flags)}
            for name, flags in constant.items()
        ]
        bad = [r for r in rows if r["constant"]]
        details = NormInputDetails(modules=rows)
        if bad:
            named = ", ".join(f"`{r['module']}` ({r['kind']}, axis {r['axes']})" for r in bad)
            return Outcome(
                Status.FAIL,
                f"normalisation fed an input that is constant along the axis it normalises: {named}; "
                "it normalises nothing (was a per-sample summary broadcast over that axis?)",
                details,
            )
        if not rows:
            return Outcome.passed("the model has no normalisation module on the forward path", details)
        return Outcome.passed(
            f"{len(rows)} normalisation modules see inputs that vary along their axes", details
        )


class HC051(Check):
    """The modules the probe declares as adaptive normalisation are still adaptive normalisation.

    ``Probe.norm_axes`` names the modules that normalise along an axis of their input (``{"norm": 1}``:
    a per-sample normalisation over time). Each one must exist, and must not have been replaced by a plain
    torch layer that normalises other axes: a ``LayerNorm`` (its last dims), a ``BatchNorm*`` (the batch),
    a ``GroupNorm`` / ``InstanceNorm*`` or an ``Identity`` (nothing). What it can tell: a declared module
    swapped for a torch norm layer or removed. What it cannot: a custom module of the repository's own that
    normalises the wrong axis (HC043 measures what each norm's input looks like along its axis).
    INVALID: ``self.norm = nn.LayerNorm(n_features)`` where the probe declares ``norm`` over time.
    """

    name = "adaptive-norm"
    severity = Severity.MAJOR
    requires = ("HC040",)
    details_type = AdaptiveNormDetails

    def check(self, ctx: CheckContext) -> Outcome:
        import torch

        probe = load_probe(ctx)
        if not probe.norm_axes:  # nothing to check: a skip, never a pass
            raise NotApplicable("the probe declares no adaptive normalisation (Probe.norm_axes is empty)")
        modules = dict(probe.model.named_modules())
        ranks: dict[str, int] = {}

        def record(name: str, module: Any, args: Any) -> None:
            tensor = _first_tensor(args)
            if name in probe.norm_axes and tensor is not None:
                ranks.setdefault(name, tensor.dim())

        probe.model.eval()
        with torch.no_grad(), module_hooks(probe.model, pre=record):
            probe.forward(probe.model, batches(probe, "val")[0])
        rows, problems = [], []
        for name, axis in probe.norm_axes.items():
            module = modules.get(name)
            if module is None:
                rows.append(
                    {"module": name, "kind": None, "declared_axis": axis, "rank": None, "own_axes": None}
                )
                problems.append(f"`{name}` is not a module of {type(probe.model).__name__} any more")
                continue
            kind, axes, rank = type(module).__name__, own_axes(module), ranks.get(name)
            rows.append(
                {
                    "module": name,
                    "kind": f"{type(module).__module__}.{kind}",
                    "declared_axis": axis,
                    "rank": rank,
                    "own_axes": None if axes is None else list(axes),
                }
            )
            if axes is None or rank is None:
                continue
            declared = int(axis) % rank
            if declared not in {a % rank for a in axes}:
                normalises = f"dims {list(axes)}" if axes else "nothing"
                problems.append(
                    f"`{name}` is a plain {kind}, which normalises {normalises} of its rank-{rank} input, but "
                    f"the probe declares it an adaptive normalisation along axis {axis}"
                )
        details = AdaptiveNormDetails(modules=rows)
        if problems:
            return Outcome(
                Status.FAIL,
                "; ".join(problems) + ". Was the adaptive normalisation replaced? Restore it, or update "
                "Probe.norm_axes if the change is intended.",
                details,
            )
        listed = ", ".join(f"`{r['module']}` ({r['kind'].rsplit('.', 1)[-1]})" for r in rows)
        return Outcome.passed(f"{len(rows)} declared adaptive normalisation(s) in place: {listed}", details)
