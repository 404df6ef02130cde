"""The invariants every correct training loop keeps, judged from the traces of a watched run.

Each function takes the traces (one per process; one per rank under ``torchrun``) and returns a
:class:`Verdict`: whether the invariant held, a message naming the program's line that broke it, and one
finding per violation. No reference run is needed; what a program does on purpose (gradient
accumulation, frozen modules) is declared (``watch_accumulation``, ``watch_frozen``), never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from health_checks.watch.trace import Trace

# parameters listed by name in a message (the details keep them all)
SHOWN = 6
# relative difference of a parameter's sum between ranks that counts as out of sync
RANK_TOLERANCE = 1e-6
# backward passes with the same value that make a constant loss
CONSTANT_AFTER = 3


@dataclass(frozen=True)
class Verdict:
    """One invariant's verdict over a watched run."""

    ok: bool
    message: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    #: held, but with something the program should confirm (reported as a warning)
    warn: bool = False


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def _rank(trace: Trace, traces: Sequence[Trace]) -> str:
    return f"rank {trace.rank}: " if len(traces) > 1 else ""


def steps_taken(traces: Sequence[Trace]) -> int:
    return max((len(t.steps) for t in traces), default=0)


def coverage(traces: Sequence[Trace]) -> Verdict:
    """Every parameter that gets a gradient is stepped by an optimiser, and every trainable parameter of
    a stepped model gets a gradient (parameters matching ``watch_frozen`` excepted)."""
    findings, problems = [], []
    for trace in traces:
        built = "; ".join(f"{o['label']} built at {o['built_at']}" for o in trace.optimizers)
        if trace.grad_not_stepped:
            findings.append(
                {"rank": trace.rank, "kind": "grad-not-stepped", "params": trace.grad_not_stepped}
            )
            problems.append(
                f"{_rank(trace, traces)}{len(trace.grad_not_stepped)} parameters get a gradient but no "
                f"optimiser steps them ({_names(trace.grad_not_stepped)}); the optimisers: {built}"
            )
        if trace.never_reached:
            findings.append({"rank": trace.rank, "kind": "never-reached", "params": trace.never_reached})
            problems.append(
                f"{_rank(trace, traces)}{len(trace.never_reached)} trainable parameters of "
                f"{', '.join(trace.models)} never get a gradient in {len(trace.backwards)} backward passes "
                f"({_names(trace.never_reached)})"
            )
    if problems:
        return Verdict(
            False,
            "; ".join(problems) + ". Build the optimiser over every parameter that trains, set "
            "requires_grad=False on what is frozen, or declare it in [tool.health_checks] watch_frozen.",
            findings,
        )
    trace = traces[0]
    total = trace.trainable + trace.frozen
    share = trace.frozen / total if total else 0.0
    declared = (
        f", {len(trace.declared_frozen)} declared frozen by watch_frozen" if trace.declared_frozen else ""
    )
    return Verdict(
        True,
        f"every parameter with a gradient is stepped and every trainable one gets a gradient "
        f"({trace.stepped_params:,} stepped; frozen share {share:.0%}{declared})",
    )


def gradient_reset(traces: Sequence[Trace], accumulation: int = 1) -> Verdict:
    """Gradients are zeroed (or set to None) between optimiser steps.

    A gradient carried over from before the previous step (``zero_grad`` missing) fails, and so does a
    step summing more backward passes than the declared ``accumulation`` (K > 1). With none declared, a
    step summing several passes whose gradients were all reset since the previous step only warns: it is
    undeclared accumulation or several losses back-propagated separately (the discriminator of the DCGAN
    tutorial), which the watch cannot tell apart.
    """
    findings, problems, warnings = [], [], []
    for trace in traces:
        for step in trace.steps:
            carried = bool(step.carried) and accumulation == 1
            if not carried and step.accumulated <= accumulation:
                continue
            severe = carried or accumulation > 1
            findings.append(
                {
                    "rank": trace.rank,
                    "step": step.index,
                    "where": step.where,
                    "last_backward": step.last_backward,
                    "accumulated": step.accumulated,
                    "carried": step.carried,
                    "severity": "fail" if severe else "warn",
                }
            )
            what = (
                f"the gradients of {len(step.carried)} parameters ({_names(step.carried)}) were not zeroed "
                "after the previous step: "
                if step.carried
                else ""
            )
            declared = "no accumulation declared" if accumulation == 1 else f"{accumulation} declared"
            (problems if severe else warnings).append(
                f"{_rank(trace, traces)}{what}step {step.index + 1} at {step.where} applies the sum of "
                f"{step.accumulated} backward passes (the last at {step.last_backward or '?'}; {declared})"
            )
    advice = (
        "Call optimizer.zero_grad() once per step, or declare the gradient accumulation in "
        "[tool.health_checks] watch_accumulation = K."
    )
    if problems:
        return Verdict(False, f"{problems[0]}. {advice}", findings)
    if warnings:
        return Verdict(
            True,
            f"{warnings[0]} ({len(warnings)} such steps): gradient accumulation, or several losses "
            f"back-propagated one by one? {advice}",
            findings,
            warn=True,
        )
    most = max((s.accumulated for t in traces for s in t.steps), default=0)
    return Verdict(True, f"gradients reset between steps (at most {most} backward pass(es) per step)")


