"""The probe: what the generic ML checks need from any PyTorch repository, and how it is loaded.

A repository names a function in ``[tool.health_checks] probe = "package.module:function"``; called with
the root of the tree under check (a :class:`pathlib.Path`), it returns a :class:`Probe`. The probe is the only thing the runtime checks (HC040-HC051)
know about the repository: they never import its code by name, so a foreign repository needs nothing of
atft, and atft's own probe (:mod:`health_checks.atft_probe`) is ordinary typed code with direct imports.

A missing or broken probe is a failure of HC040 (and, through ``requires``, of every check that needs it),
never a silent skip.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from health_checks.core import SkipCheck

if TYPE_CHECKING:
    import pandas as pd
    import torch
    from torch import nn

    from health_checks.context import CheckContext

#: a batch is whatever the repository's model takes (a dict of tensors, a tuple, a dataclass)
Batch = Any


@dataclass
class Probe:
    """Everything the runtime checks need, built by the repository's probe function.

    ``forward(model, batch)`` returns the model's raw output; ``predictions(output)`` picks the
    per-horizon prediction tensors out of it (``{"1d": tensor(N, ...)}``); ``loss(output, batch)`` is the
    training loss (a scalar tensor) and ``targets(batch)`` the per-horizon targets it should be compared
    with (the keys of the two need not match: the loss pairs them); ``optimizer(params)`` builds the
    training optimiser. ``features(batch)`` returns the batch's input feature tensor, whose last dimension
    must equal ``input_width`` (the width the model was built with) and ``expected_features`` (the count
    the config declares), all three in the same units: a model taking a flattened ``[N, F*L]`` input
    declares either the per-step width F with an ``(N, L, F)`` feature tensor, or F*L throughout.
    """

    #: a short human label for the report ("tinyrepo.model.TinyForecaster (2 horizons)")
    label: str
    model: nn.Module
    train_batches: Sequence[Batch]
    val_batches: Sequence[Batch]
    forward: Callable[[nn.Module, Batch], Any]
    predictions: Callable[[Any], Mapping[str, torch.Tensor]]
    loss: Callable[[Any, Batch], torch.Tensor]
    targets: Callable[[Batch], Mapping[str, torch.Tensor]]
    optimizer: Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]
    features: Callable[[Batch], torch.Tensor] | None = None
    #: the input width the model was built with (its first layer's in_features, or the config value)
    input_width: int | None = None
    #: the feature count the configuration declares
    expected_features: int | None = None
    #: the columns the configuration expects in the data artifact (features, targets, keys)
    expected_columns: Sequence[str] = ()
    #: a ``torch.utils.data.Dataset`` the training feeds through a DataLoader, if there is one
    dataset: Any = None
    #: the table the dataset is built from: a parquet/CSV path or a DataFrame
    artifact: Path | pd.DataFrame | None = None
    #: modules (by qualified name in ``model.named_modules()``) that normalise along an axis of their
    #: input, beyond the torch norm layers the check recognises itself: ``{"encoder.norm": 1}``
    norm_axes: Mapping[str, int] = field(default_factory=dict)
    #: the program's own training step, ``train_step(model, optimizer, batch)`` (forward, loss, backward,
    #: step, as the program does them): the watch checks HC060-HC068 run it in-process on the training
    #: batches when ``[tool.health_checks] watch`` names no program
    train_step: Callable[[nn.Module, torch.optim.Optimizer, Batch], Any] | None = None
    #: the program's own optimiser construction, ``build_optimizer(model)`` (None: ``optimizer(params)``
    #: over all the model's parameters)
    build_optimizer: Callable[[nn.Module], torch.optim.Optimizer] | None = None


def describe(fn: Any) -> str:
    """``module.qualname (path:line)`` of a callable, for messages that name where the code lives."""
    target = getattr(fn, "__func__", fn)
    if not inspect.isfunction(target) and not inspect.isclass(target):
        target = type(target)  # a callable object: name its class
    name = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"
    try:
        path = inspect.getsourcefile(target)
        line = inspect.getsourcelines(target)[1]
    except (OSError, TypeError):
        return name
    return f"{name} ({path}:{line})"


#: the signature of a probe function: the root of the tree under check in, the probe out
ProbeFunction = Callable[[Path], Probe]


def import_probe_function(root: Path, spec: str) -> ProbeFunction:
    """The function ``spec`` ("package.module:function") names, importable from ``root``.

    Raises SkipCheck with what is wrong and what to write instead (HC040 reports it as a failure).
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SkipCheck(f"[tool.health_checks] probe = {spec!r} is not of the form 'package.module:function'")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise SkipCheck(
            f"the probe module {module_name!r} does not import ({type(error).__name__}: {error})"
        ) from error
    function = getattr(module, attr, None)
    if not callable(function):
        raise SkipCheck(f"the probe module {module_name!r} has no function {attr!r}")
    return function


def load_probe(ctx: CheckContext) -> Probe:
    """The probe of the tree, built once per run; SkipCheck when none is configured or it breaks."""

    def compute() -> Probe:
        spec = ctx.settings.probe
        if not spec:
            raise SkipCheck(
                'no probe is configured: set [tool.health_checks] probe = "package.module:function" '
                "(a function returning health_checks.probe.Probe), or switch the runtime checks off with "
                "[tool.health_checks] disable = [...]"
            )
        function = import_probe_function(ctx.root, spec)
        probe = function(ctx.root)
        if not isinstance(probe, Probe):
            raise SkipCheck(
                f"the probe {spec} returned {type(probe).__name__}, expected health_checks.probe.Probe"
            )
        if not probe.train_batches or not probe.val_batches:
            raise SkipCheck(
                f"the probe {spec} returned {len(probe.train_batches)} training and "
                f"{len(probe.val_batches)} validation batches; the checks need at least one of each"
            )
        return probe

    return ctx.memo("probe", compute)
