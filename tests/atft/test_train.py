"""The trainer: variance gate on the synthetic market, reproducibility, exact resume, history, budgets."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from atft.checkpoint import load_checkpoint
from atft.config import load_config
from atft.data import load_dataset
from atft.inference import predict_frame
from atft.metrics import evaluate_frame
from atft.train import RESUME_MAY_CHANGE, lr_factor, train
from tests.atft.tiny import TINY_MODEL, assert_same_weights

TINY = [
    "data.market=synthetic",
    "data.n_stocks=20",
    "data.n_days=160",
    "data.cache_dir=none",
    "train.max_train_days=12",
    "train.warmup_steps=3",
    "train.torch_threads=1",
    *TINY_MODEL,
]


RESUMABLE = [*TINY, "train.epochs=2", "train.patience=5", "model.dropout=0.2"]


@pytest.fixture(scope="module")
def tiny_dataset():
    return load_dataset(load_config(None, TINY).data)


@pytest.fixture(scope="module")
def straight_run(tiny_dataset, tmp_path_factory):
    """One uninterrupted 2-epoch run, shared by the history and resume tests."""
    out = tmp_path_factory.mktemp("straight")
    return out, train(load_config(None, RESUMABLE), out, dataset=tiny_dataset, progress=False)


@pytest.mark.variance
def test_synthetic_training_keeps_variance_and_recovers_the_signal(tmp_path: Path) -> None:
    """The CI variance gate: 2 epochs of CPU training (bounded by epochs, not by the wall clock), every
    horizon keeps its spread and ranks."""
    config = load_config(
        None,
        [
            "data.market=synthetic",
            "data.cache_dir=none",
            "model.hidden_size=32",
            "train.epochs=2",
            "train.learning_rate=2e-3",
            "train.torch_threads=1",
        ],
    )
    dataset = load_dataset(config.data)
    result = train(config, tmp_path, dataset=dataset, progress=False)
    assert result.stop_reason in ("epochs", "early_stopping") and len(result.history) == 2
    frame = predict_frame(load_checkpoint(result.checkpoint_path), dataset, "test")
    model_rows = {row["horizon"]: row for row in evaluate_frame(frame)}
    oracle_rows = {row["horizon"]: row for row in evaluate_frame(dataset.oracle_frame("test"))}
    # per-day prediction std / std of the per-day normalised target the model is trained on
    normalised = {horizon: [] for horizon in dataset.horizons}
    for batch in dataset.iter_batches("test"):
        day = frame[frame["date"] == np.datetime64(batch["date"])]
        for column, horizon in enumerate(dataset.horizons):
            known = (batch["target_mask"][:, column] & batch["mask"]).numpy()
            if known.sum() < 2:
                continue
            prediction = day.loc[day["horizon"] == horizon, "prediction"]
            target_std = batch["targets"][known, column].std(unbiased=False).item()
            normalised[horizon].append(prediction.std(ddof=0) / target_std)
    normalised = [(horizon, float(np.mean(ratios))) for horizon, ratios in normalised.items()]
    for horizon, ratio in normalised:
        row, oracle = model_rows[horizon], oracle_rows[horizon]
        assert row["scale_ratio"] >= 0.05, f"{horizon}d: raw scale ratio {row['scale_ratio']:.3f}"
        assert ratio >= 0.05, f"{horizon}d: prediction std / normalised target std {ratio:.3f}"
        assert row["constant_day_share"] == 0.0
        assert row["rank_ic"] >= 0.5 * oracle["rank_ic"], (
            f"{horizon}d: RankIC {row['rank_ic']:.3f} < 50% of the oracle's {oracle['rank_ic']:.3f}"
        )


def test_training_is_reproducible(tmp_path: Path, tiny_dataset) -> None:
    config = load_config(None, [*TINY, "train.epochs=1", "train.max_train_days=6"])
    first = train(config, tmp_path / "a", dataset=tiny_dataset, progress=False)
    second = train(config, tmp_path / "b", dataset=tiny_dataset, progress=False)
    a, b = load_checkpoint(first.last_checkpoint_path), load_checkpoint(second.last_checkpoint_path)
    for key, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[key]), key
    assert [row["train_loss"] for row in first.history] == [row["train_loss"] for row in second.history]


def test_resume_continues_exactly(tmp_path: Path, tiny_dataset, straight_run) -> None:
    config = load_config(None, RESUMABLE)
    _, straight = straight_run
    part = train(config, tmp_path / "chunked", dataset=tiny_dataset, progress=False, stop_after_epoch=0)
    assert part.stop_reason == "stop_after_epoch" and len(part.history) == 1
    resumed = train(
        config, tmp_path / "chunked", dataset=tiny_dataset, progress=False, resume=part.last_checkpoint_path
    )
    assert_same_weights(straight.last_checkpoint_path, resumed.last_checkpoint_path)
    assert [r["train_loss"] for r in straight.history] == [r["train_loss"] for r in resumed.history]
    lines = (tmp_path / "chunked" / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [0, 1]


def test_resume_refuses_another_config(tmp_path: Path, tiny_dataset, straight_run) -> None:
    _, straight = straight_run
    other = load_config(None, [*RESUMABLE, "train.learning_rate=0.01"])
    with pytest.raises(ValueError, match=r"different config \(train\.learning_rate: 0\.001 -> 0\.01\)"):
        train(other, tmp_path, dataset=tiny_dataset, progress=False, resume=straight.last_checkpoint_path)


def test_history_and_checkpoints_are_written(tiny_dataset, straight_run) -> None:
    out, result = straight_run
    rows = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert rows == json.loads(json.dumps(result.history))
    assert {"epoch", "train_loss", "val_rank_ic", "lr", "steps", "val"} <= set(rows[0])
    assert rows[0]["steps"] == 12
    assert [m["horizon"] for m in result.val_metrics] == [1, 5, 10, 20]
    meta = load_checkpoint(result.checkpoint_path).metadata
    assert meta["user"]["epoch"] == result.best_epoch
    assert meta["user"]["feature_names"] == list(tiny_dataset.feature_names)


def test_max_seconds_cuts_the_run_short(tmp_path: Path, tiny_dataset) -> None:
    config = load_config(None, [*TINY, "train.epochs=50"])
    result = train(config, tmp_path, dataset=tiny_dataset, progress=False, max_seconds=0.0)
    assert result.stop_reason == "max_seconds" and len(result.history) == 1
    assert result.history[0]["steps"] == 1 and result.checkpoint_path.exists()


def test_dataset_with_other_horizons_is_refused(tmp_path: Path, tiny_dataset) -> None:
    config = load_config(None, [*TINY, "data.horizons=[1, 5]"])
    with pytest.raises(ValueError, match="horizons"):
        train(config, tmp_path, dataset=tiny_dataset, progress=False)


def test_learning_rate_schedule_warms_up_then_decays() -> None:
    values = [lr_factor(step, warmup=10, total=100, min_ratio=0.1) for step in range(101)]
    assert values[0] == pytest.approx(0.1) and values[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(values[9:]))
    assert values[100] == pytest.approx(0.1)


def test_diagnostics_during_training_land_in_the_history(tmp_path: Path, tiny_dataset) -> None:
    config = load_config(
        None, [*TINY, "train.epochs=1", "diagnostics.enabled=true", "diagnostics.max_days=2"]
    )
    result = train(config, tmp_path, dataset=tiny_dataset, progress=False)
    diagnostics = result.history[0]["diagnostics"]
    assert diagnostics["collapse_stage"] is None
    assert [row["stage"] for row in diagnostics["rows"]][:3] == ["fan", "vsn", "projection"]
    written = json.loads((tmp_path / "history.jsonl").read_text().splitlines()[0])
    assert written["diagnostics"]["rows"][0]["std"] > 0


@pytest.mark.parametrize("cut_at", [7, 12, 17])
def test_a_step_budget_then_resume_continues_mid_epoch_exactly(
    tmp_path: Path, tiny_dataset, straight_run, cut_at: int
) -> None:
    """train.max_steps cuts the run inside an epoch (or at its end); resuming gives the straight run's weights."""
    _, straight = straight_run
    cut = load_config(None, [*RESUMABLE, f"train.max_steps={cut_at}"])
    part = train(cut, tmp_path, dataset=tiny_dataset, progress=False)
    assert part.stop_reason == "max_steps"
    assert (
        sum(row["steps"] for row in part.history if not row.get("partial"))
        + (part.history[-1]["steps"] if part.history[-1].get("partial") else 0)
        == cut_at
    )
    assert part.history[-1].get("partial", False) is (cut_at % 12 != 0), "12 training days per epoch"
    resumed = train(
        load_config(None, RESUMABLE),
        tmp_path,
        dataset=tiny_dataset,
        progress=False,
        resume=part.last_checkpoint_path,
    )
    a, b = load_checkpoint(straight.last_checkpoint_path), load_checkpoint(resumed.last_checkpoint_path)
    for key, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[key]), key
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in straight.history]
    assert [r["steps"] for r in resumed.history] == [12, 12]
    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [0, 1], "the cut epoch is recorded once, whole"


