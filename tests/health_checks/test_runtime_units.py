"""Unit cases of the runtime checks that a fixture tree cannot plant cheaply: a zero-row artifact, the
environment reads the static scan recognises, the report files HC005 leaves alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest
import torch

from health_checks.checks.datacontract import HC050
from health_checks.checks.environment import _env_name
from health_checks.checks.hygiene import own_report
from health_checks.checks.training import judge_spread
from health_checks.context import CheckContext
from health_checks.core import Status
from health_checks.probe import Probe
from health_checks.settings import HealthSettings


def tiny_probe(artifact: pd.DataFrame) -> Probe:
    model = torch.nn.Linear(3, 1)
    batch = (torch.randn(4, 3), {"y": torch.randn(4)})
    return Probe(
        label="linear",
        model=model,
        train_batches=[batch],
        val_batches=[batch],
        forward=lambda m, b: m(b[0]).squeeze(-1),
        predictions=lambda out: {"y": out},
        loss=lambda out, b: torch.nn.functional.mse_loss(out, b[1]["y"]),
        targets=lambda b: b[1],
        optimizer=lambda params: torch.optim.SGD(params, lr=0.1),
        artifact=artifact,
    )


def context_with(tmp_path: Path, probe: Probe, previous: dict | None = None) -> CheckContext:
    ctx = CheckContext(root=tmp_path, settings=HealthSettings(probe="x:y"), previous=previous)
    ctx.memo("probe", lambda: probe)
    return ctx


def test_a_zero_row_artifact_fails(tmp_path: Path) -> None:
    outcome = HC050().check(context_with(tmp_path, tiny_probe(pd.DataFrame({"a": [], "b": []}))))
    assert outcome.status == Status.FAIL and "0 rows" in outcome.message


def test_a_null_share_rise_since_the_previous_report_warns(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.0, None, None, 4.0], "b": [1.0, 2.0, 3.0, 4.0]})
    ctx = context_with(tmp_path, tiny_probe(frame), previous={"null_shares": {"a": 0.1, "b": 0.0}})
    outcome = HC050().check(ctx)
    assert outcome.status == Status.WARN
    assert "a 10.0% → 50.0%" in outcome.message
    assert outcome.details.rises == {"a": {"before": 0.1, "now": 0.5}}


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ('os.getenv("A_B")', "A_B"),
        ('os.environ.get("A_B", "0")', "A_B"),
        ('os.environ["A_B"]', "A_B"),
        ('environ["A_B"]', "A_B"),
        ('"A_B" in os.environ', "A_B"),
        ('getenv("A_B")', "A_B"),
        ('config.get("A_B")', None),
        ("os.getenv(name)", None),
    ],
)
def test_the_static_scan_recognises_environment_reads(source: str, name: str | None) -> None:
    node = ast.parse(source, mode="eval").body
    assert _env_name(node) == name


def test_hygiene_leaves_the_tools_own_reports_alone(tmp_path: Path) -> None:
    ctx = CheckContext(root=tmp_path, settings=HealthSettings())
    assert own_report(ctx, "docs/improvements/2026-12-01.md")
    assert own_report(ctx, "docs/improvements/2026-12-01-diagnostics.png")
    assert own_report(ctx, "_logs/health-checks/health-check-20261201-101010.json")
    assert not own_report(ctx, "docs/improvements/notes.md")
    assert not own_report(ctx, "docs/health_checks.md")


def spread_rows(pred_std: float) -> list[dict]:
    return [
        {
            "horizon": "1d",
            "pred_std": pred_std,
            "target_std_model_units": 1.0,
            "model_scale_ratio": pred_std,
            "scale_ratio": pred_std / 50,
            "constant_day_share": 0.0,
            "n_days": 200,
        }
    ]


PREVIOUS_SPREAD = {
    "source": "_logs/health-checks/health-check-20261130-090000.json",
    "spread": [{"horizon": "1d", "pred_std": 0.4}],
}


def test_hc021_shows_the_previous_spread_and_warns_on_a_large_drop(tmp_path: Path) -> None:
    ctx = CheckContext(root=tmp_path, settings=HealthSettings(), previous=PREVIOUS_SPREAD)
    outcome = judge_spread(ctx, "tiny", spread_rows(0.1))  # above the 0.05 floor, a quarter of before
    assert outcome.status == Status.WARN, outcome.message
    assert "1d 0.4 → 0.1 (25% of before)" in outcome.message
    (row,) = outcome.details.horizons
    assert row["previous_pred_std"] == 0.4 and row["vs_previous"] == pytest.approx(0.25)
    assert outcome.details.previous_report == PREVIOUS_SPREAD["source"]


def test_hc021_passes_a_spread_that_held_and_a_run_without_a_previous_report(tmp_path: Path) -> None:
    held = CheckContext(root=tmp_path, settings=HealthSettings(), previous=PREVIOUS_SPREAD)
    outcome = judge_spread(held, "tiny", spread_rows(0.3))  # 75% of before, above min_spread_vs_previous
    assert outcome.status == Status.PASS and outcome.details.horizons[0]["vs_previous"] == pytest.approx(0.75)
    first = judge_spread(CheckContext(root=tmp_path, settings=HealthSettings()), "tiny", spread_rows(0.1))
    assert first.status == Status.PASS and first.details.horizons[0]["previous_pred_std"] is None


def test_hc021_upper_bound_still_fails_over_dispersion(tmp_path: Path) -> None:
    ctx = CheckContext(root=tmp_path, settings=HealthSettings(), previous=PREVIOUS_SPREAD)
    outcome = judge_spread(ctx, "tiny", spread_rows(3.0))
    assert outcome.status == Status.FAIL and "over-dispersed at 1d 3.00" in outcome.message


def test_hc051_without_declared_adaptive_norms_is_a_skip_not_a_pass(tmp_path: Path) -> None:
    from health_checks.checks.normalisation import HC051
    from health_checks.runner import run_checks

    ctx = context_with(tmp_path, tiny_probe(pd.DataFrame({"a": [1.0]})))
    (result,) = [r for r in run_checks([HC051], ctx, progress=False) if r.code == "HC051"]
    assert result.status == Status.SKIP
    assert result.details.not_applicable is True
    assert "declares no adaptive normalisation" in result.message


def test_hygiene_does_not_count_this_runs_own_fixes(tmp_path: Path) -> None:
    import subprocess

    from health_checks.checks.hygiene import HC005

    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 1\n")
    for argv in (
        ["init", "-q"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x"],
    ):
        subprocess.run(["git", *argv], cwd=tmp_path, check=True)
    (tmp_path / "a.py").write_text("x = 2\n")  # the fix this run applied
    (tmp_path / ".maintenance_cache").mkdir()
    (tmp_path / ".maintenance_cache" / "autopilot-fixes.json").write_text("{}")
    fixed = {"changed_files": ["a.py"], "applied": []}
    ctx = CheckContext(root=tmp_path, settings=HealthSettings(), applied_fixes=fixed)
    assert HC005().check(ctx).status == Status.PASS
    (tmp_path / "b.py").write_text("y = 2\n")  # a change nobody made through the fixer
    outcome = HC005().check(CheckContext(root=tmp_path, settings=HealthSettings(), applied_fixes=fixed))
    assert outcome.status == Status.WARN and "1 changed and 0 untracked" in outcome.message
