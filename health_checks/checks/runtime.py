"""Runtime checks of any PyTorch model through the tree's probe (:mod:`health_checks.probe`).

Each check runs the repository's own model, loss and optimiser on the few batches the probe hands over,
and says which module, key or function is wrong. Planted INVALID / VALID cases of every check live in the
fixture repository ``tests/health_checks/fixtures/tinyrepo`` (one planted copy per bug, and a clean twin).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from health_checks import model_state
from health_checks.context import CheckContext
from health_checks.core import Check, Details, NotApplicable, Outcome, Severity, Status
from health_checks.probe import Probe, describe, load_probe
from health_checks.watch.tensors import first_tensor as _first_tensor

# batches each check feeds through the model (the probe may hand over more)
MAX_BATCHES = 3
# a parameter group whose gradient norm is below this share of the largest group's gets no signal
MIN_GRAD_RATIO = 1e-6
# a module output whose spread across the batch is below this share of its input's spread collapsed
COLLAPSE_RATIO = 1e-6
# a tensor whose spread along an axis is below this share of its magnitude is constant along it
CONSTANT_TOLERANCE = 1e-6


def _batches(probe: Probe, split: str = "train") -> list[Any]:
    batches = probe.train_batches if split == "train" else probe.val_batches
    return list(batches)[:MAX_BATCHES]


@contextmanager
def _hooks(model: Any, pre: Any = None, post: Any = None) -> Iterator[None]:
    """Forward (pre-)hooks on every named sub-module, removed on exit."""
    handles = []
    for name, module in model.named_modules():
        if not name:
            continue
        if pre is not None:
            handles.append(module.register_forward_pre_hook(lambda m, a, name=name: pre(name, m, a)))
        if post is not None:
            handles.append(module.register_forward_hook(lambda m, a, o, name=name: post(name, m, a, o)))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


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


@dataclass(frozen=True, kw_only=True)
class CollapseDetails(Details):
    """The first module whose output collapses, and per module (forward order) its input/output spread."""

    collapse_module: str | None = None
    modules: list[dict[str, Any]] = field(default_factory=list)


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
            for index, batch in enumerate(_batches(probe, "val")):
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


class HC042(Check):
    """The loss depends on the predictions and is not the same constant over batches.

    On each training batch: ``probe.loss(output, batch)`` is a finite scalar, some prediction of
    ``probe.predictions(output)`` receives a non-zero gradient from it, and its value differs between
    batches. A loss that matches none of the prediction keys (it looks for ``horizon_1``, the model says
    ``1d``, the targets ``ret_1d``) skips every horizon and returns the same 0: this check fails, naming
    the loss function, the prediction keys and the target keys.
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
        for batch in _batches(probe, "train"):
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
    for batch in _batches(probe, "train"):
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
            batch = _batches(probe, "train")[0]
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


def _spread(tensor: Any) -> float:
    """Mean over features of the std across the batch (dim 0)."""
    return float(tensor.detach().float().reshape(tensor.shape[0], -1).std(dim=0).mean())


class HC046(Check):
    """No module's output collapses across the batch.

    Forward hooks on every named module, on the validation batches: the spread (std across the batch
    dimension, averaged over the rest) of each module's input and output. The first module, in forward
    order, whose output spread falls below ``1e-6`` of its input's is where the predictions become the
    same for every sample. INVALID: a head that multiplies by zero. VALID: the clean twin.
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

        with torch.no_grad(), _hooks(probe.model, post=record):
            for batch in _batches(probe, "val"):
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
        with torch.no_grad(), _hooks(probe.model, pre=record):
            for batch in _batches(probe, "val"):
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
        with torch.no_grad(), _hooks(probe.model, pre=record):
            probe.forward(probe.model, _batches(probe, "val")[0])
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
