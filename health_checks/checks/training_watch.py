"""The watch checks: the repository's own training program, run for a few optimiser steps under hooks on
torch's public API, judged against invariants every correct training loop keeps (HC060-HC068).

The program is ``[tool.health_checks] watch`` (a script or ``-m module`` with its arguments, run in a child
process, under ``torchrun`` when ``watch_nproc`` > 1), or, when none is named, the probe's own training
step (``Probe.train_step``) run in-process. HC060 runs it; each invariant is its own check and names the
program's line that broke it. The fixture programs of ``tests/health_checks/fixtures/watch`` plant each
bug in one copy beside a healthy twin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from health_checks.context import CheckContext
from health_checks.core import Check, Details, NotApplicable, Outcome, Severity, SkipCheck, Status
from health_checks.render import ReportView
from health_checks.watch import invariants
from health_checks.watch.invariants import Verdict
from health_checks.watch.runner import WatchCommandError, WatchRun, watch_program
from health_checks.watch.trace import Trace, WatchOptions


def watch_options(ctx: CheckContext, out_dir: str) -> WatchOptions:
    s = ctx.settings
    return WatchOptions(
        out_dir=out_dir,
        root=str(ctx.root),
        steps=s.watch_steps,
        accumulation=s.watch_accumulation,
        frozen=tuple(s.watch_frozen),
        idle=s.watch_idle,
    )


def watched(ctx: CheckContext) -> WatchRun:
    """The watched run of the tree, once per run: its ``watch`` program, else its probe's train_step."""

    def compute() -> WatchRun:
        settings = ctx.settings
        out_dir = ctx.scratch / "watch"
        if settings.watch:
            try:
                return watch_program(
                    ctx.root,
                    settings.watch,
                    watch_options(ctx, str(out_dir)),
                    nproc=settings.watch_nproc,
                    timeout=settings.watch_timeout,
                )
            except WatchCommandError as error:
                raise SkipCheck(str(error)) from error
        if settings.probe:
            from health_checks.probe import load_probe
            from health_checks.watch.inprocess import watch_probe

            probe = load_probe(ctx)
            if probe.train_step is not None:
                trace = watch_probe(probe, watch_options(ctx, str(out_dir)))
                return WatchRun(command=f"{settings.probe} (train_step)", argv=[], nproc=1, traces=[trace])
        raise NotApplicable(
            'no training program to watch: name it in [tool.health_checks] watch = "train.py --epochs 1" '
            "(or give the probe a train_step)"
        )

    return ctx.memo("watch", compute)


@dataclass(frozen=True, kw_only=True)
class WatchRunDetails(Details):
    """The command watched, the processes, why the watch ended, and what the program did until then."""

    command: str
    nproc: int
    stopped: list[str] = field(default_factory=list)
    steps: int = 0
    forwards: int = 0
    backwards: int = 0
    models: list[str] = field(default_factory=list)
    optimizers: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    error_where: str | None = None
    output_tail: str | None = None


