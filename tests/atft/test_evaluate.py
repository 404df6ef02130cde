"""evaluate_models and `python -m atft evaluate`: the JSON shape of issue 4, the table, clear failures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from atft import baselines
from atft.cli import main
from atft.data import MarketDataset
from atft.evaluate import evaluate_models

REQUIRED = {"model", "horizon", "ic", "rank_ic", "icir", "scale_ratio", "sharpe", "max_drawdown", "n_days"}


def run_cli(argv: list[str]) -> int:
    return main(["evaluate", *argv])


def test_report_has_the_issue_json_shape(synthetic_dataset: MarketDataset) -> None:
    frames = {
        "zero": baselines.zero_baseline(synthetic_dataset, "val"),
        "ridge": baselines.ridge_baseline(synthetic_dataset, "val"),
    }
    report = evaluate_models(synthetic_dataset, "val", frames)
    data = report.to_dict()
    assert data["market"] == "synthetic" and data["split"] == "val"
    assert len(data["results"]) == 2 * len(synthetic_dataset.horizons)
    for row in data["results"]:
        assert set(row) >= REQUIRED
    json.dumps(data, allow_nan=False)  # NaN (the zero model's ICIR) is written as null
    assert report.models() == ["zero", "ridge"]
    markdown = report.to_markdown()
    assert markdown.count("\n") == len(data["results"]) + 1 and "| ridge |" in markdown


def test_frames_are_cut_to_the_split_period(synthetic_dataset: MarketDataset) -> None:
    frame = baselines.zero_baseline(synthetic_dataset, "val")
    with pytest.raises(ValueError, match="no row in the test period"):
        evaluate_models(synthetic_dataset, "test", {"zero": frame})


def test_cli_json_on_synthetic_includes_the_oracle(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--market", "synthetic", "--no-cache", "--baselines", "zero,ridge", "--format", "json"]
    assert run_cli(argv) == 0
    data = json.loads(capsys.readouterr().out)
    models = {row["model"] for row in data["results"]}
    assert models == {"oracle", "zero", "ridge"}
    ic = {(r["model"], r["horizon"]): r["ic"] for r in data["results"]}
    assert ic[("ridge", 1)] > 0.05 and ic[("zero", 1)] == 0


def test_cli_text_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--market", "synthetic", "--no-cache", "--baselines", "reversal"]) == 0
    out = capsys.readouterr().out
    assert "reversal" in out and "RankIC" in out and "Sharpe" in out


def test_cli_without_predictors_or_with_a_missing_checkpoint_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["--market", "synthetic", "--no-cache"]) == 2
    assert "nothing to evaluate" in capsys.readouterr().err
    missing = tmp_path / "model.safetensors"
    assert run_cli(["--market", "synthetic", "--no-cache", "--checkpoint", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "checkpoint not found" in err and str(missing) in err


def test_cli_unknown_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--market", "synthetic", "--no-cache", "--baselines", "zero,magic"]) == 2
    assert "magic" in capsys.readouterr().err


@pytest.mark.slow
def test_pse_baseline_table_on_the_test_period(
    pse_cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--market", "pse", "--cache-dir", str(pse_cache_dir), "--baselines", "--format", "json"]
    assert run_cli(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["period"]["first"].startswith("2019-01") and data["period"]["last"].startswith("2021-12")
    rows = {(r["model"], r["horizon"]): r for r in data["results"]}
    assert {m for m, _ in rows} == {"zero", "reversal", "momentum", "ridge", "lightgbm"}
    assert rows[("zero", 1)]["ic"] == 0 and rows[("zero", 1)]["scale_ratio"] == 0
    # the fitted baselines find real structure out of sample (PSE short-term reversal)
    assert rows[("ridge", 1)]["ic"] > 0.02 and rows[("lightgbm", 1)]["ic"] > 0.02
    assert all(math.isfinite(r["ic"]) for r in data["results"])


def test_cli_evaluates_a_checkpoint_on_the_data_it_was_trained_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An (untrained) model saved as a checkpoint: its rows join the table, on the checkpoint's own data."""
    import dataclasses

    from atft.checkpoint import save_checkpoint
    from atft.config import ExperimentConfig
    from atft.data import DataConfig, load_dataset
    from atft.model import ATFT_GAT_FAN, ModelConfig

    data = DataConfig(market="synthetic", n_stocks=20, n_days=300, cache_dir=None, lookback=8)
    dataset = load_dataset(data)
    config = ExperimentConfig(data=data, model=ModelConfig(hidden_size=8, gat_heads=2, attention_heads=2))
    model = ATFT_GAT_FAN(config.model, n_features=dataset.n_features, n_static=dataset.n_static)
    path = save_checkpoint(
        tmp_path / "tiny.safetensors", model, config, metadata={"feature_names": dataset.feature_names}
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the trainer does: two threads on a busy 2-core machine are 10x slower
    try:
        argv = ["--no-cache", "--checkpoint", str(path), "--baselines", "zero", "--split", "val"]
        assert run_cli([*argv, "--format", "json"]) == 0
    finally:
        torch.set_num_threads(threads)
    result = json.loads(capsys.readouterr().out)
    assert result["market"] == "synthetic"
    rows = [r for r in result["results"] if r["model"] == "atft:tiny"]
    assert [r["horizon"] for r in rows] == [1, 5, 10, 20]
    assert all(r["n_days"] > 0 for r in rows)
    # the same checkpoint on other data is refused with one line
    other = dataclasses.replace(data, lookback=20)
    argv = ["--market", "synthetic", "--no-cache", "--synthetic-stocks", "20", "--synthetic-days", "300"]
    assert run_cli([*argv, "--lookback", str(other.lookback), "--checkpoint", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "trained on other data" in err and "lookback=20 (trained 8)" in err and "\n" not in err


def test_paired_tests_compare_every_model_with_every_baseline(synthetic_dataset: MarketDataset) -> None:
    frames = {
        "oracle": synthetic_dataset.oracle_frame("test"),
        "zero": baselines.zero_baseline(synthetic_dataset, "test"),
        "reversal": baselines.reversal_baseline(synthetic_dataset, "test"),
    }
    report = evaluate_models(synthetic_dataset, "test", frames, baselines=["zero", "reversal"])
    pairs = {(r["model"], r["baseline"], r["horizon"]): r for r in report.paired}
    assert set(pairs) == {("oracle", b, h) for b in ("zero", "reversal") for h in synthetic_dataset.horizons}
    # the planted signal beats a zero prediction at 1 day, with the HAC lag of the horizon
    one_day = pairs[("oracle", "zero", 1)]
    assert one_day["mean_diff"] > 0 and one_day["p"] < 0.05 and one_day["lag"] == 0
    assert pairs[("oracle", "zero", 20)]["lag"] == 19
    # the mean difference is the difference of the two models' RankIC over the same days
    ric = {(r["model"], r["horizon"]): r["rank_ic"] for r in report.rows}
    assert one_day["mean_diff"] == pytest.approx(ric[("oracle", 1)] - ric[("zero", 1)], abs=1e-9)
    data = report.to_dict()
    assert len(data["paired_tests"]) == len(pairs)
    json.dumps(data, allow_nan=False)
    assert "| oracle | zero | 1d |" in report.to_markdown()
    assert report.paired_table() is not None


def test_cli_json_has_hac_columns_and_paired_tests(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--market", "synthetic", "--no-cache", "--baselines", "zero", "--format", "json"]
    assert run_cli([*argv, "--delisting-return", "-0.5"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["delisting_return"] == -0.5
    row = next(r for r in data["results"] if r["model"] == "oracle" and r["horizon"] == 5)
    assert {"ic_tstat", "rank_ic_tstat", "ls_tstat", "nw_lag"} <= set(row) and row["nw_lag"] == 4
    assert {(p["model"], p["baseline"]) for p in data["paired_tests"]} == {("oracle", "zero")}
