"""Issue 24 item 2: a training budget set by early stopping on the judged horizon, not by the epoch cap.

The schedules "constant" and "cosine_steps" give the same learning rate at every step whatever
``train.epochs`` is; ``train.select_horizon`` picks the best epoch and drives early stopping.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import atft.train
from atft.checkpoint import load_checkpoint
from atft.config import ConfigError, ExperimentConfig, TrainConfig, load_config
from atft.data import load_dataset
from atft.train import schedule_factor, selection_score, train
from tests.atft.tiny import TINY_MODEL

TINY = [
    "data.market=synthetic",
    "data.n_stocks=16",
    "data.n_days=140",
    "data.cache_dir=none",
    "train.max_train_days=2",
    "train.torch_threads=1",
    *TINY_MODEL,
]


def _rates(schedule: str, epochs: int, steps: int = 400) -> list[float]:
    config = TrainConfig(schedule=schedule, epochs=epochs, warmup_steps=20, decay_steps=150)
    factor = schedule_factor(config, steps_per_epoch=30)
    return [factor(step) for step in range(steps)]


@pytest.mark.parametrize("schedule", ["constant", "cosine_steps"])
def test_the_schedule_does_not_depend_on_the_epoch_cap(schedule: str) -> None:
    assert _rates(schedule, epochs=2) == _rates(schedule, epochs=50)


def test_the_cosine_schedule_does_depend_on_it() -> None:
    """What the two step schedules fix: under "cosine" a larger epoch cap changes every step's rate."""
    assert _rates("cosine", epochs=2) != _rates("cosine", epochs=50)


def test_the_step_schedules_warm_up_then_hold_or_decay() -> None:
    constant, decay = _rates("constant", epochs=3), _rates("cosine_steps", epochs=3)
    assert constant[0] == pytest.approx(1 / 20) and constant[19] == pytest.approx(1.0)
    assert constant[19:] == [pytest.approx(1.0)] * len(constant[19:])
    assert decay[19] == pytest.approx(1.0) and decay[20 + 150] == pytest.approx(0.05)
    assert decay[-1] == pytest.approx(0.05)  # flat at min_lr_ratio after the decay


def test_an_unknown_schedule_or_horizon_is_refused_naming_the_field() -> None:
    with pytest.raises(ConfigError, match=r"train\.schedule"):
        load_config(None, ["train.schedule=linear"])
    with pytest.raises(ConfigError, match=r"train\.select_horizon 7"):
        load_config(None, ["train.select_horizon=7"])


def test_selection_score_reads_one_horizon_or_the_mean() -> None:
    metrics = [{"horizon": 1, "rank_ic": 0.3}, {"horizon": 5, "rank_ic": 0.1}]
    assert selection_score(metrics, 5) == pytest.approx(0.1)
    assert selection_score(metrics, None) == pytest.approx(0.2)


# Validation RankIC by epoch: 5d peaks at epoch 0 and falls, 1d rises every epoch.
SCRIPT = [{1: 0.01 * (epoch + 1), 5: 0.20 - 0.05 * epoch, 10: 0.0, 20: 0.0} for epoch in range(6)]


@pytest.fixture(scope="module")
def tiny_dataset():
    return load_dataset(load_config(None, TINY).data)


@pytest.fixture
def scripted_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    """`validate` returns SCRIPT's metrics, epoch after epoch, so the selection is known in advance."""
    calls = iter(SCRIPT)

    def scripted(_model, _dataset, _split="val"):
        return [{"horizon": h, "rank_ic": v, "ic": v, "scale_ratio": 1.0} for h, v in next(calls).items()]

    monkeypatch.setattr(atft.train, "validate", scripted)


@pytest.mark.usefixtures("scripted_validation")
def test_early_stopping_follows_the_selected_horizon(tmp_path: Path, tiny_dataset) -> None:
    config = load_config(None, [*TINY, "train.epochs=6", "train.patience=2", "train.select_horizon=5"])
    result = train(config, tmp_path, dataset=tiny_dataset, progress=False)
    assert result.stop_reason == "early_stopping"
    assert len(result.history) == 3 and result.best_epoch == 0  # epochs 1 and 2 did not beat epoch 0
    assert [row["val_rank_ic"] for row in result.history] == pytest.approx([0.20, 0.15, 0.10])
    assert load_checkpoint(result.checkpoint_path).metadata["user"]["epoch"] == 0  # the best epoch's weights


@pytest.mark.usefixtures("scripted_validation")
def test_another_horizon_selects_another_epoch(tmp_path: Path, tiny_dataset) -> None:
    config = load_config(None, [*TINY, "train.epochs=6", "train.patience=2", "train.select_horizon=1"])
    result = train(config, tmp_path, dataset=tiny_dataset, progress=False)
    assert result.stop_reason == "epochs" and result.best_epoch == 5


def test_old_checkpoints_keep_their_mean_over_horizons_selection() -> None:
    from atft.checkpoint import _migrate_config

    config = load_config(None, ["data.horizons=[1, 20]", "train.select_horizon=none"]).to_dict()
    del config["train"]["select_horizon"]  # as a checkpoint written before the field existed
    with pytest.raises(ValueError, match="select_horizon"):
        ExperimentConfig.from_dict(config)  # today's default (5) is no horizon of that model
    assert ExperimentConfig.from_dict(_migrate_config(config)).train.select_horizon is None


def test_a_date_given_unquoted_is_read_as_its_iso_string() -> None:
    """TOML reads `--set data.start=2016-06-01` as a date; date fields of the config are strings."""
    assert load_config(None, ["data.start=2016-06-01"]).data.start == "2016-06-01"
