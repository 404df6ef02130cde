"""What the watcher and the runtime checks read off tensors, module outputs and optimiser state.

Small pure helpers: the first tensor of an output, a JSON-able picture of a call's arguments, a detached
copy of a call's inputs to replay it, an output's scale, whether a model computes differently in train
and eval mode, an optimiser's per-parameter step count. torch is imported inside them, so that the
check modules that use them import without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# how many keys or items of a loss function's inputs a picture keeps
MAX_KEYS = 12


def summarize(value: Any, depth: int = 0) -> Any:
    """A JSON-able picture of what a function received: tensors as ``Tensor[N, 3] float32``, mappings
    by key, sequences by item (two levels deep), anything else by its type."""
    import torch

    if isinstance(value, torch.Tensor):
        return f"Tensor{list(value.shape)} {str(value.dtype).removeprefix('torch.')}"
    if depth >= 2:
        return type(value).__name__
    if isinstance(value, Mapping):
        items = list(value.items())[:MAX_KEYS]
        return {str(k): summarize(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        return [summarize(v, depth + 1) for v in value[:MAX_KEYS]]
    return type(value).__name__


def first_tensor(value: Any) -> Any:
    """The first tensor inside a value (a tensor, a mapping or a sequence of them), or None."""
    import torch

    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple):
        for item in value:
            found = first_tensor(item)
            if found is not None:
                return found
    return None


def detached_copy(value: Any) -> Any:
    """``value`` with every tensor detached and cloned (the containers rebuilt), to replay a call later."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, Mapping):
        return {k: detached_copy(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(detached_copy(v) for v in value)
    if isinstance(value, list):
        return [detached_copy(v) for v in value]
    return value


def output_scale(output: Any) -> float | None:
    """Mean absolute value of the first floating tensor of a module's output."""
    tensor = first_tensor(output)
    if tensor is None or not tensor.is_floating_point() or tensor.numel() == 0:
        return None
    return float(tensor.detach().float().abs().mean())


def mode_dependent(model: Any) -> bool:
    """True when the model computes differently in train and eval mode (dropout, batch statistics)."""
    from torch import nn

    for module in model.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd) and module.p > 0:
            return True
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
            return True
    return False


def step_count(state: Any) -> float | None:
    """The per-parameter step count an optimiser keeps in its state (Adam's ``step``), or None."""
    if not isinstance(state, Mapping) or "step" not in state:
        return None
    return float(state["step"])
