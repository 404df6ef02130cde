"""The watch of a probe's own training step, in the checking process.

A repository whose probe names its training step (``Probe.train_step``) and optimiser construction
(``Probe.build_optimizer``) is watched without a child process: one evaluation forward on a validation
batch (as a program evaluates before training), then the step on the training batches, in turn, until
the recorder has seen enough optimiser steps or too many forwards without one. The model is restored
afterwards (:mod:`health_checks.model_state`), so the other checks see it as the probe built it.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from health_checks import model_state
from health_checks.watch.recorder import WatchStop, recording
from health_checks.watch.trace import Trace, WatchOptions

if TYPE_CHECKING:
    from health_checks.probe import Probe


def watch_probe(probe: Probe, options: WatchOptions) -> Trace:
    """Run ``probe.train_step`` under the recorder; return the trace (its ``stopped`` says why it ended)."""
    import torch

    if probe.train_step is None:
        raise ValueError("the probe names no train_step to watch")
    state = model_state.snapshot(probe.model)
    model = probe.model
    try:
        with recording(options) as recorder:
            try:
                optimizer = (
                    probe.build_optimizer(model)
                    if probe.build_optimizer is not None
                    else probe.optimizer(model.parameters())
                )
                model.eval()
                with torch.no_grad():
                    probe.forward(model, probe.val_batches[0])
                model.train()
                batches = list(probe.train_batches)
                budget = options.steps * max(1, options.accumulation) + options.idle + 1
                for index in range(budget):
                    probe.train_step(model, optimizer, batches[index % len(batches)])
                recorder.finish("finished")
            except WatchStop:
                pass
            except Exception as error:  # noqa: BLE001 - the step's own crash is what the watch reports
                with contextlib.suppress(WatchStop):
                    recorder.finish("crashed", f"{type(error).__name__}: {error}", recorder.crash_site(error))
            return recorder.trace
    finally:
        model_state.restore(model, state)
