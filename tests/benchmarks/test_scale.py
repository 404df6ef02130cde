"""benchmarks.scale: the growth exponent and one real (tiny) phase run."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pytest

from benchmarks.scale import growth_exponent, render, run_phase


def test_growth_exponent_recovers_a_power_law() -> None:
    assert growth_exponent([100, 200, 400], [1.0, 4.0, 16.0]) == pytest.approx(2.0)
    assert growth_exponent([100, 1000], [3.0, 30.0]) == pytest.approx(1.0)
    assert math.isnan(growth_exponent([100], [1.0]))


@pytest.mark.parametrize(("batch_days", "expected_days"), [("1", 1), ("auto", 3)])
def test_build_and_train_phases_measure_a_tiny_market(
    tmp_path: Path, batch_days: str, expected_days: int
) -> None:
    """A step of K days (auto: ceil(48 rows / 16 stocks) = 3) counts K * N stock-days."""
    base = {
        "stocks": 16,
        "days": 140,
        "lookback": 5,
        "hidden": 8,
        "threads": 1,
        "train_steps": 2,
        "batch_days": batch_days,
        "rows_per_step": 48,
    }
    rows = []
    for phase in ("build", "train"):
        args = argparse.Namespace(phase=phase, work=str(tmp_path), baselines="zero", **base)
        rows.append(run_phase(args))
    assert rows[0]["days"] > 140 and rows[0]["cache_mib"] > 0
    assert rows[1]["batch_days"] == expected_days
    assert rows[1]["per_step_s"] > 0 and rows[1]["stock_days_per_s"] == pytest.approx(
        16 * expected_days / rows[1]["per_step_s"]
    )
    assert (tmp_path / "model.safetensors").exists()
    table = render(rows, argparse.Namespace(**base, baselines="zero"))
    assert "| 16 | build |" in table and f"s/step of {expected_days} day(s)" in table
