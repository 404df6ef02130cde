"""The atft checks on our own tree: they pass on the real code and fail on a broken one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from health_checks.cli import main

REPO = Path(__file__).resolve().parents[2]


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, dict[str, Any]]:
    main(["--root", str(REPO), "--no-progress", "--no-report", "--format", "json", *args])
    report = json.loads(capsys.readouterr().out)
    return {c["code"]: c for c in report["checks"]}


def test_contract_loss_and_checkpoints_pass_on_our_tree(capsys: pytest.CaptureFixture[str]) -> None:
    checks = run_json(capsys, "--only", "forward-contract,loss-sanity,checkpoint-roundtrip,legacy-checkpoint")
    for code in ("HC011", "HC012", "HC030", "HC031"):
        assert checks[code]["status"] == "pass", (code, checks[code]["message"])
    assert checks["HC011"]["details"]["golden"].endswith("forward_contract.json")
    assert "refused" in checks["HC011"]["details"]["positional_call"]
    assert checks["HC012"]["details"]["loss"] > 0
    assert all(norm > 0 for norm in checks["HC012"]["details"]["grad_norm_by_stage"].values())
    assert checks["HC030"]["details"]["max_abs_diff"] <= 1e-6
    assert checks["HC031"]["details"]["migrated"] is False


def test_trust_pickle_migrates_the_legacy_checkpoint(capsys: pytest.CaptureFixture[str]) -> None:
    checks = run_json(capsys, "--only", "legacy-checkpoint", "--trust-pickle")
    assert checks["HC031"]["status"] == "pass" and checks["HC031"]["details"]["migrated"] is True


def test_a_loss_that_ignores_the_predictions_fails(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    import atft.loss

    class ConstantLoss:
        """The bug of the project we replace: the loss matched no horizon and returned a constant."""

        def __init__(self, *args: object) -> None:
            pass

        def __call__(self, output: object, batch: object) -> tuple[torch.Tensor, dict[str, float]]:
            return torch.zeros((), requires_grad=True) + 0.5, {}

    monkeypatch.setattr(atft.loss, "QuantileCorrelationLoss", ConstantLoss)
    checks = run_json(capsys, "--only", "loss-sanity")
    assert checks["HC012"]["status"] == "fail"
    assert "does not depend on them" in checks["HC012"]["message"]
    assert "no gradient reaches" in checks["HC012"]["message"]


def test_a_loader_that_accepts_pickles_fails(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import atft.checkpoint

    monkeypatch.setattr(atft.checkpoint, "load_checkpoint", lambda path, **_: object())
    checks = run_json(capsys, "--only", "legacy-checkpoint")
    assert checks["HC031"]["status"] == "fail"
    assert "without --trust-pickle" in checks["HC031"]["message"]


@pytest.mark.slow
def test_the_whole_run_on_our_tree(tmp_path: Path) -> None:
    """`python -m health_checks` end to end, quick pse training included (minutes on 2 cores)."""
    code = main(
        [
            "--root",
            str(REPO),
            "--no-progress",
            "--json-dir",
            str(tmp_path / "j"),
            "--markdown-dir",
            str(tmp_path / "m"),
        ]
    )
    (json_path,) = (tmp_path / "j").glob("*.json")
    report = json.loads(json_path.read_text())
    checks = {c["code"]: c for c in report["checks"]}
    assert code == report["summary"]["exit_code"]
    assert checks["HC001"]["status"] == "pass", checks["HC001"]["message"]
    assert checks["HC020"]["status"] == "pass", checks["HC020"]["message"]
    assert checks["HC021"]["status"] == "pass", checks["HC021"]["message"]
    assert checks["HC032"]["status"] == "pass" and checks["HC032"]["details"]["rows_in_file"] > 0
    # atft's own training under the watcher ([tool.health_checks] watch): every invariant holds
    watch = [f"HC06{i}" for i in range(9) if i != 6]
    assert all(checks[c]["status"] == "pass" for c in watch), {c: checks[c]["message"] for c in watch}
    (markdown,) = (tmp_path / "m").glob("*.md")
    assert "## Training Watch" in markdown.read_text()
    assert (
        "## Model Health" in markdown.read_text()
        and (tmp_path / "m" / f"{markdown.stem}-diagnostics.png").is_file()
    )