def test_resuming_with_more_epochs_extends_the_run(tmp_path: Path, tiny_dataset, straight_run) -> None:
    _, straight = straight_run
    longer = load_config(None, [*RESUMABLE, "train.epochs=3"])
    result = train(
        longer, tmp_path, dataset=tiny_dataset, progress=False, resume=straight.last_checkpoint_path
    )
    assert [row["epoch"] for row in result.history] == [0, 1, 2]
    assert result.history[:2] == straight.history and result.history[2]["steps"] == 12
    assert load_checkpoint(result.last_checkpoint_path).config == longer


def test_resume_lists_every_field_it_may_not_change(tmp_path: Path, tiny_dataset, straight_run) -> None:
    _, straight = straight_run
    other = load_config(None, [*RESUMABLE, "train.seed=3", "model.dropout=0.0", "train.epochs=4"])
    with pytest.raises(ValueError) as caught:
        train(other, tmp_path, dataset=tiny_dataset, progress=False, resume=straight.last_checkpoint_path)
    message = str(caught.value)
    assert "model.dropout: 0.2 -> 0.0" in message and "train.seed: 0 -> 3" in message
    assert "train.epochs" not in message.split("only")[0], (
        "epochs may change: it is not named as a difference"
    )
    assert "train.epochs" in RESUME_MAY_CHANGE