class HC060(Check):
    """The training program runs under the watcher.

    Runs ``[tool.health_checks] watch`` (or the probe's ``train_step``) until ``watch_steps`` optimiser
    steps, with hooks on the optimisers, ``backward``, module calls, ``DistributedDataParallel`` and the
    schedulers; the program is then ended (``os._exit`` after its trace is written, which no ``except``
    swallows). Fails when the program crashes or hangs before it can be judged; HC061-HC068 judge it.
    """

    name = "watch"
    severity = Severity.CRITICAL
    details_type = WatchRunDetails
    section_rank = 40

    def check(self, ctx: CheckContext) -> Outcome:
        run = watched(ctx)
        traces = run.traces
        details = WatchRunDetails(
            command=run.command,
            nproc=run.nproc,
            stopped=[t.stopped for t in traces],
            steps=invariants.steps_taken(traces),
            forwards=max((t.forwards for t in traces), default=0),
            backwards=max((len(t.backwards) for t in traces), default=0),
            models=sorted({m for t in traces for m in t.models}),
            optimizers=traces[0].optimizers if traces else [],
            error=next((t.error for t in traces if t.error), None),
            error_where=next((t.error_where for t in traces if t.error_where), None),
            output_tail=None if traces and not any(t.error for t in traces) else run.output_tail[-1500:],
        )
        if run.timed_out:
            return Outcome(
                Status.FAIL,
                f"`{run.command}` did not reach {ctx.settings.watch_steps} optimiser steps within the "
                f"{ctx.settings.watch_timeout:g} s safety cap (watch_timeout) and was killed",
                details,
            )
        if len(traces) < run.nproc:
            return Outcome(
                Status.FAIL,
                f"`{run.command}` ended (exit {run.returncode}) before the watcher could record "
                f"{run.nproc - len(traces)} of its {run.nproc} processes; its output ends: "
                f"{run.output_tail[-300:].strip()}",
                details,
            )
        ours = [t for t in traces if t.stopped == "watcher-error"]
        if ours:
            return Outcome(
                Status.WARN,
                f"health_checks' own error while watching `{run.command}`, not a finding about the program: "
                f"{ours[0].error} at {ours[0].error_where}; the invariants are not judged. Please report it.",
                details,
            )
        crashed = [t for t in traces if t.stopped == "crashed"]
        if crashed:
            trace = crashed[0]
            return Outcome(
                Status.FAIL,
                f"`{run.command}` crashed after {len(trace.steps)} optimiser steps at "
                f"{trace.error_where or '?'}: {trace.error}",
                details,
            )
        ranks = f" on {len(traces)} ranks" if len(traces) > 1 else ""
        return Outcome.passed(
            f"`{run.command}` watched{ranks} for {details.steps} optimiser steps, {details.forwards} training "
            f"forwards, {details.backwards} backward passes (ended: {', '.join(sorted(set(details.stopped)))})",
            details,
        )

    @classmethod
    def section(cls, view: ReportView) -> list[str]:
        found = view.details(cls.code(), WatchRunDetails)
        if found is None:
            return []
        lines = [
            "## Training Watch",
            "",
            f"`{found.command}` ({found.nproc} process{'es' if found.nproc > 1 else ''}): {found.steps} "
            f"optimiser steps, {found.forwards} training forwards, {found.backwards} backward passes; "
            f"models {', '.join(found.models) or 'none seen'}.",
            "",
            "| invariant | check | verdict |",
            "|---|---|---|",
        ]
        for code in INVARIANT_CODES:
            result = view.result(code)
            if result is not None:
                message = result.message.replace("|", "\\|")
                lines.append(f"| `{code}` | {result.title} | {result.status}: {message} |")
        return [*lines, ""]


@dataclass(frozen=True, kw_only=True)
class InvariantDetails(Details):
    """Base of the invariants' details: the steps watched and one finding per violation (with the
    program's source line)."""

    steps_watched: int = 0
    findings: list[dict[str, Any]] = field(default_factory=list)


class _Invariant(Check):
    """An invariant over the watched run (not a check itself: no HC code)."""

    severity = Severity.CRITICAL
    requires = ("HC060",)
    judge: ClassVar[Callable[..., Verdict]]

    def verdict(self, ctx: CheckContext, traces: Sequence[Trace]) -> Verdict:
        return type(self).judge(traces)

    def check(self, ctx: CheckContext) -> Outcome:
        traces = watched(ctx).traces
        if not traces:
            raise SkipCheck("the watched program left no trace (see HC060)")
        if any(t.stopped == "watcher-error" for t in traces):
            raise NotApplicable("the watch ended on health_checks' own error (see HC060): nothing to judge")
        verdict = self.verdict(ctx, traces)
        details = self.details_type(steps_watched=invariants.steps_taken(traces), findings=verdict.findings)
        status = Status.FAIL if not verdict.ok else Status.WARN if verdict.warn else Status.PASS
        return Outcome(status, verdict.message, details)


@dataclass(frozen=True, kw_only=True)
class CoverageDetails(InvariantDetails):
    """Parameters with a gradient no optimiser steps, trainable ones never reached; the frozen share."""


class HC061(_Invariant):
    """Every parameter with a gradient is stepped, and every trainable parameter gets a gradient.

    At the end of the watch: the parameters that received a gradient (their post-accumulate-grad hook
    fired) but belong to no stepped optimiser's param groups (``Adam(model.head.parameters())`` while the
    backbone trains), and the trainable parameters of a stepped model that no backward pass reached.
    Declared exceptions: ``watch_frozen = ["backbone.*"]``.
    """

    name = "watch-coverage"
    details_type = CoverageDetails
    judge = staticmethod(invariants.coverage)


@dataclass(frozen=True, kw_only=True)
class GradientResetDetails(InvariantDetails):
    """Per violating step: backward passes summed in its gradients and the parameters carried over."""


class HC062(_Invariant):
    """Gradients are zeroed between optimiser steps.

    Counts, per parameter, the backward passes summed in its gradient since it was last None or zero. A
    gradient carried over from before the previous step (``optimizer.zero_grad()`` missing from the loop)
    fails, and so does a step summing more passes than a declared ``watch_accumulation = K``; with none
    declared, several passes whose gradients were reset since the previous step warn (undeclared
    accumulation, or several losses back-propagated one by one).
    """

    name = "watch-grad-reset"
    details_type = GradientResetDetails

    def verdict(self, ctx: CheckContext, traces: Sequence[Trace]) -> Verdict:
        return invariants.gradient_reset(traces, ctx.settings.watch_accumulation)


