"""Issue 14 item 5: every bad input through every command gives one `error:` line and exit status 2.

The traceback only shows under -v; -v and --format are accepted before or after the command; a
checkpoint applied to a market it was not trained on is refused by name in every command.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atft.cli import main
from tests.atft.tiny import TINY_RUN

FIXTURES = Path(__file__).parents[1] / "fixtures" / "model"
SETS = [arg for item in TINY_RUN for arg in ("--set", item)]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A trained tiny synthetic run plus every bad file of the issue."""
    root = tmp_path_factory.mktemp("cli_errors")
    run = root / "run"
    assert main(["train", "--market", "synthetic", "--out", str(run), "--no-progress", *SETS]) == 0
    bad_panel = root / "bad panel.csv"
    bad_panel.write_text("when,ticker\n2020-01-01,AAA\n")
    truncated = root / "truncated.safetensors"
    truncated.write_bytes((run / "model.safetensors").read_bytes()[:200])
    pickle = Path(shutil.copy(FIXTURES / "legacy_checkpoint.pt", root / "legacy.pt"))
    truncated_pickle = root / "truncated.pt"
    truncated_pickle.write_bytes(pickle.read_bytes()[:64])
    random_bytes = root / "random.pt"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(5000))
    return {
        "root": root,
        "best": run / "model.safetensors",
        "last": run / "last.safetensors",
        "bad_panel": bad_panel,
        "truncated": truncated,
        "pickle": pickle,
        "truncated_pickle": truncated_pickle,
        "random_bytes": random_bytes,
    }


def _train(f: dict[str, Path]) -> list[str]:
    return ["train", "--market", "synthetic", "--out", str(f["root"] / "again"), "--no-progress", *SETS]


def _resume(f: dict[str, Path], checkpoint: str = "last") -> list[str]:
    return [*_train(f), "--resume", str(f[checkpoint])]


def _export(f: dict[str, Path], checkpoint: str = "best") -> list[str]:
    return ["export", "--checkpoint", str(f[checkpoint]), "--out", str(f["root"] / "p.parquet")]


def _diagnose(f: dict[str, Path], checkpoint: str = "best") -> list[str]:
    return ["diagnose", "--checkpoint", str(f[checkpoint]), "--days", "2", "--no-grad"]


def _evaluate(f: dict[str, Path], checkpoint: str | None = None) -> list[str]:
    argv = ["evaluate", "--baselines", "zero", "--no-cache"]
    return argv + (["--checkpoint", str(f[checkpoint])] if checkpoint else ["--market", "synthetic"])


def _data(_f: dict[str, Path]) -> list[str]:
    return ["data", "--market", "synthetic", "--no-cache", "--synthetic-stocks", "16"]


def _with_panel(argv: list[str], f: dict[str, Path]) -> list[str]:
    """`argv` with the market replaced by the bad panel file."""
    argv = list(argv)
    if "--market" in argv:
        index = argv.index("--market")
        del argv[index : index + 2]
    return [*argv, "--data", str(f["bad_panel"])]


