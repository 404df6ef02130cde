"""Issue 24 item 4: seed ensembles, the tuned and bagged LightGBM, per-year RankIC, every variant tried
and the goal, in `atft.experiment` (a tiny synthetic market; the numbers are not the point, the wiring is).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from atft import experiment as experiment_module
from atft.config import load_config
from atft.data import load_dataset
from atft.experiment import run_experiment, variant_config
from atft.lightgbm_tuned import tuned_lightgbm
from atft.metrics import (
    daily_rank_ic,
    evaluate_frame,
    mean_prediction_frame,
    paired_hac_test,
    rank_ic_by_year,
)
from tests.atft.tiny import TINY_RUN

SETTINGS = [
    "data.market=synthetic",
    *TINY_RUN,
    "data.n_stocks=24",
    "data.n_days=200",
    "train.max_train_days=4",
]


@pytest.fixture(scope="module")
def tiny():
    config = load_config(None, SETTINGS)
    return config, load_dataset(config.data)


@pytest.fixture(scope="module")
def finished(tiny, tmp_path_factory):
    config, dataset = tiny
    out = tmp_path_factory.mktemp("fair")
    result = run_experiment(
        config, out, seeds=2, ablations=("gat", "gru"), baselines=("ridge",), dataset=dataset, tuned_trials=2
    )
    return out, result


def test_the_ensemble_is_measured_on_the_mean_prediction(finished) -> None:
    out, result = finished
    seeds = [pd.read_parquet(out / "full" / f"seed_{s}" / "test.parquet") for s in (0, 1)]
    mean = seeds[0].assign(prediction=(seeds[0]["prediction"] + seeds[1]["prediction"]) / 2)
    expected = {row["horizon"]: row["rank_ic"] for row in evaluate_frame(mean)}
    rows = {r["horizon"]: r for r in result.ensembles if r["model"] == "full:ensemble"}
    for horizon, row in rows.items():
        assert row["rank_ic_mean"] == pytest.approx(expected[horizon], abs=1e-9)
    seed_mean = next(r for r in result.summary if r["model"] == "full" and r["horizon"] == 5)["rank_ic_mean"]
    assert rows[5]["rank_ic_mean"] != pytest.approx(seed_mean, abs=1e-6)  # not the mean of the seeds' metric
    assert {r["variant"] for r in result.paired_ensembles} == {
        "full:ensemble",
        "gat:ensemble",
        "gru:ensemble",
    }


def test_the_full_ensemble_is_tested_against_each_other_variant(finished) -> None:
    out, result = finished
    ensemble = {
        v: mean_prediction_frame([pd.read_parquet(out / v / f"seed_{s}" / "test.parquet") for s in (0, 1)])
        for v in ("full", "gru")
    }
    row = next(
        r
        for r in result.paired_ensembles
        if r["variant"] == "full:ensemble" and r["baseline"] == "gru:ensemble"
    )
    expected = paired_hac_test(daily_rank_ic(ensemble["full"], 5), daily_rank_ic(ensemble["gru"], 5), lag=4)
    assert row["horizon"] == 5
    assert row["mean_diff"] == pytest.approx(expected["mean_diff"], abs=1e-12)
    assert row["t"] == pytest.approx(expected["t"], rel=1e-9)
    assert {r["baseline"] for r in result.paired_ensembles if r["variant"] == "full:ensemble"} >= {
        "gat:ensemble",
        "gru:ensemble",
    }
    markdown = (out / "experiment.md").read_text()
    assert "ensemble of 2 seeds | recurrent control" in markdown  # the other variant is named, not keyed


def test_mean_prediction_frame_refuses_frames_of_other_rows() -> None:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2020-01-02"] * 3),
            "code": list("abc"),
            "horizon": 5,
            "prediction": [1.0, 2, 3],
        }
    )
    other = frame.assign(prediction=[3.0, 2, 1])
    assert mean_prediction_frame([frame, other])["prediction"].tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(ValueError, match="does not hold the rows"):
        mean_prediction_frame([frame, other.iloc[::-1]])


def test_the_tuned_lightgbm_is_seeded_per_seed_and_bagged(tiny, finished) -> None:
    _, dataset = tiny
    out, result = finished
    assert [run["seed"] for run in result.tuned] == [0, 1]
    assert all(run["trials"] == 2 and run["horizon"] == 5 for run in result.tuned)
    again, run = tuned_lightgbm(dataset, "test", seed=1, trials=2, horizon=5)
    stored = pd.read_parquet(out / "baselines" / "lightgbm_tuned" / "seed_1.parquet")
    pd.testing.assert_frame_equal(again, stored)  # the same seed repeats exactly
    assert run.best_params == result.tuned[1]["best_params"]
    assert result.tuned[0]["best_params"] != result.tuned[1]["best_params"]  # each seed its own study
    assert result.tuned[1]["test_rank_ic"] == pytest.approx(float(daily_rank_ic(stored, 5).mean()))
    first = pd.read_parquet(out / "baselines" / "lightgbm_tuned" / "seed_0.parquet")
    bag = mean_prediction_frame([first, stored])
    expected = {row["horizon"]: row["rank_ic"] for row in evaluate_frame(bag)}
    bag_rows = {r["horizon"]: r for r in result.summary if r["model"] == "lightgbm_tuned"}
    assert bag_rows[5]["rank_ic_mean"] == pytest.approx(expected[5], abs=1e-9)


def test_a_finished_tuned_seed_is_reused(tiny, finished, monkeypatch: pytest.MonkeyPatch) -> None:
    config, dataset = tiny
    out, result = finished

    def refuse(*_args, **_kwargs):
        raise AssertionError("trained or tuned again")

    monkeypatch.setattr(experiment_module, "train", refuse)
    monkeypatch.setattr(experiment_module, "tuned_lightgbm", refuse)
    again = run_experiment(
        config, out, seeds=2, ablations=("gat", "gru"), baselines=("ridge",), dataset=dataset, tuned_trials=2
    )
    assert again.tuned == result.tuned and again.ensembles == result.ensembles


def test_per_year_rank_ic_and_every_variant_tried(finished) -> None:
    out, result = finished
    bag = result.per_year["lightgbm_tuned"]
    ridge = pd.read_parquet(out / "baselines" / "ridge.parquet")
    daily = daily_rank_ic(ridge, 5)
    by_year = {str(y): float(v.mean()) for y, v in daily.groupby(pd.DatetimeIndex(daily.index).year)}
    assert result.per_year["ridge"] == pytest.approx(by_year)
    assert set(bag) == set(by_year) and rank_ic_by_year(ridge, 5) == pytest.approx(
        {int(y): v for y, v in by_year.items()}
    )
    tried = {row["variant"]: row for row in result.tried}
    assert list(tried) == ["full", "gat", "gru"]
    assert tried["gru"]["changes"] == {"model.encoder": "gru", "model.use_fan": False, "model.use_gat": False}
    assert tried["full"]["seeds"] == [0, 1] and len(tried["gat"]["epochs_run"]) == 2
    markdown = (out / "experiment.md").read_text()
    assert "2 optuna TPE trials per seed" in markdown and "Every variant tried" in markdown
    assert "ensemble of 2 seeds" in markdown and "5d RankIC per year" in markdown


def test_the_goal_is_checked_criterion_by_criterion(finished) -> None:
    out, result = finished
    goal = {row["criterion"]: row for row in result.goal}
    margin = next(row for name, row in goal.items() if name.startswith("full ensemble 5d RankIC"))
    ours = next(r for r in result.ensembles if r["model"] == "full:ensemble" and r["horizon"] == 5)
    theirs = next(r for r in result.summary if r["model"] == "lightgbm_tuned" and r["horizon"] == 5)
    assert margin["met"] == (ours["rank_ic_mean"] - theirs["rank_ic_mean"] >= 0.010)
    assert goal["without FAN: lower validation RankIC"]["value"] == "not run"  # not in this experiment
    assert not goal["without FAN: lower validation RankIC"]["met"]
    assert any(name.startswith("ahead of the tuned LightGBM in") for name in goal)
    written = json.loads((out / "experiment.json").read_text())
    assert len(written["goal"]) == len(result.goal)
    assert "Goal of issue 24: NOT met." in (out / "experiment.md").read_text()


def test_variant_configs_of_the_new_ablations(tiny) -> None:
    config, _ = tiny
    assert variant_config(config, "temporal", 3).model.encoder == "last"
    gru = variant_config(config, "gru", 3).model
    assert (gru.encoder, gru.use_fan, gru.use_gat) == ("gru", False, False)
    assert variant_config(config, "gru", 3).train.seed == 3


def test_worker_processes_train_while_the_tuned_baseline_is_built(tiny, tmp_path) -> None:
    config, dataset = tiny
    result = run_experiment(
        config, tmp_path, seeds=[0, 1], baselines=("zero",), dataset=dataset, tuned_trials=1, jobs=2
    )
    assert [(r["variant"], r["seed"]) for r in result.runs] == [("full", 0), ("full", 1)]
    assert [run["seed"] for run in result.tuned] == [0, 1]
    assert {row["model"] for row in result.summary} == {"full", "zero", "lightgbm_tuned"}


def test_a_tuned_study_cut_short_resumes_with_the_trials_it_lacks(
    tiny, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    from atft import lightgbm_tuned

    _, dataset = tiny
    journal = tmp_path / "studies.optuna.log"
    kept = lightgbm_tuned.StudyFile(journal, "seed_3")
    lightgbm_tuned.tune(dataset, seed=3, trials=2, horizon=5, kept=kept)
    fits = []
    real_fit = lightgbm_tuned._fit

    def counted(*args, **kwargs):
        fits.append(1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(lightgbm_tuned, "_fit", counted)
    _, value = lightgbm_tuned.tune(dataset, seed=3, trials=3, horizon=5, kept=kept)
    assert len(fits) == 1  # the two finished trials are not run again
    study = optuna.load_study(study_name="seed_3", storage=JournalStorage(JournalFileBackend(str(journal))))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 3 and value == max(t.value for t in complete)
