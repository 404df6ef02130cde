"""Snapshot and restore a model's parameters, buffers and train/eval flags, in place.

A check that trains a user's model for a step must leave it as it found it for the next check. Copying
the model instead (``copy.deepcopy``) fails on healthy models: one that caches a non-leaf tensor
(``self.a_t = torch.t(self.a)``) or uses ``torch.nn.utils.spectral_norm`` raises on deepcopy. The
snapshot clones only tensors the model owns and writes them back into the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelState:
    """Clones of a model's parameters and buffers (by identity of the tensor) and each module's mode."""

    tensors: list[tuple[Any, Any]]
    modes: list[tuple[Any, bool]]


def snapshot(model: Any) -> ModelState:
    import torch

    with torch.no_grad():
        seen: dict[int, tuple[Any, Any]] = {}
        for tensor in [*model.parameters(), *model.buffers()]:
            if id(tensor) not in seen:
                seen[id(tensor)] = (tensor, tensor.detach().clone())
    return ModelState(list(seen.values()), [(m, m.training) for m in model.modules()])


def restore(model: Any, state: ModelState) -> None:
    """Write the snapshot back into the same tensors (optimisers and cached views keep pointing at them),
    drop the gradients and put every module back in its mode."""
    import torch

    with torch.no_grad():
        for tensor, saved in state.tensors:
            tensor.copy_(saved)
    model.zero_grad(set_to_none=True)
    for module, training in state.modes:
        module.training = training