def step_effect(traces: Sequence[Trace]) -> Verdict:
    """Each optimiser step changes every parameter that had a non-zero gradient, and advances the
    optimiser's per-parameter step count by one."""
    findings, problems = [], []
    for trace in traces:
        counts = [s.step_counts[0] for s in trace.steps if s.step_counts]
        for step in trace.steps:
            erased = step.with_grad == 0 and step.reached_before > 0
            if not step.unchanged and not step.count_not_advanced and not erased:
                continue
            findings.append(
                {
                    "rank": trace.rank,
                    "step": step.index,
                    "where": step.where,
                    "unchanged": step.unchanged,
                    "count_not_advanced": step.count_not_advanced,
                    "gradient_erased": erased,
                }
            )
            if problems:
                continue
            parts = []
            if erased:
                parts.append(
                    f"found no gradient: the backward pass before it gave {step.reached_before} parameters "
                    "a gradient, and it was None or zero by the step (zero_grad between backward and step?)"
                )
            if step.unchanged:
                parts.append(
                    f"left {len(step.unchanged)} of {step.with_grad} parameters with a non-zero gradient "
                    f"unchanged ({_names(step.unchanged)})"
                )
            if step.count_not_advanced:
                seen = ", ".join(f"{c:g}" for c in counts)
                parts.append(f"did not advance the per-parameter step count (counts over the steps: {seen})")
            problems.append(
                f"{_rank(trace, traces)}step {step.index + 1} of {step.optimizer} at {step.where} "
                + " and ".join(parts)
            )
    if problems:
        return Verdict(
            False,
            problems[0] + ". The step does not update the model: a skipped or replaced update, a learning "
            "rate of 0, or parameters the optimiser holds copies of.",
            findings,
        )
    return Verdict(True, f"{steps_taken(traces)} steps each changed every parameter that had a gradient")


def _inputs(source: dict[str, Any] | None) -> str:
    if not source:
        return "its inputs were not seen (the loss is not a module's output nor a function's return)"
    at = source.get("called_at") or source.get("defined_at")
    return f"{source['function']} ({at}) received {source['inputs']}"


def loss_signal(traces: Sequence[Trace]) -> Verdict:
    """The tensor back-propagated is finite, has a graph, reaches a parameter and is not the same
    constant on every pass."""
    findings, problems = [], []
    for trace in traces:
        for record in trace.backwards:
            kind = None
            if not record.finite:
                kind = f"is not finite ({record.value})"
            elif not record.has_graph:
                kind = "has no graph (no grad_fn: it was computed without gradient or detached)"
            if kind:
                findings.append(
                    {"rank": trace.rank, "backward": record.index, "where": record.where, "kind": kind}
                )
                if not problems:
                    problems.append(
                        f"{_rank(trace, traces)}the tensor back-propagated at {record.where} {kind}"
                    )
        values = [b.value for b in trace.backwards if b.value is not None]
        if len(values) >= CONSTANT_AFTER and len(set(values)) == 1:
            last = trace.backwards[-1]
            source = next((b.source for b in reversed(trace.backwards) if b.source), None)
            reached = "; no parameter got a non-zero gradient from it" if last.params_with_grad == 0 else ""
            findings.append(
                {
                    "rank": trace.rank,
                    "where": last.where,
                    "kind": "constant",
                    "value": values[0],
                    "source": source,
                }
            )
            problems.append(
                f"{_rank(trace, traces)}the loss back-propagated at {last.where} is the same constant "
                f"{values[0]:g} on all {len(values)} passes{reached}: {_inputs(source)}"
            )
    if problems:
        return Verdict(
            False,
            "; ".join(problems)
            + ". A loss that does not depend on the batch teaches nothing: check what the "
            "loss function is handed.",
            findings,
        )
    values = [b.value for t in traces for b in t.backwards if b.value is not None]
    shown = " / ".join(f"{v:.4g}" for v in values[:5])
    return Verdict(True, f"{len(values)} finite losses with a graph that vary ({shown})")


