"""`python -m atft checkpoint inspect|migrate`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from atft.checkpoint import load_checkpoint
from atft.cli import main

FIXTURES = Path(__file__).parents[1] / "fixtures" / "model"


def test_migrate_needs_trust_pickle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    legacy = shutil.copy(FIXTURES / "legacy_checkpoint.pt", tmp_path / "old.pt")
    assert main(["checkpoint", "migrate", str(legacy), str(tmp_path / "new.safetensors")]) == 2
    assert "--trust-pickle" in capsys.readouterr().err
    assert not (tmp_path / "new.safetensors").exists()


def test_migrate_then_inspect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    legacy = shutil.copy(FIXTURES / "legacy_checkpoint.pt", tmp_path / "old.pt")
    new = tmp_path / "new.safetensors"
    assert main(["checkpoint", "migrate", str(legacy), str(new), "--trust-pickle"]) == 0
    assert load_checkpoint(new).config.model.hidden_size == 8
    capsys.readouterr()
    assert main(["checkpoint", "inspect", str(new)]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["schema_version"] == 1 and meta["user"]["migrated_from"] == "old.pt"


def test_inspect_refuses_a_pickle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checkpoint", "inspect", str(FIXTURES / "legacy_checkpoint.pt")]) == 2
    assert "pickle" in capsys.readouterr().err