@pytest.mark.parametrize("seconds", [-5.0, float("nan"), float("inf")])
def test_a_negative_or_non_finite_wall_clock_budget_is_refused(
    tmp_path: Path, tiny_dataset, seconds: float
) -> None:
    config = load_config(None, [*TINY, "train.epochs=1"])
    with pytest.raises(ValueError, match="max_seconds must be a finite number >= 0"):
        train(config, tmp_path, dataset=tiny_dataset, progress=False, max_seconds=seconds)
    assert not (tmp_path / "history.jsonl").exists(), "refused before anything is written"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("train.epochs=-1", "train.epochs"),
        ("train.max_steps=0", "train.max_steps"),
        ("train.max_train_days=-3", "train.max_train_days"),
        ("train.patience=0", "train.patience"),
    ],
)
def test_negative_step_budgets_are_refused_naming_the_field(override: str, field: str) -> None:
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        load_config(None, [override])


def test_training_writes_tensorboard_events_beside_the_history(straight_run) -> None:
    """The trainer logs through atft.monitor: loss / lr / grad norm per step, validation metrics per epoch."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, result = straight_run
    events = EventAccumulator(str(out), size_guidance={"scalars": 0})
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/lr", "grad_norm/temporal", "grad_norm/gat", "val/rank_ic/h5"} <= tags
    steps = sum(row["steps"] for row in result.history)
    losses = events.Scalars("train/loss")
    assert [e.step for e in losses] == list(range(1, steps + 1))
    first_epoch = [e.value for e in losses[: result.history[0]["steps"]]]
    assert np.mean(first_epoch) == pytest.approx(result.history[0]["train_loss"], rel=1e-5)
    assert [e.step for e in events.Scalars("val/rank_ic/h5")] == [row["epoch"] for row in result.history]


@pytest.mark.parametrize(("option", "value"), [("--max-seconds", "-5"), ("--epochs", "-1")])
def test_cli_refuses_a_negative_budget_in_one_line(
    tmp_path: Path, option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from atft.cli import main

    code = main(["train", "--market", "synthetic", option, value, "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and len(err.splitlines()) == 1
    assert ("max_seconds" in err) if option == "--max-seconds" else ("train.epochs" in err)
    assert not (tmp_path / "history.jsonl").exists()
