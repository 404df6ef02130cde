"""LightGBM tuned on the validation split with optuna, one study per seed, bagged over the seeds.

The referee's baseline for the model: for each seed an optuna TPE study (sampler seeded by it) of
`trials` trials picks LightGBM's hyper-parameters by the mean daily validation RankIC of the judged
horizon; with those parameters one booster per horizon is fitted on the train split (LightGBM seeded
by the same seed, early-stopped on the validation split) and predicts the evaluated split. The bag is the
mean prediction over the seeds (`atft.metrics.mean_prediction_frame`), as the model's seed ensemble.
The test split is never looked at while tuning. The inputs are the model's (`atft.baselines.design`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import optuna
import pandas as pd

from atft.baselines import design, scatter
from atft.data.dataset import MarketDataset
from atft.metrics import mean_prediction_frame, rowwise_spearman

log = logging.getLogger(__name__)

NAME = "lightgbm_tuned"
MAX_ROUNDS = 1000  # boosting rounds at most; early stopping on the validation split ends most fits sooner
EARLY_STOPPING_ROUNDS = 50


@dataclass(frozen=True)
class StudyFile:
    """Where a study is kept across sessions: an optuna journal file, and the study's name in it."""

    journal: Path
    name: str


@dataclass
class TunedRun:
    """One seed's study and fits: what the output table states about the tuned baseline."""

    seed: int
    trials: int
    horizon: int  # the horizon whose validation RankIC the study maximised
    best_params: dict[str, Any]
    best_value: float  # that validation RankIC
    trees: dict[int, int] = field(default_factory=dict)  # horizon -> trees of the final booster