def train_eval_mode(traces: Sequence[Trace]) -> Verdict:
    """A model whose output depends on its mode is in train mode when stepped and in eval mode when
    evaluated; an evaluation before any training forward is not 100x off the same evaluation after one."""
    findings, problems = [], []
    for trace in traces:
        for step in trace.steps:
            if step.training is False and step.mode_dependent:
                findings.append(
                    {"rank": trace.rank, "kind": "stepped-in-eval", "step": step.index, "where": step.where}
                )
                if not problems:
                    problems.append(
                        f"{_rank(trace, traces)}{step.model} is in eval mode when step {step.index + 1} at "
                        f"{step.where} trains it (dropout and batch statistics are off)"
                    )
        for row in trace.eval_in_train_mode:
            findings.append({"rank": trace.rank, "kind": "evaluated-in-train", **row})
            problems.append(
                f"{_rank(trace, traces)}{row['model']} is evaluated (gradient off) in train mode at "
                f"{row['where']}: call model.eval() before evaluating"
            )
        for row in trace.early_eval:
            if row["flagged"]:
                findings.append({"rank": trace.rank, "kind": "early-eval", **row})
                off = "infinitely" if row["ratio"] is None else f"{row['ratio']:.3g}x"
                problems.append(
                    f"{_rank(trace, traces)}the evaluation of {row['model']} at {row['where']} ran before any "
                    f"train-mode forward: its outputs' scale {row['scale_before_training']:.3g} is {off} "
                    f"off the {row['scale_after_training']:.3g} of the same evaluation "
                    "after training started (an uninitialised state such as spectral norm's power "
                    "iteration or batch-norm statistics)"
                )
    if problems:
        return Verdict(False, "; ".join(problems[:3]) + ".", findings)
    evaluations = sum(t.evaluations for t in traces)
    replayed = sum(len(t.early_eval) for t in traces)
    mode_dependent = any(s.mode_dependent for t in traces for s in t.steps)
    if not mode_dependent:
        return Verdict(
            True,
            f"the stepped model computes the same in train and eval mode (no dropout or batch statistics); "
            f"{evaluations} evaluation forwards seen, {replayed} early evaluation(s) replayed on scale",
        )
    return Verdict(
        True,
        f"stepped in train mode; {evaluations} evaluation forwards seen, in eval mode; {replayed} early "
        "evaluation(s) replayed on scale",
    )


def ddp_sync(traces: Sequence[Trace]) -> Verdict:
    """Under DistributedDataParallel: every rank's stepped model is wrapped, and the parameters are the
    same on every rank after every step."""
    findings, problems = [], []
    for trace in traces:
        unwrapped = [s for s in trace.steps if not s.ddp_wrapped]
        if unwrapped:
            findings.append({"rank": trace.rank, "kind": "not-wrapped", "where": unwrapped[0].where})
            problems.append(
                f"rank {trace.rank} steps {unwrapped[0].model or 'a model'} without DistributedDataParallel "
                f"(step at {unwrapped[0].where}; the model was not wrapped on this rank's code path)"
            )
    if len(traces) < traces[0].world_size:
        ranks = sorted(t.rank for t in traces)
        problems.append(f"only ranks {ranks} of {traces[0].world_size} left a trace")
    for index in range(min((len(t.steps) for t in traces), default=0)):
        digests = [t.steps[index].digest for t in traces]
        if not all(digests) or len({len(d) for d in digests}) != 1:
            continue
        worst = 0.0
        for values in zip(*digests, strict=True):
            spread = max(values) - min(values)
            worst = max(worst, spread / max(max(abs(v) for v in values), 1e-12))
        if worst > RANK_TOLERANCE:
            findings.append({"kind": "out-of-sync", "step": index, "relative_difference": worst})
            if not any("differ between ranks" in p for p in problems):
                problems.append(
                    f"the parameters differ between ranks after step {index + 1} at {traces[0].steps[index].where} "
                    f"(largest relative difference of a parameter's sum: {worst:.3g})"
                )
    if problems:
        return Verdict(False, "; ".join(problems) + ".", findings)
    return Verdict(
        True,
        f"{len(traces)} ranks wrapped in DistributedDataParallel, identical after {steps_taken(traces)} steps",
    )