# (command, bad input) -> argv, and a word the error line must contain (the file or the field).
CASES = {
    # bad panel file
    ("train", "bad panel"): (lambda f: _with_panel(_train(f), f), "bad panel.csv"),
    ("data", "bad panel"): (lambda f: _with_panel(_data(f), f), "bad panel.csv"),
    ("evaluate", "bad panel"): (lambda f: _with_panel(_evaluate(f), f), "bad panel.csv"),
    ("export", "bad panel"): (lambda f: _with_panel(_export(f), f), "trained on other data"),
    ("diagnose", "bad panel"): (lambda f: _with_panel(_diagnose(f), f), "trained on other data"),
    # truncated checkpoint
    ("train --resume", "truncated checkpoint"): (lambda f: _resume(f, "truncated"), "truncated"),
    ("export", "truncated checkpoint"): (lambda f: _export(f, "truncated"), "truncated"),
    ("diagnose", "truncated checkpoint"): (lambda f: _diagnose(f, "truncated"), "truncated"),
    ("evaluate", "truncated checkpoint"): (lambda f: _evaluate(f, "truncated"), "truncated"),
    ("checkpoint inspect", "truncated checkpoint"): (
        lambda f: ["checkpoint", "inspect", str(f["truncated"])],
        "truncated",
    ),
    ("checkpoint migrate", "truncated checkpoint"): (
        lambda f: ["checkpoint", "migrate", str(f["truncated_pickle"]), str(f["root"] / "n.safetensors")],
        "truncated.pt",
    ),
    ("checkpoint migrate", "random bytes"): (
        lambda f: ["checkpoint", "migrate", str(f["random_bytes"]), str(f["root"] / "n.safetensors")],
        "random.pt",
    ),
    ("checkpoint migrate", "random bytes, trusted"): (
        lambda f: [
            "checkpoint",
            "migrate",
            str(f["random_bytes"]),
            str(f["root"] / "n.safetensors"),
            "--trust-pickle",
        ],
        "random.pt",
    ),
    # a choice argparse refuses: one line naming the option, no usage dump
    ("data", "--market nasdaq"): (lambda f: ["data", "--market", "nasdaq"], "--market"),
    ("evaluate", "--split holdout"): (lambda f: [*_evaluate(f), "--split", "holdout"], "--split"),
    ("export", "--split holdout"): (lambda f: [*_export(f), "--split", "holdout"], "holdout"),
    ("train", "--no-such-option"): (lambda f: [*_train(f), "--no-such-option"], "--no-such-option"),
    ("checkpoint migrate", "no arguments"): (lambda f: ["checkpoint", "migrate"], "OLD"),
    # an export suffix that names no format the export writes
    ("export", "--out preds.xlsx"): (
        lambda f: [*_export(f)[:-1], str(f["root"] / "preds.xlsx")],
        "preds.xlsx",
    ),
    # pickle checkpoint
    ("train --resume", "pickle checkpoint"): (lambda f: _resume(f, "pickle"), "pickle"),
    ("export", "pickle checkpoint"): (lambda f: _export(f, "pickle"), "pickle"),
    ("diagnose", "pickle checkpoint"): (lambda f: _diagnose(f, "pickle"), "pickle"),
    ("evaluate", "pickle checkpoint"): (lambda f: _evaluate(f, "pickle"), "pickle"),
    ("checkpoint inspect", "pickle checkpoint"): (
        lambda f: ["checkpoint", "inspect", str(f["pickle"])],
        "pickle",
    ),
    ("checkpoint migrate", "pickle checkpoint"): (
        lambda f: ["checkpoint", "migrate", str(f["pickle"]), str(f["root"] / "n.safetensors")],
        "--trust-pickle",
    ),
    # --epochs -1 (train.epochs=-1 where the command has no --epochs)
    ("train", "--epochs -1"): (lambda f: [*_train(f), "--epochs", "-1"], "train.epochs"),
    ("train --resume", "--epochs -1"): (lambda f: [*_resume(f), "--epochs", "-1"], "train.epochs"),
    ("data", "--epochs -1"): (lambda f: [*_data(f), "--set", "train.epochs=-1"], "train.epochs"),
    ("evaluate", "--epochs -1"): (lambda f: [*_evaluate(f), "--set", "train.epochs=-1"], "train.epochs"),
}
for _name, _argv in (
    ("train", _train),
    ("train --resume", _resume),
    ("data", _data),
    ("evaluate", _evaluate),
):
    CASES[(_name, "--set model.nonexistent=1")] = (
        lambda f, a=_argv: [*a(f), "--set", "model.nonexistent=1"],
        "nonexistent",
    )
    CASES[(_name, "--set model.use_gat=maybe")] = (
        lambda f, a=_argv: [*a(f), "--set", "model.use_gat=maybe"],
        "model.use_gat",
    )
    CASES[(_name, "--config missing.toml")] = (
        lambda f, a=_argv: [*a(f), "--config", str(f["root"] / "missing.toml")],
        "missing.toml",
    )
# export and diagnose take their config from the checkpoint: they have no --epochs/--set/--config, and
# argparse refuses those options (usage line, exit 2) before anything runs.


@pytest.mark.parametrize(("command", "bad"), sorted(CASES), ids=[f"{c}|{b}" for c, b in sorted(CASES)])
def test_bad_input_gives_one_error_line(
    command: str, bad: str, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    make_argv, word = CASES[(command, bad)]
    status = main(make_argv(files))
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert status == 2, err
    assert len(errors) == 1, err
    assert "Traceback" not in err and "usage:" not in err
    assert word in errors[0], errors[0]


@pytest.mark.parametrize("make_argv", [_export, _diagnose, _evaluate])
def test_wrong_market_checkpoint_is_named(
    make_argv, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = make_argv(files, "best") if make_argv is not _evaluate else _evaluate(files, "best")
    assert main([*argv, "--market", "pse"]) == 2
    err = capsys.readouterr().err
    assert "trained on other data" in err and "market='pse'" in err and "ContractError" not in err


def test_verbose_shows_the_traceback(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-v", *_export(files, "truncated")]) == 2
    assert "Traceback" in capsys.readouterr().err
    assert main([*_export(files, "truncated"), "-v"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("error:")


@pytest.mark.parametrize("before", [True, False])
def test_format_before_or_after_the_command(
    before: bool, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["checkpoint", "inspect", str(files["best"])]
    argv = ["--format", "json", *argv] if before else [*argv, "--format", "json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["schema_version"] == 1


def test_export_json_and_the_one_default_split(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*_export(files), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["split"] == "test" and summary["rows"] > 0


def test_export_refused_suffix_writes_nothing(files: dict[str, Path]) -> None:
    out = files["root"] / "refused.xlsx"
    assert main([*_export(files)[:-1], str(out)]) == 2
    assert not out.exists()


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_export_format_follows_the_suffix(suffix: str, files: dict[str, Path]) -> None:
    out = files["root"] / f"preds{suffix}"
    assert main([*_export(files)[:-1], str(out)]) == 0
    frame = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    assert {"date", "code", "horizon", "prediction", "target"} <= set(frame.columns) and len(frame) > 0


def test_the_oracle_number_comes_with_its_meaning(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "--market", "synthetic", "--no-cache", "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["oracle_ic"] and "not an upper bound" in summary["oracle_note"]
    assert main(["data", "--market", "synthetic", "--no-cache"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "oracle IC of the planted signal" in out and "not an upper bound" in out
