"""The hooks: what a training program does with torch, recorded as it happens.

Everything goes through torch's public hook points: the global optimiser step pre/post hooks
(``torch.optim.optimizer.register_optimizer_step_pre_hook``), the global module forward hooks
(``torch.nn.modules.module.register_module_forward_pre_hook``), each parameter's
``register_post_accumulate_grad_hook`` (which backward passes reached it), and four wrapped callables that
have no hook of their own: ``torch.autograd.backward`` (every ``loss.backward()`` goes through it),
``Optimizer.__init__`` (where the optimiser was built), ``LRScheduler.__init__`` and
``DistributedDataParallel.__init__`` (which parameters are synchronised).

A module called while no other module's forward runs is a *root* call: a model's forward, or a loss
module's. A root call of a module with parameters, with grad enabled and in train mode, is a training
forward; one with grad disabled is an evaluation forward. Only the process that installed the recorder
records (DataLoader workers, forked or spawned, never do), and a location is the innermost frame of the
program's own files (under the watched tree's root, outside libraries), so a message names the program's
line, not torch's.
"""

from __future__ import annotations

import fnmatch
import functools
import linecache
import logging
import math
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from health_checks.watch.tensors import (
    detached_copy,
    first_tensor,
    mode_dependent,
    output_scale,
    step_count,
    summarize,
)
from health_checks.watch.trace import BackwardRecord, StepRecord, Trace, WatchOptions

logger = logging.getLogger(__name__)

# an evaluation before any train-mode forward whose output scale differs from after one by more than this
EARLY_EVAL_RATIO = 100.0
# how many loss values a trace keeps
MAX_LOSSES = 50
_OWN_DIR = str(Path(__file__).resolve().parent)
_LIBRARY_MARKERS = ("site-packages", "dist-packages", f"{os.sep}.venv{os.sep}", f"{os.sep}.nox{os.sep}")


class WatchStop(BaseException):
    """Raised from a hook when the watch is over and the recorder runs in the checking process itself:
    a BaseException, so the program's ``except Exception`` around its step does not swallow it."""


def own_site(error: BaseException) -> str:
    """``path:line`` of the innermost frame of the watcher's own package in ``error``'s traceback."""
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if str(Path(f.filename).resolve()).startswith(_OWN_DIR)
    ]
    frame = (frames or traceback.extract_tb(error.__traceback__))[-1]
    return f"{frame.filename}:{frame.lineno}"


def _rank_and_world() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return int(os.environ.get("RANK", "0")), 1


def guarded(hook: Callable[..., Any]) -> Callable[..., Any]:
    """A hook whose own exception ends the watch as health_checks' error (``stopped = "watcher-error"``),
    so that a bug of the watcher never reads as a crash of the program under watch."""

    @functools.wraps(hook)
    def wrapper(self: Recorder, *args: Any, **kwargs: Any) -> Any:
        try:
            return hook(self, *args, **kwargs)
        except WatchStop:
            raise
        except Exception as error:  # noqa: BLE001 - reported as the watcher's own error, with its line
            self.watcher_error(error)
            return None

    return wrapper