def learning_rate(traces: Sequence[Trace]) -> Verdict:
    """No parameter group steps with a learning rate of 0, every scheduler's optimiser is stepped, and the
    learning rate each step uses is the one its scheduler says."""
    findings, problems = [], []
    for trace in traces:
        for step in trace.steps:
            if any(lr == 0 for lr in step.lrs):
                findings.append({"rank": trace.rank, "kind": "zero", "step": step.index, "where": step.where})
                if not any("learning rate 0" in p for p in problems):
                    problems.append(
                        f"{_rank(trace, traces)}step {step.index + 1} of {step.optimizer} at {step.where} runs "
                        f"with learning rate 0 (groups: {step.lrs})"
                    )
            said = step.scheduler_lrs
            if said is not None and any(
                abs(a - b) > 1e-9 * max(abs(a), abs(b), 1e-30) for a, b in zip(said, step.lrs, strict=False)
            ):
                findings.append(
                    {
                        "rank": trace.rank,
                        "kind": "schedule",
                        "step": step.index,
                        "said": said,
                        "used": step.lrs,
                    }
                )
                if not any("says" in p for p in problems):
                    problems.append(
                        f"{_rank(trace, traces)}{step.scheduler} says the learning rate is {said} but step "
                        f"{step.index + 1} at {step.where} uses {step.lrs}"
                    )
        for row in trace.orphan_schedulers:
            findings.append({"rank": trace.rank, "kind": "orphan", **row})
            problems.append(
                f"{_rank(trace, traces)}{row['scheduler']} schedules {row['optimizer']}, which is never stepped: "
                "the schedule moves nothing"
            )
    if problems:
        return Verdict(False, "; ".join(problems) + ".", findings)
    lrs = [s.lrs[0] for t in traces[:1] for s in t.steps if s.lrs]
    shown = " / ".join(f"{lr:.3g}" for lr in lrs[:6])
    return Verdict(True, f"learning rates non-zero and as scheduled ({shown})")


def progress(traces: Sequence[Trace]) -> Verdict:
    """The loop makes progress: it does not compute losses without ever stepping an optimiser."""
    findings, problems, notes = [], [], []
    for trace in traces:
        if trace.stopped != "no-progress" and (trace.steps or trace.stopped == "crashed"):
            continue
        if trace.moved_without_step:
            notes.append(
                f"{_rank(trace, traces)}the parameters change without a torch.optim step (a hand-written "
                "update): the loop progresses, but the step invariants (HC061-HC063, HC067) cannot judge it"
            )
            continue
        if trace.forwards == 0 and not trace.backwards:
            findings.append({"rank": trace.rank, "forwards": 0, "backwards": 0, "losses": [], "where": None})
            problems.append(
                f"{_rank(trace, traces)}the program ended without a training forward or a backward pass in "
                "the watched process: is it the training entry point? (a program that trains in processes "
                "it starts itself, torch.multiprocessing.spawn, runs under torchrun with watch_nproc)"
            )
            continue
        losses = ", ".join(f"{v:g}" for v in trace.losses_seen[-8:]) or "none seen"
        where = trace.last_backward_where or trace.forward_where or "?"
        reach = ""
        if trace.backwards and trace.backwards[-1].params_with_grad == 0:
            reach = "; the last backward pass gave no parameter a non-zero gradient"
        how = "was stopped" if trace.stopped == "no-progress" else "ended"
        since = f"since step {len(trace.steps)}" if trace.steps else "without a single optimiser step"
        findings.append(
            {
                "rank": trace.rank,
                "forwards": trace.idle_forwards,
                "backwards": trace.idle_backwards,
                "losses": trace.losses_seen[-8:],
                "where": where,
            }
        )
        problems.append(
            f"{_rank(trace, traces)}the program {how} after {trace.idle_forwards} training forwards and "
            f"{trace.idle_backwards} backward passes {since} (losses {losses}){reach}; the step was "
            f"skipped after {where}"
        )
    if problems:
        return Verdict(
            False,
            "; ".join(problems) + ". Look for a condition that skips optimizer.step() (a guard on the "
            "gradients, an exception caught around the step).",
            findings,
        )
    if notes:
        return Verdict(True, "; ".join(notes) + ".")
    return Verdict(
        True, f"{steps_taken(traces)} optimiser steps in {max(t.forwards for t in traces)} training forwards"
    )