@dataclass(frozen=True, kw_only=True)
class StepEffectDetails(InvariantDetails):
    """Per violating step: parameters left unchanged and step counts that did not advance."""


class HC063(_Invariant):
    """Each optimiser step changes the parameters that had a gradient and advances its step count.

    Between the optimiser's global step pre- and post-hooks: every parameter with a non-zero gradient
    must change, and the per-parameter ``step`` of the optimiser's state (Adam, AdamW ...) must advance by
    exactly one (a stuck count, 1, 2, 2, 2, is a step that did not run).
    """

    name = "watch-step-effect"
    details_type = StepEffectDetails
    judge = staticmethod(invariants.step_effect)


@dataclass(frozen=True, kw_only=True)
class LossDetails(InvariantDetails):
    """Per violation: the backward call, what was wrong and what the loss function received."""


class HC064(_Invariant):
    """The back-propagated loss is finite, has a graph and is not the same constant.

    Wraps ``torch.autograd.backward``: the tensor must be finite and have a graph; the same value on every
    pass is a loss that does not depend on the batch. The message then says what the loss function
    received (a loss module's inputs from its forward hook; a loss function's arguments, seen when the
    value repeats), not what a probe declares.
    """

    name = "watch-loss"
    details_type = LossDetails
    judge = staticmethod(invariants.loss_signal)


@dataclass(frozen=True, kw_only=True)
class ModeDetails(InvariantDetails):
    """Steps in eval mode, evaluations in train mode, and early evaluations with their output scales."""


class HC065(_Invariant):
    """The model is in train mode when stepped and in eval mode when evaluated.

    For a model whose output depends on its mode (dropout, batch norm): its mode at every step, and at
    every evaluation forward (gradient off) of a stepped model. An evaluation before any train-mode
    forward is replayed after training started: outputs 100x off in scale (a spectral-norm model
    evaluated before its power iteration ran) fail.
    """

    name = "watch-mode"
    severity = Severity.MAJOR
    details_type = ModeDetails
    judge = staticmethod(invariants.train_eval_mode)


@dataclass(frozen=True, kw_only=True)
class DdpDetails(InvariantDetails):
    """Ranks that step an unwrapped model and steps after which the ranks' parameters differ."""


class HC066(_Invariant):
    """Under DDP every rank's model is wrapped and the parameters stay identical across ranks.

    With ``watch_nproc`` > 1 the program runs under ``torchrun``: each rank's trace says whether its
    stepped parameters belong to a ``DistributedDataParallel`` module, and carries a float64 sum of every
    parameter after each step, compared across ranks.
    """

    name = "watch-ddp"
    details_type = DdpDetails

    def verdict(self, ctx: CheckContext, traces: Sequence[Trace]) -> Verdict:
        if max(t.world_size for t in traces) < 2:
            raise NotApplicable("the watched program runs in one process (watch_nproc = 1)")
        return invariants.ddp_sync(traces)


@dataclass(frozen=True, kw_only=True)
class LearningRateDetails(InvariantDetails):
    """Steps with a zero learning rate, schedules the optimiser does not follow, orphan schedulers."""


class HC067(_Invariant):
    """The learning rate is not 0 and follows its schedule.

    At every step: no parameter group at learning rate 0, and the groups' rates equal what the
    optimiser's scheduler says (``get_last_lr()``); a scheduler whose optimiser is never stepped moves
    nothing.
    """

    name = "watch-lr"
    severity = Severity.MAJOR
    details_type = LearningRateDetails
    judge = staticmethod(invariants.learning_rate)


@dataclass(frozen=True, kw_only=True)
class ProgressDetails(InvariantDetails):
    """The forwards and backward passes without a step, the losses seen and where the step was skipped."""


class HC068(_Invariant):
    """The training loop makes progress: it steps an optimiser.

    A program that draws batches and computes losses for ``watch_idle`` training forwards (or backward
    passes) without an optimiser step is stopped and fails, with the loss values it saw and the line after
    which the step was skipped (a loss of exactly 0 whose gradient reaches nothing, a guard that skips
    ``optimizer.step()``).
    """

    name = "watch-progress"
    details_type = ProgressDetails
    judge = staticmethod(invariants.progress)


INVARIANT_CODES = ("HC061", "HC062", "HC063", "HC064", "HC065", "HC066", "HC067", "HC068")
