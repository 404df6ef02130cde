"""The invariants as pure functions of traces: the cases the fixture programs reach only slowly (two
ranks under torchrun) or not at all (a scheduler that disagrees with the learning rate a step uses)."""

from __future__ import annotations

from health_checks.watch import invariants
from health_checks.watch.trace import StepRecord, Trace, WatchOptions


def step(index: int, **fields: object) -> StepRecord:
    values: dict = {"optimizer": "SGD#0", "where": f"train.py:{10 + index}: opt.step()", "lrs": [0.1]}
    values.update(fields)
    return StepRecord(index=index, **values)


def test_ranks_in_sync_pass_and_drift_fails_naming_the_step() -> None:
    same = [Trace(rank=r, world_size=2, steps=[step(0, ddp_wrapped=True, digest=[1.0, 2.0])]) for r in (0, 1)]
    assert invariants.ddp_sync(same).ok
    drift = [
        Trace(rank=0, world_size=2, steps=[step(0, ddp_wrapped=True, digest=[1.0, 2.0])]),
        Trace(rank=1, world_size=2, steps=[step(0, ddp_wrapped=True, digest=[1.0, 2.016])]),
    ]
    verdict = invariants.ddp_sync(drift)
    assert not verdict.ok and "differ between ranks after step 1 at train.py:10" in verdict.message


def test_a_rank_that_left_no_trace_fails() -> None:
    verdict = invariants.ddp_sync([Trace(rank=0, world_size=2, steps=[step(0, ddp_wrapped=True)])])
    assert not verdict.ok and "only ranks [0] of 2" in verdict.message


def test_a_step_off_its_schedule_fails() -> None:
    trace = Trace(steps=[step(0, scheduler="StepLR built at train.py:5", scheduler_lrs=[0.05])])
    verdict = invariants.learning_rate([trace])
    assert not verdict.ok and "says the learning rate is [0.05] but step 1 at train.py:10" in verdict.message
    assert invariants.learning_rate([Trace(steps=[step(0, scheduler="s", scheduler_lrs=[0.1])])]).ok


def test_a_step_count_that_stalls_lists_the_counts() -> None:
    steps = [step(i, with_grad=2, step_counts=[min(i + 1, 2)]) for i in range(4)]
    steps[2].count_not_advanced = ["w"]
    verdict = invariants.step_effect([Trace(steps=steps)])
    assert not verdict.ok and "counts over the steps: 1, 2, 2, 2" in verdict.message


def test_trace_and_options_round_trip_through_json() -> None:
    trace = Trace(rank=1, steps=[step(0, carried=["w"])], losses_seen=[0.5])
    assert Trace.from_dict(__import__("json").loads(trace.to_json())) == trace
    options = WatchOptions(out_dir="/tmp/x", root="/r", frozen=("backbone.*",))
    assert WatchOptions.from_json(options.to_json()) == options