def search_space(trial: optuna.Trial) -> dict[str, Any]:
    """The hyper-parameters a study searches (log scales where the useful range spans decades)."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 7, 127, log=True),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 50, 2000, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.3, 1.0),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 100.0, log=True),
    }


def _params(tuned: dict[str, Any], seed: int, num_threads: int) -> dict[str, Any]:
    return {
        "objective": "regression",
        "bagging_freq": 1,
        "num_threads": num_threads,
        "seed": seed,
        "deterministic": True,
        "verbosity": -1,
        "feature_pre_filter": False,
        **tuned,
    }


@dataclass
class _Design:
    """The train and validation rows of one horizon, built once per study (a flattened raw window is
    costly to rebuild for every trial), and the rows of the validation days the RankIC is measured on."""

    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    val_all: np.ndarray  # inputs of every masked-in validation row, any target
    val_position: np.ndarray
    val_stock: np.ndarray

    @classmethod
    def of(cls, dataset: MarketDataset, k: int) -> _Design:
        x, y, _, _ = design(dataset, "train", k)
        x_val, y_val, _, _ = design(dataset, "val", k)
        val_all, _, position, stock = design(dataset, "val")
        return cls(x, y, x_val, y_val, val_all, position, stock)


def _fit(dataset: MarketDataset, rows: _Design, params: dict[str, Any]) -> lgb.Booster:
    """One booster on the train rows, early-stopped on the validation rows."""
    train_set = lgb.Dataset(
        rows.x, rows.y, feature_name=dataset.input_names, params={"feature_pre_filter": False}
    )
    val_set = lgb.Dataset(rows.x_val, rows.y_val, reference=train_set)
    return lgb.train(
        params,
        train_set,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[val_set],
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )


def validation_rank_ic(dataset: MarketDataset, booster: lgb.Booster, rows: _Design, k: int) -> float:
    """Mean daily RankIC of a booster on the validation split at horizon index `k` (-inf if none)."""
    days = dataset.split_days("val")
    pred = np.full((len(days), dataset.n_stocks), np.nan)
    pred[rows.val_position, rows.val_stock] = booster.predict(
        rows.val_all, num_iteration=booster.best_iteration or None
    )
    target = np.where(dataset.target_mask[days, :, k], dataset.raw_targets[days, :, k], np.nan)
    daily = rowwise_spearman(pred, target)
    return float(np.nanmean(daily)) if np.isfinite(daily).any() else float("-inf")


def tune(
    dataset: MarketDataset,
    *,
    seed: int,
    trials: int,
    horizon: int,
    num_threads: int = 1,
    kept: StudyFile | None = None,
) -> tuple[dict[str, Any], float]:
    """(best parameters, their validation RankIC) of a `trials`-trial TPE study seeded by `seed`.

    With `kept`, the study lives in that optuna journal file under that name: every finished trial
    is kept there, and a study cut short (by the end of a session) resumes with the trials it lacks. The
    resumed sampler starts its random stream afresh, so its later trials are not those of an
    uninterrupted study; an uninterrupted one gives the same trials with or without a journal.
    """
    if trials < 1:
        raise ValueError(f"the tuned LightGBM needs at least one trial; found {trials}.")
    if horizon not in dataset.horizons:
        raise ValueError(
            f"tuning horizon {horizon} is not one of the dataset's horizons {list(dataset.horizons)}."
        )
    k = dataset.horizons.index(horizon)
    rows = _Design.of(dataset, k)

    def objective(trial: optuna.Trial) -> float:
        booster = _fit(dataset, rows, _params(search_space(trial), seed, num_threads))
        return validation_rank_ic(dataset, booster, rows, k)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = None
    if kept is not None:
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        kept.journal.parent.mkdir(parents=True, exist_ok=True)
        storage = JournalStorage(JournalFileBackend(str(kept.journal)))
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        storage=storage,
        study_name=kept.name if kept is not None else None,
        load_if_exists=storage is not None,
    )
    done = sum(1 for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE)
    if done:
        log.info("tuned lightgbm seed %d: resuming its study at trial %d of %d", seed, done + 1, trials)
    if trials > done:
        study.optimize(objective, n_trials=trials - done)
    return dict(study.best_params), float(study.best_value)


def tuned_lightgbm(
    dataset: MarketDataset,
    split: str,
    *,
    seed: int,
    trials: int,
    horizon: int,
    num_threads: int = 1,
    kept: StudyFile | None = None,
) -> tuple[pd.DataFrame, TunedRun]:
    """One seed: tune on the validation split, fit every horizon with the chosen parameters, predict `split`
    (`kept`: where the study is kept, see `tune`)."""
    best, value = tune(dataset, seed=seed, trials=trials, horizon=horizon, num_threads=num_threads, kept=kept)
    run = TunedRun(seed=seed, trials=trials, horizon=horizon, best_params=best, best_value=value)
    x_eval, _, _, _ = design(dataset, split)
    columns = []
    for k, h in enumerate(dataset.horizons):
        booster = _fit(dataset, _Design.of(dataset, k), _params(best, seed, num_threads))
        run.trees[int(h)] = int(booster.best_iteration or booster.current_iteration())
        columns.append(booster.predict(x_eval, num_iteration=booster.best_iteration or None))
    log.info("tuned lightgbm seed %d: validation %dd RankIC %.4f, %s", seed, horizon, value, best)
    return dataset.predictions_frame(split, scatter(dataset, split, columns)), run


def bagged_tuned_lightgbm(
    dataset: MarketDataset,
    split: str,
    *,
    seeds: Sequence[int],
    trials: int,
    horizon: int,
    num_threads: int = 1,
) -> tuple[pd.DataFrame, list[pd.DataFrame], list[TunedRun]]:
    """(the bag's frame, each seed's frame, each seed's run): one tuned LightGBM per seed, averaged."""
    frames, runs = [], []
    for seed in seeds:
        frame, run = tuned_lightgbm(
            dataset, split, seed=seed, trials=trials, horizon=horizon, num_threads=num_threads
        )
        frames.append(frame)
        runs.append(run)
    return mean_prediction_frame(frames), frames, runs
