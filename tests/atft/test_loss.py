"""The fp32 loss: pinball + per-day correlation; a loss that cannot depend on the predictions is an error."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from atft.loss import LossConfig, LossContractError, QuantileCorrelationLoss, pearson, pinball_loss

HORIZONS = (1, 5)
QUANTILES = (0.1, 0.5, 0.9)


def make(n: int = 32, seed: int = 0) -> tuple[dict, dict]:
    generator = torch.Generator().manual_seed(seed)
    targets = torch.randn(n, 2, generator=generator)
    raw = torch.randn(n, 3, 2, generator=generator)
    predictions = {
        f"horizon_{h}d": torch.sort(raw[:, :, i], dim=1).values.requires_grad_()
        for i, h in enumerate(HORIZONS)
    }
    output = {"predictions": predictions, "point": {k: v[:, 1] for k, v in predictions.items()}}
    batch = {
        "targets": targets,
        "target_mask": torch.ones(n, 2, dtype=torch.bool),
        "mask": torch.ones(n, dtype=torch.bool),
        "date": "2020-01-02",
    }
    return output, batch


def loss_fn(**changes) -> QuantileCorrelationLoss:
    return QuantileCorrelationLoss(LossConfig(**changes), HORIZONS, QUANTILES)


def test_loss_is_positive_and_every_horizon_gets_gradient() -> None:
    output, batch = make()
    loss, parts = loss_fn()(output, batch)
    assert loss.dtype == torch.float32 and loss > 0
    loss.backward()
    for key, value in output["predictions"].items():
        assert value.grad is not None and value.grad.abs().sum() > 0, key
    assert set(parts) == {"pinball_horizon_1d", "pinball_horizon_5d", "corr_horizon_1d", "corr_horizon_5d"}


def test_pinball_matches_the_definition() -> None:
    predictions = torch.tensor([[0.0, 1.0], [2.0, 2.0]])
    target = torch.tensor([1.0, 0.0])
    quantiles = torch.tensor([0.2, 0.8])
    # errors: row 0: [1, 0], row 1: [-2, -2]; losses: 0.2*1, 0, 0.8*2, 0.2*2
    expected = (0.2 + 0.0 + 1.6 + 0.4) / 4
    assert pinball_loss(predictions, target, quantiles).item() == pytest.approx(expected)


def test_correlation_term_rewards_ranking() -> None:
    target = torch.linspace(-1, 1, 20)
    assert pearson(3 * target + 1, target).item() == pytest.approx(1.0, abs=1e-6)
    assert pearson(-target, target).item() == pytest.approx(-1.0, abs=1e-6)
    output, batch = make(n=20)
    batch["targets"] = torch.stack([target, target], dim=1)
    perfect = {
        k: (target[:, None] + torch.tensor([-0.5, 0.0, 0.5])).requires_grad_() for k in output["predictions"]
    }
    pinball_only, _ = loss_fn(correlation_weight=0.0)({"predictions": perfect}, batch)
    full, parts = loss_fn(correlation_weight=1.0)({"predictions": perfect}, batch)
    assert parts["corr_horizon_1d"] == pytest.approx(1.0, abs=1e-6)
    assert full.item() == pytest.approx(pinball_only.item(), abs=1e-5)


def test_wrapper_dict_without_predictions_is_an_error_not_a_zero() -> None:
    """The bug of the project we replace: the loss got the wrong dict, matched nothing and returned 0."""
    output, batch = make()
    with pytest.raises(LossContractError, match=r"expects the model output dict with key 'predictions'"):
        loss_fn()({"output": output}, batch)


def test_horizon_keys_that_do_not_match_are_an_error() -> None:
    output, batch = make()
    output["predictions"] = {
        "1d": output["predictions"]["horizon_1d"],
        "5d": output["predictions"]["horizon_5d"],
    }
    with pytest.raises(LossContractError, match=r"missing \['horizon_1d', 'horizon_5d'\]"):
        loss_fn()(output, batch)


def test_no_valid_target_is_an_error() -> None:
    output, batch = make()
    batch["target_mask"][:] = False
    with pytest.raises(LossContractError, match="does not depend on the predictions"):
        loss_fn()(output, batch)


def test_detached_predictions_give_a_plain_number_for_evaluation() -> None:
    output, batch = make()
    detached = {k: v.detach() for k, v in output["predictions"].items()}
    loss, _ = loss_fn()({"predictions": detached}, batch)
    assert not loss.requires_grad and loss.item() > 0


def test_masked_rows_do_not_count() -> None:
    output, batch = make()
    base, _ = loss_fn()(output, batch)
    batch["targets"][0] = 1e6
    batch["mask"][0] = False
    masked, _ = loss_fn()(output, batch)
    assert torch.isfinite(masked) and abs(masked.item() - base.item()) < 1.0


def test_loss_runs_in_fp32_under_bf16_predictions() -> None:
    output, batch = make()
    output["predictions"] = {
        k: v.detach().bfloat16().requires_grad_() for k, v in output["predictions"].items()
    }
    loss, _ = loss_fn()(output, batch)
    assert loss.dtype == torch.float32


@pytest.mark.parametrize(
    "changes",
    [
        {"pinball_weight": 0.0, "correlation_weight": 0.0},
        {"pinball_weight": -1.0},
        {"rank_weight": -0.5},
        {"horizon_weights": (0.0, 0.0)},
    ],
)
def test_degenerate_weights_are_refused(changes: dict) -> None:
    with pytest.raises(ValueError, match="loss"):
        LossConfig(**changes)


def test_horizon_weights_must_match_horizons() -> None:
    with pytest.raises(ValueError, match="one per horizon"):
        QuantileCorrelationLoss(LossConfig(horizon_weights=(1.0,)), HORIZONS, QUANTILES)


MIXES = [{}, {"rank_weight": 0.7, "point_weight": 0.3, "horizon_weights": (0.2, 0.8)}]


@pytest.mark.parametrize("changes", MIXES, ids=["default", "rank+point"])
def test_a_multi_day_batch_is_the_mean_of_its_days_in_loss_and_gradient(changes: dict) -> None:
    """Rows of three days with a `batch` vector: every term per day (never across days), then the mean."""
    days = [make(n=n, seed=seed) for n, seed in ((12, 1), (20, 2), (7, 3))]
    days[1][1]["mask"][:5] = False  # masks honoured per day
    days[2][1]["target_mask"][:, 1] = False  # one horizon unusable on one day
    singles = []
    for output, batch in days:
        loss, parts = loss_fn(**changes)(output, batch)
        loss.backward()
        singles.append((float(loss.detach()), parts))
    joined_pred = {
        key: torch.cat([o["predictions"][key].detach() for o, _ in days]).requires_grad_()
        for key in days[0][0]["predictions"]
    }
    joined = {key: torch.cat([b[key] for _, b in days]) for key in ("targets", "target_mask", "mask")} | {
        "batch": torch.cat([torch.full((len(b["mask"]),), i) for i, (_, b) in enumerate(days)])
    }
    loss, parts = loss_fn(**changes)({"predictions": joined_pred}, joined)
    (3 * loss).backward()  # the gradient of the sum of the day losses
    assert float(loss.detach()) == pytest.approx(sum(s[0] for s in singles) / 3, rel=1e-6)
    for key, value in joined_pred.items():
        grads = [o["predictions"][key].grad for o, _ in days]  # None: the horizon was unusable that day
        expected = torch.cat(
            [
                torch.zeros_like(o["predictions"][key]) if g is None else g
                for g, (o, _) in zip(grads, days, strict=True)
            ]
        )
        torch.testing.assert_close(value.grad, expected, rtol=1e-5, atol=1e-7)
    assert parts["corr_horizon_5d"] == pytest.approx(
        (singles[0][1]["corr_horizon_5d"] + singles[1][1]["corr_horizon_5d"]) / 2, rel=1e-6
    )


def _one_term(name: str) -> QuantileCorrelationLoss:
    """A loss of the single term `name` (weight 1, every other weight 0)."""
    weights = {"pinball_weight": 0.0, "correlation_weight": 0.0} | {name: 1.0}
    return loss_fn(**weights)


def test_rank_term_is_one_minus_the_correlation_with_the_target_ranks() -> None:
    output, batch = make(n=25, seed=4)
    loss, parts = _one_term("rank_weight")(output, batch)
    expected = []
    for column, key in enumerate(output["predictions"]):
        median = output["predictions"][key][:, 1].detach().numpy()
        ranks = scipy.stats.rankdata(batch["targets"][:, column].numpy())
        expected.append(1 - np.corrcoef(median, ranks)[0, 1])
        assert parts[f"rank_corr_{key}"] == pytest.approx(1 - expected[-1], rel=1e-5)
    assert float(loss) == pytest.approx(np.mean(expected), rel=1e-5)


def test_rank_term_ignores_monotone_changes_of_the_target_and_correlation_does_not() -> None:
    output, batch = make(n=30, seed=5)
    stretched = dict(batch, targets=batch["targets"] ** 3)  # same order, other values
    rank, corr = _one_term("rank_weight"), _one_term("correlation_weight")
    assert float(rank(output, batch)[0]) == pytest.approx(float(rank(output, stretched)[0]), rel=1e-6)
    assert float(corr(output, batch)[0]) != pytest.approx(float(corr(output, stretched)[0]), rel=1e-3)


def test_point_term_is_the_mean_squared_error_of_the_median() -> None:
    output, batch = make(n=16, seed=6)
    loss, _ = _one_term("point_weight")(output, batch)
    errors = [
        torch.mean((output["predictions"][key][:, 1].detach() - batch["targets"][:, i]) ** 2)
        for i, key in enumerate(output["predictions"])
    ]
    assert float(loss) == pytest.approx(float(torch.stack(errors).mean()), rel=1e-6)


def test_horizon_weights_shift_the_loss_to_the_weighted_horizon() -> None:
    output, batch = make(n=24, seed=7)
    _, parts = loss_fn()(output, batch)
    only_5d, _ = loss_fn(horizon_weights=(0.0, 1.0))(output, batch)
    expected = parts["pinball_horizon_5d"] + 0.5 * (1 - parts["corr_horizon_5d"])
    assert float(only_5d) == pytest.approx(expected, rel=1e-6)
