"""Multi-day steps (`train.batch_days`): one block-diagonal graph of K days, the loss computed per day."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from atft.config import load_config
from atft.data import load_dataset
from atft.loss import QuantileCorrelationLoss
from atft.model import ATFT_GAT_FAN
from atft.train import train
from tests.atft.tiny import TINY_MODEL, assert_same_weights

TINY = [
    "data.market=synthetic",
    "data.n_stocks=20",
    "data.n_days=160",
    "data.cache_dir=none",
    "train.max_train_days=7",
    "train.warmup_steps=2",
    "train.torch_threads=1",
    "train.epochs=2",
    "train.patience=5",
    "model.dropout=0.0",
    *TINY_MODEL,
]


@pytest.fixture(scope="module")
def config():
    return load_config(None, TINY)


@pytest.fixture(scope="module")
def dataset(config):
    return load_dataset(config.data)


def _loss_and_grads(model, loss_fn, batch) -> tuple[float, list[torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    loss, _ = loss_fn(model(batch), batch)
    loss.backward()
    return float(loss.detach()), [
        p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in model.parameters()
    ]


def test_a_k_day_batch_equals_the_mean_of_k_one_day_steps(config, dataset) -> None:
    """The whole model (GAT included) on K days as one block-diagonal graph: same loss and gradient as the
    mean over the K days taken one at a time (no cross-day term in the model or the loss)."""
    torch.manual_seed(0)
    model = ATFT_GAT_FAN(config.model, dataset.n_features, dataset.n_static)
    model.train()  # dropout is 0: train mode is deterministic
    loss_fn = QuantileCorrelationLoss(config.loss, config.model.horizons, config.model.quantiles)
    days = [int(d) for d in dataset.split_days("train")[-3:]]
    # make the days differ in size: drop half the stocks of the second day, one horizon of the third
    batches = [dataset.batch(day) for day in days]
    batches[1]["mask"][: dataset.n_stocks // 2] = False
    batches[2]["target_mask"][:, 0] = False
    singles = [_loss_and_grads(model, loss_fn, b) for b in batches]
    joined = dataset.batch_days(days)
    joined["mask"][dataset.n_stocks : dataset.n_stocks + dataset.n_stocks // 2] = False
    joined["target_mask"][2 * dataset.n_stocks :, 0] = False
    loss, grads = _loss_and_grads(model, loss_fn, joined)
    assert loss == pytest.approx(sum(s[0] for s in singles) / 3, rel=1e-5)
    for index, grad in enumerate(grads):
        mean = sum(s[1][index] for s in singles) / 3
        torch.testing.assert_close(grad, mean, rtol=1e-4, atol=1e-6)
    assert any(g.abs().sum() > 0 for g in grads)


def test_a_day_without_targets_does_not_dilute_the_mean(config, dataset) -> None:
    """A day of the block with no usable target is left out of the mean, as the trainer skips such a day."""
    torch.manual_seed(0)
    model = ATFT_GAT_FAN(config.model, dataset.n_features, dataset.n_static).eval()
    loss_fn = QuantileCorrelationLoss(config.loss, config.model.horizons, config.model.quantiles)
    days = [int(d) for d in dataset.split_days("train")[-2:]]
    joined = dataset.batch_days(days)
    joined["target_mask"][dataset.n_stocks :] = False
    first = dataset.batch(days[0])
    with torch.no_grad():
        alone, _ = loss_fn(model(first), first)
        both, _ = loss_fn(model(joined), joined)
    assert float(both) == pytest.approx(float(alone), rel=1e-5)


def test_the_loss_refuses_a_malformed_day_vector(config, dataset) -> None:
    from atft.loss import LossContractError

    model = ATFT_GAT_FAN(config.model, dataset.n_features, dataset.n_static).eval()
    loss_fn = QuantileCorrelationLoss(config.loss, config.model.horizons, config.model.quantiles)
    joined = dataset.batch_days([int(d) for d in dataset.split_days("train")[-2:]])
    with torch.no_grad():
        output = model(joined)
    joined["batch"] = joined["batch"][:-1]
    with pytest.raises(LossContractError, match=r"batch\['batch'\] must be an integer tensor"):
        loss_fn(output, joined)


def test_training_with_batch_days_takes_fewer_steps_and_is_reproducible(tmp_path: Path, dataset) -> None:
    config = load_config(None, [*TINY, "train.batch_days=3"])
    first = train(config, tmp_path / "a", dataset=dataset, progress=False)
    second = train(config, tmp_path / "b", dataset=dataset, progress=False)
    assert [row["steps"] for row in first.history] == [math.ceil(7 / 3)] * 2  # 3 + 3 + 1 days per epoch
    assert [row["train_loss"] for row in first.history] == [row["train_loss"] for row in second.history]
    assert_same_weights(first.last_checkpoint_path, second.last_checkpoint_path)
    one_day = train(load_config(None, TINY), tmp_path / "c", dataset=dataset, progress=False)
    assert [row["steps"] for row in one_day.history] == [7, 7]
    assert first.history[0]["train_loss"] != one_day.history[0]["train_loss"]  # the switch does something


def test_a_step_budget_then_resume_with_batch_days_continues_exactly(tmp_path: Path, dataset) -> None:
    """Cut after 4 steps of 3 days (inside epoch 1), resume: the straight run's weights and losses."""
    config = load_config(None, [*TINY, "train.batch_days=3"])
    straight = train(config, tmp_path / "straight", dataset=dataset, progress=False)
    cut = load_config(None, [*TINY, "train.batch_days=3", "train.max_steps=4"])
    part = train(cut, tmp_path / "cut", dataset=dataset, progress=False)
    assert part.stop_reason == "max_steps" and part.history[-1].get("partial")
    resumed = train(
        config, tmp_path / "cut", dataset=dataset, progress=False, resume=part.last_checkpoint_path
    )
    assert_same_weights(straight.last_checkpoint_path, resumed.last_checkpoint_path)
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in straight.history]


def test_batch_days_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"train.batch_days must be >= 1"):
        load_config(None, [*TINY, "train.batch_days=0"])
