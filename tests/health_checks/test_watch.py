"""The watch checks (HC060-HC068) on the fixture training programs of ``fixtures/watch``.

Each planted bug must fail exactly its invariant, naming the program's line (marked ``# watch: NAME`` in
the fixture); every healthy twin, and the intentional cases once declared, must pass every invariant.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from health_checks.context import CheckContext
from health_checks.core import Status
from health_checks.registry import all_checks
from health_checks.runner import run_checks
from health_checks.settings import load_settings

WATCH = Path(__file__).parent / "fixtures" / "watch"
CODES = ("HC060", "HC061", "HC062", "HC063", "HC064", "HC065", "HC066", "HC067", "HC068")


def marker(file: str, name: str) -> str:
    """``file:line`` of the line marked ``# watch: name`` in a fixture program."""
    for number, line in enumerate((WATCH / file).read_text(encoding="utf-8").splitlines(), start=1):
        if re.search(rf"# watch: {name}\b", line):
            return f"{file}:{number}"
    raise AssertionError(f"no '# watch: {name}' marker in {file}")


def watch(command: str, **overrides: Any) -> dict[str, Any]:
    settings = load_settings(WATCH, {"watch": command, "watch_steps": 4, **overrides})
    ctx = CheckContext(root=WATCH, settings=settings)
    checks = [c for c in all_checks() if c.code() in CODES]
    try:
        results = run_checks(checks, ctx, progress=False)
    finally:
        ctx.close()
    return {r.code: r for r in results}


def failing(results: dict[str, Any]) -> set[str]:
    return {code for code, r in results.items() if r.status == Status.FAIL}


HEALTHY = [
    ("plain_loop.py epochs=3", {}),
    ("wrapped_loss.py", {}),
    ("lightning_style.py", {}),
    ("spectral.py", {}),
    ("frozen_backbone.py", {"watch_frozen": ["backbone.*"]}),
    ("accumulate.py", {"watch_accumulation": 4}),
]


@pytest.mark.parametrize(("command", "overrides"), HEALTHY, ids=[c.split()[0] for c, _ in HEALTHY])
def test_healthy_programs_pass_every_invariant(command: str, overrides: dict[str, Any]) -> None:
    results = watch(command, **overrides)
    assert failing(results) == set(), {c: results[c].message for c in failing(results)}
    assert results["HC060"].details.steps == 4
    assert results["HC066"].status == Status.SKIP  # one process: nothing to compare across ranks


# (program, declared settings, the failing invariants, the one whose message names the line, marker)
PLANTED = [
    ("plain_no_zero_grad.py", {}, {"HC062"}, "HC062", ("plain_no_zero_grad.py", "here")),
    # the wrapper dict reaches the encoder only: the heads never get a gradient either (HC061)
    ("wrapped_loss_constant.py", {}, {"HC061", "HC064"}, "HC064", ("wrapped_loss.py", "backward")),
    ("wrapped_loss_skip_step.py", {}, {"HC064", "HC068"}, "HC068", ("wrapped_loss.py", "backward")),
    ("lightning_style_subset.py", {}, {"HC061"}, "HC061", ("lightning_style_subset.py", "optimizer")),
    ("lightning_style_stuck_step.py", {}, {"HC063"}, "HC063", ("lightning_style.py", "step")),
    (
        "plain_zero_grad_after_backward.py",
        {},
        {"HC063"},
        "HC063",
        ("plain_zero_grad_after_backward.py", "step"),
    ),
    ("frozen_backbone.py", {}, {"HC061"}, "HC061", ("frozen_backbone.py", "optimizer")),
    ("plain_warmup_zero_lr.py", {}, {"HC067"}, "HC067", ("plain_warmup_zero_lr.py", "step")),
    ("plain_eval_in_train_mode.py", {}, {"HC065"}, "HC065", ("plain_eval_in_train_mode.py", "eval")),
    (
        "plain_schedule_wrong_optimizer.py",
        {},
        {"HC067"},
        "HC067",
        ("plain_schedule_wrong_optimizer.py", "scheduler"),
    ),
    ("spectral_eval_first.py", {}, {"HC065"}, "HC065", ("spectral.py", "eval")),
]


@pytest.mark.parametrize(
    ("command", "overrides", "codes", "named", "line"), PLANTED, ids=[p[0] for p in PLANTED]
)
def test_planted_bug_fails_its_invariant_naming_the_line(
    command: str, overrides: dict[str, Any], codes: set[str], named: str, line: tuple[str, str]
) -> None:
    results = watch(command, **overrides)
    assert results["HC060"].status == Status.PASS, results["HC060"].message
    assert failing(results) == codes, {c: r.message for c, r in results.items()}
    assert marker(*line) in results[named].message


def test_constant_loss_says_what_the_loss_function_received() -> None:
    message = watch("wrapped_loss_constant.py")["HC064"].message
    assert "horizon_loss" in message
    assert "'features'" in message and "'predictions'" in message  # the wrapper dict, not the predictions


