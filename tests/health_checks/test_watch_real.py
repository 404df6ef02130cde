"""No false alarm: the watch checks pass every healthy real training program of ``fixtures/watch_real``
(built on torch_geometric, Lightning, spectral_norm, a model caching a non-leaf tensor, DataLoader
workers under spawn) and atft's own training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from health_checks.context import CheckContext
from health_checks.core import Status
from health_checks.registry import all_checks
from health_checks.runner import run_checks
from health_checks.settings import load_settings

REAL = Path(__file__).parent / "fixtures" / "watch_real"
REPO = Path(__file__).resolve().parents[2]
CODES = ("HC060", "HC061", "HC062", "HC063", "HC064", "HC065", "HC066", "HC067", "HC068")
STEPS = 5


def watch(root: Path, command: str, **overrides: Any) -> dict[str, Any]:
    settings = load_settings(root, {"watch": command, "watch_steps": STEPS, **overrides})
    ctx = CheckContext(root=root, settings=settings)
    try:
        results = run_checks([c for c in all_checks() if c.code() in CODES], ctx, progress=False)
    finally:
        ctx.close()
    return {r.code: r for r in results}


def assert_healthy(results: dict[str, Any]) -> None:
    failed = {c: r.message for c, r in results.items() if r.status not in (Status.PASS, Status.SKIP)}
    assert failed == {}
    assert results["HC060"].details.steps == STEPS
    assert results["HC066"].details.not_applicable  # one process
    assert all(results[c].status == Status.PASS for c in CODES if c != "HC066")


REAL_PROGRAMS = [
    "pyg_gat.py --epochs 20",
    "lstm_forecaster.py --epochs 2 --workers 2",
    "cached_transpose.py",
    "spectral_gan.py",
    pytest.param(
        "lightning_trainer.py",
        marks=pytest.mark.skipif(
            __import__("importlib").util.find_spec("lightning") is None, reason="lightning is not installed"
        ),
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("command", REAL_PROGRAMS)
def test_real_program_raises_no_false_alarm(command: str) -> None:
    assert_healthy(watch(REAL, command))


@pytest.mark.slow
def test_atft_training_passes_under_the_watcher() -> None:
    command = load_settings(REPO).watch  # the program `nox -s health` watches
    assert command and "-m atft train" in command
    results = watch(REPO, command)
    assert_healthy(results)
    assert results["HC060"].details.models == ["ATFT_GAT_FAN"]
