"""`python -m atft train`: legacy environment flags are mapped (with a warning) and really do what they say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atft.checkpoint import load_checkpoint, read_metadata
from atft.cli import main
from atft.cli.train import overrides_from_environment
from atft.config import ConfigError, load_config
from tests.atft.tiny import TINY_RUN

TINY_SET = TINY_RUN


def _train(tmp_path: Path, *extra: str) -> Path:
    args = ["train", "--market", "synthetic", "--out", str(tmp_path), "--no-progress"]
    for item in TINY_SET:
        args += ["--set", item]
    assert main([*args, *extra]) == 0
    return tmp_path / "model.safetensors"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"BYPASS_GAT_COMPLETELY": "1"}, ["model.use_gat=false"]),
        ({"BYPASS_GAT_COMPLETELY": "0"}, ["model.use_gat=true"]),
        ({"BYPASS_ADAPTIVE_NORM": "true"}, ["model.use_fan=false"]),
        ({"ENABLE_ENCODER_DIAGNOSTICS": "1"}, ["diagnostics.enabled=true", "diagnostics.encoder=true"]),
        (
            {"ENABLE_PREDICTION_HEAD_DIAGNOSTICS": "yes"},
            ["diagnostics.enabled=true", "diagnostics.heads=true"],
        ),
        ({"ENCODER_DIAG_EVERY": "3"}, ["diagnostics.every_epochs=3"]),
        ({"UNRELATED": "1"}, []),
    ],
)
def test_legacy_flags_map_onto_config_fields(environ: dict, expected: list[str]) -> None:
    if expected:
        with pytest.warns(DeprecationWarning, match="deprecated"):
            overrides = overrides_from_environment(environ)
    else:
        overrides = overrides_from_environment(environ)
    assert overrides == expected
    load_config(None, overrides)  # every mapped override is a valid config field


def test_bad_flag_value_is_refused() -> None:
    with pytest.raises(ConfigError, match="BYPASS_GAT_COMPLETELY='maybe'"):
        overrides_from_environment({"BYPASS_GAT_COMPLETELY": "maybe"})


def test_bypass_gat_completely_really_turns_gat_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The old flag did the opposite of its name; here the trained model has no GAT stage at all."""
    monkeypatch.setenv("BYPASS_GAT_COMPLETELY", "1")
    with pytest.warns(DeprecationWarning, match="BYPASS_GAT_COMPLETELY"):
        checkpoint = _train(tmp_path / "off")
    loaded = load_checkpoint(checkpoint)
    assert loaded.config.model.use_gat is False
    assert loaded.model.gat is None and "gat" not in loaded.model.stages()
    assert not any(name.startswith("gat.") for name in loaded.model.state_dict())


def test_train_cli_writes_checkpoints_history_and_respects_overrides(tmp_path: Path) -> None:
    checkpoint = _train(tmp_path, "--set", "model.use_fan=false", "--epochs", "2")
    meta = read_metadata(checkpoint)
    assert meta["config"]["model"]["use_fan"] is False and meta["config"]["train"]["epochs"] == 2
    assert meta["config"]["data"]["market"] == "synthetic"
    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [0, 1]
    assert (tmp_path / "last.safetensors").exists()


def test_config_file_and_bad_override(tmp_path: Path) -> None:
    config = tmp_path / "exp.toml"
    config.write_text("[model]\nhidden_size = 8\ngat_heads = 2\nattention_heads = 2\n[train]\nepochs = 1\n")
    loaded = load_config(config, ["train.seed=5"])
    assert loaded.model.hidden_size == 8 and loaded.train.seed == 5
    with pytest.raises(ValueError, match=r"unknown keys \['hiden_size'\] in \[model\]"):
        load_config(None, ["model.hiden_size=8"])


def test_train_on_your_own_panel_file(tmp_path: Path) -> None:
    """--data takes any path (spaces included) and trains on a long panel file."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    days = pd.bdate_range("2015-01-01", periods=220)
    frames = []
    for i in range(10):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, len(days))))
        frames.append(
            pd.DataFrame(
                {"date": days, "code": f"S{i}", "open": close, "high": close * 1.01, "low": close * 0.99}
                | {"close": close, "volume": 1000.0 + i}
            )
        )
    panel = tmp_path / "my panel.csv"
    pd.concat(frames).to_csv(panel, index=False)
    out = tmp_path / "run"
    args = ["train", "--data", str(panel), "--out", str(out), "--no-progress"]
    for item in [s for s in TINY_SET if not s.startswith("data.n_")]:
        args += ["--set", item]
    assert main(args) == 0
    meta = read_metadata(out / "model.safetensors")
    assert meta["config"]["data"]["market"] == "panel" and meta["config"]["data"]["panel_path"] == str(panel)