def test_no_progress_reports_the_losses_and_stops_the_program() -> None:
    results = watch("wrapped_loss_skip_step.py")
    message = results["HC068"].message
    assert "losses 0, 0" in message
    assert "no parameter a non-zero gradient" in message
    # stopped by the watch after watch_idle (20) forwards, not by the end of the program (24 batches)
    assert results["HC060"].details.stopped == ["no-progress"]
    assert results["HC068"].details.findings[0]["forwards"] == 21


@pytest.mark.slow
def test_ddp_program_every_rank_watched() -> None:
    results = watch("ddp_loop.py", watch_nproc=2)
    assert failing(results) == set(), {c: results[c].message for c in failing(results)}
    assert results["HC066"].status == Status.PASS
    assert "2 ranks" in results["HC066"].message


@pytest.mark.slow
def test_ddp_unwrapped_ranks_drift_apart() -> None:
    results = watch("ddp_unwrapped.py", watch_nproc=2)
    assert failing(results) == {"HC066"}, {c: r.message for c, r in results.items()}
    message = results["HC066"].message
    assert marker("ddp_loop.py", "step") in message
    assert "without DistributedDataParallel" in message and "differ between ranks" in message


def test_cli_watches_a_program_and_the_report_has_a_watch_section(tmp_path: Path) -> None:
    from health_checks.cli import main

    argv = ["--root", str(WATCH), "--watch", "plain_no_zero_grad.py", "--watch-steps", "3"]
    argv += ["--only", ",".join(CODES), "--no-progress"]
    argv += ["--json-dir", str(tmp_path / "json"), "--markdown-dir", str(tmp_path / "md")]
    assert main(argv) == 2
    (markdown,) = (tmp_path / "md").glob("*.md")
    text = markdown.read_text(encoding="utf-8")
    section = text[text.index("## Training Watch") :]
    assert "`plain_no_zero_grad.py` (1 process): 3 optimiser steps" in section
    assert "| `HC062` | Gradients are zeroed between optimiser steps | fail: " in section
    assert marker("plain_no_zero_grad.py", "here") in section


def test_cli_rejects_zero_watch_steps(capsys: pytest.CaptureFixture[str]) -> None:
    from health_checks.cli import main

    assert main(["--root", str(WATCH), "--watch-steps", "0", "--no-report"]) == 2
    assert "error: --watch-steps" in capsys.readouterr().err


def test_a_hand_written_update_is_progress_not_a_stuck_loop() -> None:
    results = watch("plain_manual_update.py")
    assert results["HC068"].status == Status.PASS, results["HC068"].message
    assert "without a torch.optim step" in results["HC068"].message
    assert results["HC060"].details.stopped == ["no-progress"]  # still stopped: bounded by the watch


def test_undeclared_accumulation_warns_and_a_declared_k_is_enforced() -> None:
    results = watch("accumulate.py")
    assert results["HC062"].status == Status.WARN  # several passes per step, each reset after the step
    assert marker("accumulate.py", "step") in results["HC062"].message
    assert "sum of 4 backward passes" in results["HC062"].message
    too_few = watch("accumulate.py", watch_accumulation=2)
    assert too_few["HC062"].status == Status.FAIL and "2 declared" in too_few["HC062"].message


def test_a_torchrun_command_is_refused_with_what_to_write_instead() -> None:
    from health_checks.watch.runner import WatchCommandError, program_argv

    assert program_argv("python train.py --epochs 1") == ["train.py", "--epochs", "1"]
    assert program_argv("-m pkg.train") == ["-m", "pkg.train"]
    with pytest.raises(WatchCommandError, match="watch_nproc"):
        program_argv("torchrun --nproc_per_node 2 train.py")
    with pytest.raises(WatchCommandError, match="names no program"):
        program_argv("python")


def test_a_program_that_never_trains_is_flagged_as_such(tmp_path: Path) -> None:
    script = "import torch\nmodel = torch.nn.Linear(2, 1).eval()\nwith torch.no_grad():\n    print(model(torch.ones(3, 2)))\n"
    (tmp_path / "infer.py").write_text(script)
    settings = load_settings(tmp_path, {"watch": "infer.py"})
    ctx = CheckContext(root=tmp_path, settings=settings)
    try:
        results = {
            r.code: r for r in run_checks([c for c in all_checks() if c.code() in CODES], ctx, progress=False)
        }
    finally:
        ctx.close()
    assert results["HC060"].status == Status.PASS and results["HC060"].details.stopped == ["finished"]
    assert results["HC068"].status == Status.FAIL
    assert "without a training forward" in results["HC068"].message


def test_a_missing_script_fails_the_watch_with_what_to_write() -> None:
    result = watch("no_such_train.py")["HC060"]
    assert result.status == Status.FAIL
    assert "no_such_train.py, which is not a file under" in result.message
