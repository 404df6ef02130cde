"""What the runtime checks share: the few batches of the probe each check feeds through the model, and
forward hooks on every sub-module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from health_checks.probe import Probe

# batches each check feeds through the model (the probe may hand over more)
MAX_BATCHES = 3


def batches(probe: Probe, split: str = "train") -> list[Any]:
    """The first ``MAX_BATCHES`` batches of the probe's ``split`` (train or val)."""
    chosen = probe.train_batches if split == "train" else probe.val_batches
    return list(chosen)[:MAX_BATCHES]


@contextmanager
def module_hooks(model: Any, pre: Any = None, post: Any = None) -> Iterator[None]:
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