class Recorder:
    """Installs the hooks, records a :class:`Trace` and calls ``on_finish`` once the watch is over: after
    ``options.steps`` optimiser steps, or when ``options.idle`` training forwards (or backward passes,
    beyond the declared accumulation) pass without a step."""

    def __init__(self, options: WatchOptions, on_finish: Callable[[Trace], None]) -> None:
        self.options = options
        self.on_finish = on_finish
        self.root = Path(options.root).resolve()
        self.trace = Trace()
        self.main_pid = os.getpid()
        self.finished = False
        self.suspended = False
        self._handles: list[Any] = []
        self._patches: list[tuple[Any, str, Any]] = []
        self._user_file: dict[str, bool] = {}
        self._rel_names: dict[str, str] = {}
        self._stack: list[int] = []
        # parameters: id -> parameter, name, owning root model id
        self.params: dict[int, nn.Parameter] = {}
        self.names: dict[int, str] = {}
        self.owner: dict[int, int | None] = {}
        self.models: dict[int, nn.Module] = {}
        self._members: dict[int, set[int]] = {}
        self.trained: set[int] = set()  # ids of modules that had a train-mode training forward
        # gradients: backward passes summed since the last reset, resets since the last step
        self.acc: dict[int, int] = {}
        self.reset_since_step: set[int] = set()
        self.consumed: set[int] = set()
        self.received: set[int] = set()
        self.stepped: set[int] = set()
        self.stepped_optimizers: set[int] = set()
        self.optimizers: dict[int, dict[str, Any]] = {}
        self.schedulers: list[tuple[Any, str]] = []
        self._scheduler_start: dict[int, int] = {}  # the scheduler's last_epoch when it was built
        self.wrapped: set[int] = set()
        self._pending: dict[int, dict[str, Any]] = {}
        self._early: dict[int, dict[str, Any]] = {}
        self._eval_wheres: set[str] = set()
        self._loss_module: tuple[torch.Tensor, dict[str, Any]] | None = None
        self._captured: list[tuple[torch.Tensor, dict[str, Any]]] | None = None
        self._previous_profile: Any = None
        self._in_backward = False
        self._reached_since_step = 0
        self._initial: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._mode_cache: dict[int, bool] = {}

    # ------------------------------------------------------------------ install / remove
    def install(self) -> None:
        from torch.nn.modules import module as module_hooks
        from torch.optim import lr_scheduler
        from torch.optim import optimizer as optimizer_hooks

        self._handles += [
            optimizer_hooks.register_optimizer_step_pre_hook(self._step_pre),
            optimizer_hooks.register_optimizer_step_post_hook(self._step_post),
            module_hooks.register_module_forward_pre_hook(self._forward_pre),
            module_hooks.register_module_forward_hook(self._forward_post, always_call=True),
        ]
        self._wrap(torch.autograd, "backward", self._backward_wrapper)
        self._wrap(torch.optim.Optimizer, "__init__", self._optimizer_init_wrapper)
        self._wrap(lr_scheduler.LRScheduler, "__init__", self._scheduler_init_wrapper)
        self._wrap(nn.parallel.DistributedDataParallel, "__init__", self._ddp_init_wrapper)

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        for owner, attr, original in reversed(self._patches):
            setattr(owner, attr, original)
        self._patches.clear()
        self._stop_capture()

    def _wrap(self, owner: Any, attr: str, make: Callable[[Any], Any]) -> None:
        original = getattr(owner, attr)
        self._patches.append((owner, attr, original))
        setattr(owner, attr, make(original))

    # ------------------------------------------------------------------ where
    def active(self) -> bool:
        if self.finished or self.suspended or os.getpid() != self.main_pid:
            return False
        return torch.utils.data.get_worker_info() is None

    def _is_user(self, filename: str) -> bool:
        known = self._user_file.get(filename)
        if known is None:
            path = Path(filename)
            known = (
                path.is_absolute()
                and not any(marker in filename for marker in _LIBRARY_MARKERS)
                and not str(path.resolve()).startswith(_OWN_DIR)
                and path.resolve().is_relative_to(self.root)
            )
            if not known and not path.is_absolute() and not filename.startswith("<"):
                known = (self.root / path).is_file()
            self._user_file[filename] = known
        return known

    def where(self) -> str:
        """``path:line: code`` of the innermost frame in the program's own files ("?" when none is)."""
        frame = sys._getframe(1)
        while frame is not None:
            filename = frame.f_code.co_filename
            if self._is_user(filename):
                code = linecache.getline(filename, frame.f_lineno).strip()
                return f"{self._relative(filename)}:{frame.f_lineno}: {code}"
            frame = frame.f_back
        return "?"

    def _relative(self, filename: str) -> str:
        """A program file's path relative to the watched root (cached: ``where`` runs on every hook)."""
        rel = self._rel_names.get(filename)
        if rel is None:
            path = Path(filename)
            rel = (path.resolve().relative_to(self.root) if path.is_absolute() else path).as_posix()
            self._rel_names[filename] = rel
        return rel

    def crash_site(self, error: BaseException) -> str | None:
        """``path:line: code`` of the innermost frame of the program's own files in ``error``'s traceback."""
        site = None
        for frame in traceback.extract_tb(error.__traceback__):
            if frame.filename and self._is_user(frame.filename):
                site = f"{self._relative(frame.filename)}:{frame.lineno}: {(frame.line or '').strip()}"
        return site

    # ------------------------------------------------------------------ parameters and models
    def _track(self, param: nn.Parameter, name: str, owner: int | None) -> None:
        key = id(param)
        if key in self.params:
            if self.owner.get(key) is None and owner is not None:
                self.names[key], self.owner[key] = name, owner
            return
        self.params[key], self.names[key], self.owner[key] = param, name, owner
        if param.requires_grad:
            self._handles.append(param.register_post_accumulate_grad_hook(self._accumulated))

    def _adopt(self, module: nn.Module) -> None:
        """Start tracking a root model's parameters under their qualified names."""
        if id(module) in self.models:
            return
        self.models[id(module)] = module
        self._members[id(module)] = {id(m) for m in module.modules()}
        if not self.trace.steps:  # to tell a loop that updates parameters without torch.optim
            with torch.no_grad():
                self._initial += [(p, p.detach().clone()) for p in module.parameters() if p.requires_grad]
        for name, param in module.named_parameters():
            clean = name.replace("_orig_mod.", "")
            if isinstance(module, nn.parallel.DistributedDataParallel):
                clean = clean.removeprefix("module.")
            self._track(param, clean, id(module))
        label = type(module).__name__
        if isinstance(module, nn.parallel.DistributedDataParallel):
            label = f"DistributedDataParallel({type(module.module).__name__})"
        if label not in self.trace.models:
            self.trace.models.append(label)

    def _label(self, model_id: int | None) -> str | None:
        model = self.models.get(model_id) if model_id is not None else None
        if model is None:
            return None
        if isinstance(model, nn.parallel.DistributedDataParallel):
            return f"DistributedDataParallel({type(model.module).__name__})"
        return type(model).__name__

    @guarded
    def _accumulated(self, param: torch.Tensor) -> None:
        if self.finished or os.getpid() != self.main_pid:
            return
        key = id(param)
        self.acc[key] = self.acc.get(key, 0) + 1
        self.received.add(key)

    # ------------------------------------------------------------------ forwards
    @guarded
    def _forward_pre(self, module: nn.Module, args: Any) -> None:
        if not self.active():
            return
        self._stack.append(id(module))
        if len(self._stack) != 1 or not torch.is_grad_enabled() or not module.training:
            return
        if next(module.parameters(), None) is None:
            return
        self._adopt(module)
        if id(module) not in self.trained:
            self.trained |= self._members[id(module)]
        self.trace.forwards += 1
        self.trace.idle_forwards += 1
        self.trace.forward_where = self.where()
        if self.trace.idle_forwards > self._idle_limit():
            self.finish("no-progress")

    @guarded
    def _forward_post(self, module: nn.Module, args: Any, output: Any) -> None:
        if not self._stack or self._stack[-1] != id(module):
            return
        self._stack.pop()
        if self._stack or not self.active():
            return
        if isinstance(output, torch.Tensor) and output.numel() == 1 and output.is_floating_point():
            value = float(output.detach())
            self._remember_loss(value)
            self._loss_module = (
                output,
                {
                    "function": f"{type(module).__module__}.{type(module).__qualname__}.forward",
                    "called_at": self.where(),
                    "inputs": summarize(list(args)),
                },
            )
            return
        if torch.is_grad_enabled() or next(module.parameters(), None) is None:
            return
        self._evaluation(module, args, output)

    def _evaluation(self, module: nn.Module, args: Any, output: Any) -> None:
        """An evaluation forward: note a mode-dependent model left in train mode, and keep the first
        evaluation of a model that has not had a training forward yet (replayed at the end)."""
        self.trace.evaluations += 1
        if module.training and self._mode_dependent(module):
            where = self.where()
            if where not in self._eval_wheres:
                self._eval_wheres.add(where)
                self._adopt(module)
                self.trace.eval_in_train_mode.append(
                    {"model": self._label(id(module)), "where": where, "model_id": id(module)}
                )
        if id(module) in self.trained or id(module) in self._early:
            return
        scale = output_scale(output)
        if scale is None:
            return
        self._early[id(module)] = {
            "module": module,
            "args": detached_copy(args),
            "scale": scale,
            "where": self.where(),
        }

    def _mode_dependent(self, model: nn.Module) -> bool:
        known = self._mode_cache.get(id(model))
        if known is None:
            known = self._mode_cache[id(model)] = mode_dependent(model)
        return known

    def _idle_limit(self) -> int:
        return max(self.options.idle, 4 * self.options.accumulation)

    def _remember_loss(self, value: float) -> None:
        if len(self.trace.losses_seen) < MAX_LOSSES:
            self.trace.losses_seen.append(value)

    # ------------------------------------------------------------------ backward
    def _backward_wrapper(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def backward(tensors: Any, *args: Any, **kwargs: Any) -> Any:
            if self._in_backward or not self.active():
                return original(tensors, *args, **kwargs)
            self._before_backward(tensors)
            self._in_backward = True
            try:
                return original(tensors, *args, **kwargs)
            finally:
                self._in_backward = False
                self._after_backward()

        return backward

    @guarded
    def _before_backward(self, tensors: Any) -> None:
        tensor = first_tensor(tensors)
        where = self.where()
        value = None
        finite, numel, has_graph = True, 0, False
        if tensor is not None:
            numel = tensor.numel()
            detached = tensor.detach()
            finite = bool(torch.isfinite(detached).all()) if detached.is_floating_point() else True
            value = float(detached) if numel == 1 else None
            has_graph = tensor.grad_fn is not None or tensor.requires_grad
        record = BackwardRecord(
            index=len(self.trace.backwards),
            where=where,
            value=value,
            numel=numel,
            finite=finite,
            has_graph=has_graph,
            source=self._source_of(tensor),
        )
        self.trace.backwards.append(record)
        if value is not None and not (self._loss_module is not None and self._loss_module[0] is tensor):
            self._remember_loss(value)  # a loss module's value is remembered when it returns
        self.trace.idle_backwards += 1
        self.trace.last_backward_where = where
        # a gradient that is None or all zero at the start of a backward pass was reset since the last one
        with torch.no_grad():
            for key, param in self.params.items():
                if param.grad is None or not bool(param.grad.any()):
                    self.acc[key] = 0
                    self.reset_since_step.add(key)
        values = [b.value for b in self.trace.backwards[-2:]]
        if record.source is None and len(values) == 2 and values[0] is not None and values[0] == values[1]:
            self._start_capture()  # the same loss twice: see what the loss function gets next time

    @guarded
    def _after_backward(self) -> None:
        with torch.no_grad():
            reached = sum(
                1 for p in self.params.values() if p.grad is not None and bool(p.grad.detach().any())
            )
        self.trace.backwards[-1].params_with_grad = reached
        self._reached_since_step = max(self._reached_since_step, reached)
        if self.trace.idle_backwards > self._idle_limit():
            self.finish("no-progress")

    def _source_of(self, tensor: torch.Tensor | None) -> dict[str, Any] | None:
        """What the loss function or loss module that returned ``tensor`` received, when it was seen."""
        if tensor is None:
            return None
        captured, self._captured = self._captured, None
        self._stop_capture()
        if self._loss_module is not None and self._loss_module[0] is tensor:
            return self._loss_module[1]
        if not captured:
            return None
        same = [info for returned, info in captured if returned is tensor]
        return (same or [captured[-1][1]])[0]

    def _start_capture(self) -> None:
        """Watch the return of every Python function until the next backward pass: a function of the
        program (or a module's forward) returning a one-element tensor is a loss function; keep what it
        received. Only armed when the loss repeats, so the cost is paid on one step."""
        if self._captured is not None:
            return
        self._captured = []
        self._previous_profile = sys.getprofile()
        sys.setprofile(self._profile)

    def _stop_capture(self) -> None:
        if sys.getprofile() == self._profile:
            sys.setprofile(self._previous_profile)

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        if event != "return" or not isinstance(arg, torch.Tensor) or arg.numel() != 1:
            return
        code = frame.f_code
        is_module = isinstance(frame.f_locals.get("self"), nn.Module)
        if self._captured is None or not (self._is_user(code.co_filename) or is_module):
            return
        count = code.co_argcount + code.co_kwonlyargcount
        names = [n for n in code.co_varnames[:count] if n != "self"]
        inputs = {n: summarize(frame.f_locals.get(n)) for n in names}
        self._captured.append(
            (
                arg,
                {
                    "function": code.co_qualname,
                    "defined_at": f"{code.co_filename}:{code.co_firstlineno}",
                    "inputs": inputs,
                },
            )
        )

    # ------------------------------------------------------------------ optimisers
    def _optimizer_init_wrapper(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def init(optimizer: Any, *args: Any, **kwargs: Any) -> None:
            original(optimizer, *args, **kwargs)
            if self.active() and id(optimizer) not in self.optimizers:
                label = f"{type(optimizer).__name__}#{len(self.optimizers)}"
                self.optimizers[id(optimizer)] = {"label": label, "built_at": self.where(), "steps": 0}

        return init

    def _scheduler_init_wrapper(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def init(scheduler: Any, *args: Any, **kwargs: Any) -> None:
            original(scheduler, *args, **kwargs)
            if self.active():
                self.schedulers.append((scheduler, f"{type(scheduler).__name__} built at {self.where()}"))
                self._scheduler_start[id(scheduler)] = int(getattr(scheduler, "last_epoch", 0))

        return init

    def _ddp_init_wrapper(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def init(ddp: Any, module: nn.Module, *args: Any, **kwargs: Any) -> None:
            original(ddp, module, *args, **kwargs)
            self.wrapped |= {id(p) for p in module.parameters()}

        return init

    def _optimizer_info(self, optimizer: Any) -> dict[str, Any]:
        info = self.optimizers.get(id(optimizer))
        if info is None:  # built before the recorder was installed
            info = {
                "label": f"{type(optimizer).__name__}#{len(self.optimizers)}",
                "built_at": "?",
                "steps": 0,
            }
            self.optimizers[id(optimizer)] = info
        return info

    @guarded
    def _step_pre(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if not self.active():
            return
        info = self._optimizer_info(optimizer)
        params: list[torch.Tensor] = []
        moving: set[int] = set()  # parameters of groups with a non-zero learning rate (HC067 judges 0)
        for g, group in enumerate(optimizer.param_groups):
            for i, param in enumerate(group["params"]):
                self._track(param, f"{info['label']}.param_groups[{g}][{i}]", None)
                params.append(param)
                if float(group["lr"]) != 0:
                    moving.add(id(param))
        # a step given a closure (LBFGS, Lightning) runs forward and backward inside itself: its
        # gradients are judged after it, against a snapshot of every parameter taken now
        closure = kwargs.get("closure") if kwargs else None
        closure = closure if closure is not None else (args[0] if args else None)
        with torch.no_grad():
            with_grad = [] if closure is not None else self._with_gradient(params)
            kept = params if closure is not None else with_grad
            before = {id(p): p.detach().clone() for p in kept if id(p) in moving}
        counts = {id(p): step_count(optimizer.state.get(p)) for p in params}
        owners = {self.owner.get(id(p)) for p in params} - {None}
        models = [self.models[o] for o in owners if o in self.models]
        record = StepRecord(
            index=len(self.trace.steps),
            optimizer=info["label"],
            where=self.where(),
            lrs=[float(group["lr"]) for group in optimizer.param_groups],
            training=any(m.training for m in models) if models else None,
            mode_dependent=any(self._mode_dependent(m) for m in models),
            model=", ".join(sorted({self._label(o) or "?" for o in owners})) or None,
            ddp_wrapped=bool(params) and all(id(p) in self.wrapped for p in params),
        )
        if closure is None:
            self._gradient_state(record, with_grad)
        for scheduler, label in self.schedulers:
            if getattr(scheduler, "optimizer", None) is optimizer:
                try:
                    said = [float(lr) for lr in scheduler.get_last_lr()]
                except (AttributeError, RuntimeError):
                    continue
                record.scheduler, record.scheduler_lrs = label, said
        self._pending[id(optimizer)] = {
            "record": record,
            "params": params,
            "before": before,
            "with_grad": None if closure is not None else {id(p) for p in with_grad},
            "counts": counts,
        }

    @staticmethod
    def _with_gradient(params: list[torch.Tensor]) -> list[torch.Tensor]:
        return [p for p in params if p.grad is not None and bool(p.grad.detach().any())]

    def _gradient_state(self, record: StepRecord, with_grad: list[torch.Tensor]) -> None:
        """How many backward passes the step's gradients sum, and which were carried over a step."""
        record.with_grad = len(with_grad)
        record.carried = sorted(
            self.names[id(p)]
            for p in with_grad
            if id(p) in self.consumed and id(p) not in self.reset_since_step
        )
        record.accumulated = max((self.acc.get(id(p), 0) for p in with_grad), default=0)
        record.reached_before = self._reached_since_step
        record.last_backward = self.trace.last_backward_where

    @guarded
    def _step_post(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        pending = self._pending.pop(id(optimizer), None)
        if pending is None or not self.active():
            return
        record: StepRecord = pending["record"]
        params: list[torch.Tensor] = pending["params"]
        with torch.no_grad():
            if pending["with_grad"] is None:  # a closure step: its gradients exist only now
                with_grad = self._with_gradient(params)
                self._gradient_state(record, with_grad)
                pending["with_grad"] = {id(p) for p in with_grad}
            record.unchanged = sorted(
                self.names[key]
                for key, old in pending["before"].items()
                if key in pending["with_grad"] and torch.equal(self.params[key].detach(), old)
            )
        counts = []
        for param in params:
            before, after = pending["counts"][id(param)], step_count(optimizer.state.get(param))
            if after is None:
                continue
            counts.append(after)
            if after - (before or 0.0) != 1.0 and id(param) in pending["with_grad"]:
                record.count_not_advanced.append(self.names[id(param)])
        record.step_counts = [max(counts)] if counts else []
        _, world = _rank_and_world()
        if world > 1:
            with torch.no_grad():
                record.digest = [float(p.detach().double().sum()) for p in params]
        self.trace.steps.append(record)
        self.optimizers[id(optimizer)]["steps"] += 1
        self.stepped |= {id(p) for p in params}
        self.stepped_optimizers.add(id(optimizer))
        self.consumed = pending["with_grad"]
        self.reset_since_step = set()
        self.trace.idle_forwards = self.trace.idle_backwards = 0
        self._reached_since_step = 0
        if len(self.trace.steps) >= self.options.steps:
            self.finish("steps")

    # ------------------------------------------------------------------ the end
    def finish(self, reason: str, error: str | None = None, error_where: str | None = None) -> None:
        """Judge what needs the live objects (coverage, the early evaluation), then hand the trace over."""
        if self.finished:
            return
        self.finished = True
        self._stop_capture()
        self.trace.stopped = reason
        self.trace.error, self.trace.error_where = error, error_where
        self.trace.rank, self.trace.world_size = _rank_and_world()
        try:
            self._coverage()
            self._replay_early()
            self._orphans()
            if not self.trace.steps:
                with torch.no_grad():
                    self.trace.moved_without_step = any(not torch.equal(p, old) for p, old in self._initial)
        except Exception as failure:  # noqa: BLE001 - the trace is still handed over, marked as our error
            self.trace.stopped = "watcher-error"
            self.trace.error, self.trace.error_where = (
                f"{type(failure).__name__}: {failure}",
                own_site(failure),
            )
        self.on_finish(self.trace)

    def watcher_error(self, error: Exception) -> None:
        """End the watch on a bug of the watcher itself, naming the watcher's line."""
        logger.debug("the watcher failed", exc_info=error)
        self.finish("watcher-error", f"{type(error).__name__}: {error}", own_site(error))

    def frozen_by_declaration(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.options.frozen)

    def _coverage(self) -> None:
        trace = self.trace
        stepped_models = {self.owner.get(k) for k in self.stepped} - {None}
        trainable = [
            k for k, p in self.params.items() if p.requires_grad and self.owner.get(k) in stepped_models
        ]
        trace.trainable = sum(self.params[k].numel() for k in trainable)
        trace.frozen = sum(
            p.numel()
            for k, p in self.params.items()
            if not p.requires_grad and self.owner.get(k) in stepped_models
        )
        trace.stepped_params = sum(self.params[k].numel() for k in self.stepped)
        declared = sorted(self.names[k] for k in self.params if self.frozen_by_declaration(self.names[k]))
        trace.declared_frozen = declared
        trace.grad_not_stepped = sorted(
            self.names[k]
            for k in self.received - self.stepped
            if not self.frozen_by_declaration(self.names[k]) and self.stepped
        )
        trace.never_reached = sorted(
            self.names[k]
            for k in trainable
            if k not in self.received and not self.frozen_by_declaration(self.names[k])
        )
        trace.optimizers = [
            {"label": info["label"], "built_at": info["built_at"], "steps": info["steps"]}
            for info in self.optimizers.values()
        ]
        stepped_owner_ids = {self.owner.get(k) for k in self.stepped}
        trace.eval_in_train_mode = [
            {k: v for k, v in row.items() if k != "model_id"}
            for row in trace.eval_in_train_mode
            if row["model_id"] in stepped_owner_ids
        ]

    def _replay_early(self) -> None:
        """Run each evaluation that came before any training forward again, on the same input, now that
        the model has trained: an output scale 100x off says the first evaluation saw an uninitialised
        model state (spectral norm's power iteration, batch-norm statistics)."""
        self.suspended = True
        try:
            for key, early in self._early.items():
                if key not in self.trained:
                    continue
                module = early["module"]
                was_training = module.training
                module.eval()
                try:
                    with torch.no_grad():
                        scale = output_scale(module(*early["args"]))
                finally:
                    module.train(was_training)
                if scale is None:
                    continue
                ratio = max(early["scale"], scale) / max(min(early["scale"], scale), 1e-30)
                self.trace.early_eval.append(
                    {
                        "model": type(module).__name__,
                        "where": early["where"],
                        "scale_before_training": early["scale"],
                        "scale_after_training": scale,
                        "ratio": ratio if math.isfinite(ratio) else None,
                        "flagged": not math.isfinite(ratio) or ratio > EARLY_EVAL_RATIO,
                    }
                )
        finally:
            self.suspended = False

    def _orphans(self) -> None:
        """Schedulers stepped during the watch whose optimiser never was (an optimiser built for a later
        phase, with its scheduler idle too, is not one)."""
        if not self.stepped_optimizers:
            return
        for scheduler, label in self.schedulers:
            optimizer = getattr(scheduler, "optimizer", None)
            moved = int(getattr(scheduler, "last_epoch", 0)) > self._scheduler_start.get(id(scheduler), 0)
            if moved and optimizer is not None and id(optimizer) not in self.stepped_optimizers:
                info = self._optimizer_info(optimizer)
                self.trace.orphan_schedulers.append({"scheduler": label, "optimizer": info["label"]})


@contextmanager
def recording(options: WatchOptions) -> Iterator[Recorder]:
    """A recorder installed in this process for the duration of the block; its ``finish`` raises
    :class:`WatchStop`, which the block's caller catches (the in-process watch of a probe)."""

    def stop(trace: Trace) -> None:
        raise WatchStop(trace.stopped)

    recorder = Recorder(options, stop)
    recorder.install()
    try:
        yield recorder
    finally:
        recorder.remove()
