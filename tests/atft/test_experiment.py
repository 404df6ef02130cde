"""Seeds as a first-class run: `atft.experiment` and `python -m atft experiment` on a tiny synthetic market."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atft import experiment as experiment_module
from atft.cli import main
from atft.config import load_config, replace
from atft.data import load_dataset
from atft.experiment import paired_against, run_experiment, variant_config
from atft.metrics import daily_rank_ic, evaluate_frame
from tests.atft.tiny import TINY_RUN, assert_same_weights

SETTINGS = ["data.market=synthetic", *TINY_RUN, "train.max_train_days=4"]


@pytest.fixture(scope="module")
def tiny():
    config = load_config(None, SETTINGS)
    return config, load_dataset(config.data)


@pytest.fixture(scope="module")
def finished(tiny, tmp_path_factory):
    config, dataset = tiny
    out = tmp_path_factory.mktemp("experiment")
    result = run_experiment(
        config, out, seeds=2, ablations=("gat",), baselines=("zero", "ridge"), dataset=dataset
    )
    return out, result


def test_every_seed_and_variant_is_trained_and_summarised(finished) -> None:
    out, result = finished
    assert result.seeds == [0, 1] and list(result.variants) == ["full", "gat"]
    assert [(r["variant"], r["seed"]) for r in result.runs] == [
        ("full", 0),
        ("full", 1),
        ("gat", 0),
        ("gat", 1),
    ]
    for variant in ("full", "gat"):
        for seed in (0, 1):
            run = out / variant / f"seed_{seed}"
            info = json.loads((run / "run.json").read_text())
            assert info["config"]["train"]["seed"] == seed
            assert info["config"]["model"]["use_gat"] is (variant == "full")
            assert (run / "model.safetensors").exists() and (run / "test.parquet").exists()
    for row in result.summary:
        if row["model"] in ("full", "gat"):
            per_seed = [
                next(m for m in r["test"] if m["horizon"] == row["horizon"])["rank_ic"]
                for r in result.runs
                if r["variant"] == row["model"]
            ]
            assert row["n_seeds"] == 2 and row["rank_ic_values"] == pytest.approx(per_seed)
            assert row["rank_ic_mean"] == pytest.approx(np.mean(per_seed))
            assert row["rank_ic_std"] == pytest.approx(np.std(per_seed, ddof=1))
    models = {row["model"] for row in result.summary}
    assert models == {"full", "gat", "zero", "ridge"}


def test_seeds_differ_and_the_same_seed_repeats(tiny, finished, tmp_path: Path) -> None:
    config, dataset = tiny
    out, _ = finished
    first, second = (pd.read_parquet(out / "full" / f"seed_{s}" / "test.parquet") for s in (0, 1))
    assert not np.allclose(first["prediction"], second["prediction"]), "two seeds must train two models"
    again = run_experiment(config, tmp_path, seeds=[0], baselines=(), dataset=dataset)
    repeated = pd.read_parquet(tmp_path / "full" / "seed_0" / "test.parquet")
    pd.testing.assert_frame_equal(repeated, first)
    assert again.paired == []


def test_paired_tests_against_every_baseline_and_files(finished) -> None:
    out, result = finished
    keys = {(row["variant"], row["baseline"], row["horizon"]) for row in result.paired}
    assert keys == {(v, b, h) for v in ("full", "gat") for b in ("zero", "ridge") for h in (1, 5, 10, 20)}
    for row in result.paired:
        assert row["lag"] == min(row["horizon"] - 1, row["n"] - 1) and len(row["per_seed"]) == 2
        assert 0 <= row["seeds_significant"] <= 2
    written = json.loads((out / "experiment.json").read_text())
    assert written["seeds"] == [0, 1] and len(written["paired"]) == len(result.paired)
    markdown = (out / "experiment.md").read_text()
    assert "| full model (FAN, GAT on) |" in markdown and "| without GAT | ridge | 5d |" in markdown
    assert " ± " in markdown


def test_a_finished_run_is_reused_not_retrained(tiny, finished, monkeypatch: pytest.MonkeyPatch) -> None:
    config, dataset = tiny
    out, result = finished

    def refuse(*_args, **_kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(experiment_module, "train", refuse)
    again = run_experiment(
        config, out, seeds=2, ablations=("gat",), baselines=("zero", "ridge"), dataset=dataset
    )
    assert again.summary == result.summary


def _spy_on_resume(monkeypatch: pytest.MonkeyPatch) -> list:
    """The `resume` argument of every `train` call `run_experiment` makes, in order."""
    resumed_from: list = []
    real_train = experiment_module.train

    def spy(*args, **kwargs):
        resumed_from.append(kwargs.get("resume"))
        return real_train(*args, **kwargs)

    monkeypatch.setattr(experiment_module, "train", spy)
    return resumed_from


def test_a_run_cut_short_resumes_and_ends_as_the_uninterrupted_run(
    tiny, finished, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, dataset = tiny
    out, _ = finished
    run_dir = tmp_path / "full" / "seed_0"
    cut = variant_config(config, "full", 0)
    stopped = experiment_module.train(
        replace(cut, train={"max_steps": 2}), run_dir, dataset=dataset, progress=False
    )  # the end of a session: last.safetensors, no run.json
    assert stopped.stop_reason == "max_steps"
    assert (run_dir / "last.safetensors").exists() and not (run_dir / "run.json").exists()
    resumed_from = _spy_on_resume(monkeypatch)
    run_experiment(config, tmp_path, seeds=[0], baselines=(), dataset=dataset)
    assert resumed_from == [run_dir / "last.safetensors"]
    assert_same_weights(run_dir / "model.safetensors", out / "full" / "seed_0" / "model.safetensors")
    pd.testing.assert_frame_equal(
        pd.read_parquet(run_dir / "test.parquet"), pd.read_parquet(out / "full" / "seed_0" / "test.parquet")
    )


def test_a_foreign_checkpoint_is_not_resumed(tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, dataset = tiny
    run_dir = tmp_path / "full" / "seed_0"
    run_dir.mkdir(parents=True)
    (run_dir / "last.safetensors").write_bytes(b"not a checkpoint")
    resumed_from = _spy_on_resume(monkeypatch)
    run_experiment(config, tmp_path, seeds=[0], baselines=(), dataset=dataset)
    assert resumed_from == [None] and (run_dir / "run.json").exists()


def test_status_reads_where_the_experiment_stands_without_test_figures(
    finished, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, result = finished
    state = experiment_module.progress_of(out)
    assert [(r["variant"], r["seed"], r["finished"]) for r in state["runs"]] == [
        ("full", 0, True),
        ("full", 1, True),
        ("gat", 0, True),
        ("gat", 1, True),
    ]
    for row, run in zip(
        state["runs"], sorted(result.runs, key=lambda r: (r["variant"], r["seed"])), strict=True
    ):
        assert row["best_val"] == pytest.approx(run["val_score"]) and row["epochs"] == run["epochs_run"]
    assert main(["experiment", "--status", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "gat seed 1" in printed and "test" not in printed.lower()
    assert main(["experiment", "--status", "--out", str(tmp_path / "missing")]) == 2


def test_daily_rank_ic_averages_to_the_metrics_rank_ic(finished) -> None:
    out, _ = finished
    frame = pd.read_parquet(out / "full" / "seed_0" / "test.parquet")
    for row in evaluate_frame(frame):
        daily = daily_rank_ic(frame, row["horizon"])
        assert float(daily.mean()) == pytest.approx(row["rank_ic"], abs=1e-9)
        assert int(daily.notna().sum()) == row["n_days"]


def test_a_model_against_itself_differs_by_zero_and_a_shift_is_found(finished) -> None:
    out, _ = finished
    frame = pd.read_parquet(out / "full" / "seed_0" / "test.parquet")
    same = paired_against([frame], frame, 5)
    assert same["mean_diff"] == 0.0 and same["seeds_significant"] == 0
    oracle = frame.assign(prediction=frame["target"])  # a perfect predictor beats the model every day
    better = paired_against([oracle, oracle], frame, 1)
    assert better["mean_diff"] > 0 and better["p"] < 0.05 and better["seeds_significant"] == 2


def test_variant_config_switches_one_stage_and_sets_the_seed(tiny) -> None:
    config, _ = tiny
    assert variant_config(config, "fan", 7).model.use_fan is False
    assert variant_config(config, "gat", 7).model.use_gat is False
    full = variant_config(config, "full", 7)
    assert full.train.seed == 7 and full.model == config.model


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "0"], "expected a number >= 1"),
        (["--ablations", "fan,nope"], "unknown ablation"),
        (["--jobs", "-2"], "expected a number >= 1"),
        (["--tuned-trials", "-1"], "expected a number >= 0"),
        (["--ablations", "fan,lstm"], "unknown ablation"),
    ],
)
def test_cli_refuses_bad_options(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment", "--market", "synthetic", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.splitlines()) == 1 and message in err


def test_cli_runs_an_experiment_and_prints_the_command(tmp_path: Path) -> None:
    sets = [
        item for setting in SETTINGS if not setting.startswith("data.market") for item in ("--set", setting)
    ]
    out = tmp_path / "exp"
    code = main(
        [
            "experiment",
            "--market",
            "synthetic",
            "--seeds",
            "1",
            "--baselines",
            "zero",
            "--out",
            str(out),
            "--no-progress",
            *sets,
        ]
    )
    assert code == 0
    written = json.loads((out / "experiment.json").read_text())
    assert written["command"].startswith(
        "python -m atft experiment --market synthetic --seeds 1 --baselines zero"
    )
