"""What the watcher records about a training program: plain data, written by the watched process as JSON
and judged by :mod:`health_checks.watch.invariants` in the process that runs the checks.

The recorder (:mod:`health_checks.watch.recorder`) turns what it sees at hook time (tensors, optimisers,
modules) into these records at once, so nothing of the program's objects has to outlive it; one
:class:`Trace` per watched process (one per rank under ``torchrun``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

# the file a watched process leaves in the watch folder, per rank
TRACE_NAME = "trace-rank{rank}.json"


@dataclass(frozen=True)
class WatchOptions:
    """What the watched process needs to know: how long to watch and what the program declares."""

    #: the folder the traces go to (absolute: the program may change its working directory)
    out_dir: str
    #: the root of the program's tree: a frame in a file under it (not a library) is the program's own
    root: str
    #: optimiser steps to watch before the program is stopped
    steps: int = 5
    #: the program sums this many backward passes into each optimiser step (gradient accumulation)
    accumulation: int = 1
    #: parameter name patterns (fnmatch) the program freezes on purpose
    frozen: tuple[str, ...] = ()
    #: training forwards of a model without an optimiser step before the program is stopped as stuck
    idle: int = 20

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WatchOptions:
        data = json.loads(text)
        data["frozen"] = tuple(data.get("frozen", ()))
        return cls(**data)


@dataclass
class BackwardRecord:
    """One call of ``torch.autograd.backward`` (``loss.backward()``): the tensor back-propagated."""

    index: int
    where: str
    value: float | None
    numel: int
    finite: bool
    has_graph: bool
    #: parameters whose gradient is non-zero after the call
    params_with_grad: int = 0
    #: what the function or loss module that returned the tensor received (when it could be seen)
    source: dict[str, Any] | None = None


@dataclass
class StepRecord:
    """One optimiser step, measured between the optimiser's global step pre- and post-hooks."""

    index: int
    optimizer: str
    where: str
    lrs: list[float]
    #: the learning rates the optimiser's scheduler says the groups have (None: no scheduler stepped)
    scheduler: str | None = None
    scheduler_lrs: list[float] | None = None
    with_grad: int = 0
    #: the most parameters a backward pass since the previous step gave a non-zero gradient
    reached_before: int = 0
    #: parameters with a non-zero gradient that the step left unchanged
    unchanged: list[str] = field(default_factory=list)
    #: parameters whose per-parameter step count did not advance by exactly one
    count_not_advanced: list[str] = field(default_factory=list)
    step_counts: list[float] = field(default_factory=list)
    #: parameters whose gradient still holds passes from before the previous step (never zeroed)
    carried: list[str] = field(default_factory=list)
    #: the most backward passes summed in one parameter's gradient at this step, and the last one's line
    accumulated: int = 0
    last_backward: str | None = None
    #: train mode of the model(s) owning the stepped parameters, and whether their output depends on it
    training: bool | None = None
    mode_dependent: bool = False
    model: str | None = None
    #: whether the stepped parameters belong to a module wrapped in DistributedDataParallel
    ddp_wrapped: bool = False
    #: one float64 sum per stepped parameter after the step (compared across ranks)
    digest: list[float] = field(default_factory=list)


@dataclass
class Trace:
    """Everything one watched process recorded, and why it stopped."""

    rank: int = 0
    world_size: int = 1
    #: "steps" (watched enough), "no-progress", "finished" (the program ended), "crashed" (the program
    #: raised), "watcher-error" (the watcher itself failed: health_checks' error, not the program's)
    stopped: str = "finished"
    error: str | None = None
    error_where: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    backwards: list[BackwardRecord] = field(default_factory=list)
    #: training forwards of a model (grad enabled, train mode) and loss values seen (backward or loss module)
    forwards: int = 0
    forward_where: str | None = None
    losses_seen: list[float] = field(default_factory=list)
    #: forwards and backwards since the last optimiser step when the program was stopped
    idle_forwards: int = 0
    idle_backwards: int = 0
    last_backward_where: str | None = None
    #: no optimiser step was seen, yet the parameters changed: the program updates them by other means
    moved_without_step: bool = False
    #: parameter coverage at the end: names with a gradient no optimiser steps, trainable ones never
    #: reached, and counts
    grad_not_stepped: list[str] = field(default_factory=list)
    never_reached: list[str] = field(default_factory=list)
    declared_frozen: list[str] = field(default_factory=list)
    trainable: int = 0
    frozen: int = 0
    stepped_params: int = 0
    optimizers: list[dict[str, Any]] = field(default_factory=list)
    #: evaluation forwards seen (a model with parameters called with gradient off, outside any module)
    evaluations: int = 0
    #: evaluation forwards (grad disabled) of a stepped, mode-dependent model left in train mode
    eval_in_train_mode: list[dict[str, Any]] = field(default_factory=list)
    #: an evaluation before any train-mode forward, replayed after training: output scales
    early_eval: list[dict[str, Any]] = field(default_factory=list)
    #: schedulers whose optimiser is never stepped
    orphan_schedulers: list[dict[str, Any]] = field(default_factory=list)
    models: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["steps"] = [StepRecord(**s) for s in data.get("steps", [])]
        values["backwards"] = [BackwardRecord(**b) for b in data.get("backwards", [])]
        return cls(**values)

    @classmethod
    def read(cls, path: Path) -> Trace:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
