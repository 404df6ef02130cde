"""Baselines on the same split and features as the model: zero, reversal, momentum, ridge, LightGBM.

Each baseline is a function ``(dataset, split) -> predictions frame`` (docs/architecture.md). Fitted
baselines learn on the train split only, on the inputs the model reads (`MarketDataset.input_rows`: the
features of day t, the raw price window flattened, or both, by ``data.inputs``), against the
per-day normalised targets; the validation split picks their one hyper-parameter (ridge strength,
LightGBM's number of trees by early stopping). So evaluating them on "test" is out of sample.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd

from atft.data.dataset import MarketDataset
from atft.data.features import FEATURE_NAMES
from atft.metrics import rowwise_pearson

logger = logging.getLogger(__name__)

RIDGE_ALPHAS = (1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0)
RIDGE_BLOCK_ROWS = 65_536  # rows per block of the gram matrix


def _broadcast(dataset: MarketDataset, split: str, signal: np.ndarray) -> pd.DataFrame:
    """Frame with the same per-day signal [days, N] for every horizon."""
    values = np.repeat(signal[:, :, None], len(dataset.horizons), axis=2)
    return dataset.predictions_frame(split, values)


def _feature(dataset: MarketDataset, split: str, name: str) -> np.ndarray:
    days = dataset.split_days(split)
    return dataset.features[days, :, FEATURE_NAMES.index(name)].astype(np.float64)


def zero_baseline(dataset: MarketDataset, split: str) -> pd.DataFrame:
    """Predict 0 for every stock: no information (IC 0, scale ratio 0, no long-short book)."""
    days = dataset.split_days(split)
    return _broadcast(dataset, split, np.zeros((len(days), dataset.n_stocks)))


def reversal_baseline(dataset: MarketDataset, split: str) -> pd.DataFrame:
    """Short-term reversal: minus the (cross-sectionally normalised) 5-day return."""
    return _broadcast(dataset, split, -_feature(dataset, split, "ret_5"))


def momentum_baseline(dataset: MarketDataset, split: str) -> pd.DataFrame:
    """Momentum: the return from t-119 to t-20 (normalised), skipping the last month."""
    return _broadcast(dataset, split, _feature(dataset, split, "mom_120_20"))


def design(dataset: MarketDataset, split: str, horizon_index: int | None = None) -> tuple[np.ndarray, ...]:
    """(X [rows, F'] float32, y [rows] or None, day position [rows], stock [rows]) of the masked-in stocks
    of a split; with a horizon index, only rows whose target at that horizon is known. X holds the
    inputs the model reads (`MarketDataset.input_rows`, by data.inputs)."""
    days = dataset.split_days(split)
    keep = dataset.mask[days]
    if horizon_index is not None:
        keep = keep & dataset.target_mask[days, :, horizon_index]
    position, stock = np.nonzero(keep)
    x = dataset.input_rows(days[position], stock)
    y = None if horizon_index is None else dataset.targets[days[position], stock, horizon_index]
    return x, y, position, stock


def scatter(dataset: MarketDataset, split: str, columns: list[np.ndarray]) -> np.ndarray:
    """Predictions [days, N, H] from one flat prediction vector per horizon over `design(split)` rows."""
    days = dataset.split_days(split)
    _, _, position, stock = design(dataset, split)
    out = np.zeros((len(days), dataset.n_stocks, len(columns)))
    for k, column in enumerate(columns):
        out[position, stock, k] = column
    return out


def _mean_ic(dataset: MarketDataset, split: str, pred: np.ndarray, horizon_index: int) -> float:
    days = dataset.split_days(split)
    target = np.where(
        dataset.target_mask[days, :, horizon_index], dataset.raw_targets[days, :, horizon_index], np.nan
    )
    ic = rowwise_pearson(np.where(dataset.mask[days], pred, np.nan), target)
    return float(np.nanmean(ic)) if np.isfinite(ic).any() else -np.inf


def ridge_path(x: np.ndarray, y: np.ndarray, alphas: Sequence[float]) -> list[tuple[np.ndarray, float]]:
    """Ridge regressions with an unpenalised intercept, one (weights [F], intercept) per alpha.

    The centred gram matrix X'X and X'y are computed once, in float64 over blocks of rows (a flattened
    raw window has hundreds of columns), and each alpha only solves an [F, F] system.
    """
    x_mean, y_mean = x.mean(axis=0, dtype=np.float64), float(y.mean())
    gram = np.zeros((x.shape[1], x.shape[1]))
    moment = np.zeros(x.shape[1])
    for lo in range(0, len(x), RIDGE_BLOCK_ROWS):
        xc = x[lo : lo + RIDGE_BLOCK_ROWS].astype(np.float64) - x_mean  # (rows, F)
        gram += xc.T @ xc
        moment += xc.T @ (y[lo : lo + RIDGE_BLOCK_ROWS] - y_mean)
    fits = []
    for alpha in alphas:
        weights = np.linalg.solve(gram + alpha * np.eye(x.shape[1]), moment)
        fits.append((weights, y_mean - float(x_mean @ weights)))
    return fits


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge regression with an unpenalised intercept: (weights [F], intercept)."""
    return ridge_path(x, y, [alpha])[0]


def ridge_baseline(
    dataset: MarketDataset, split: str, *, alphas: Sequence[float] = RIDGE_ALPHAS
) -> pd.DataFrame:
    """Ridge per horizon on the train split; its strength is the one with the best validation IC."""
    x_eval, _, _, _ = design(dataset, split)
    x_val, _, val_pos, val_stock = design(dataset, "val")
    val_days = len(dataset.split_days("val"))
    columns = []
    for k, horizon in enumerate(dataset.horizons):
        x, y, _, _ = design(dataset, "train", k)
        best: tuple[float, float, np.ndarray, float] | None = None
        for alpha, (weights, intercept) in zip(
            alphas, ridge_path(x, y.astype(np.float64), alphas), strict=True
        ):
            val_pred = np.zeros((val_days, dataset.n_stocks))
            val_pred[val_pos, val_stock] = x_val @ weights + intercept
            score = _mean_ic(dataset, "val", val_pred, k)
            if best is None or score > best[0]:
                best = (score, alpha, weights, intercept)
        assert best is not None
        logger.info("ridge %dd: alpha %.0f (validation IC %.4f)", horizon, best[1], best[0])
        columns.append(x_eval @ best[2] + best[3])
    return dataset.predictions_frame(split, scatter(dataset, split, columns))


def lightgbm_baseline(
    dataset: MarketDataset,
    split: str,
    *,
    seed: int = 0,
    num_threads: int = 1,
    max_rounds: int = 300,
) -> pd.DataFrame:
    """LightGBM per horizon on the train split, early-stopped on the validation split (l2 loss).

    One thread by default: on a shared 2-core machine OpenMP threads fight each other (a synthetic fit took
    33 s with 2 threads and 2.5 s with 1).
    """
    params = {
        "objective": "regression",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 200,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "num_threads": num_threads,
        "seed": seed,
        "deterministic": True,
        "verbosity": -1,
    }
    x_eval, _, _, _ = design(dataset, split)
    columns = []
    for k, horizon in enumerate(dataset.horizons):
        x, y, _, _ = design(dataset, "train", k)
        x_val, y_val, _, _ = design(dataset, "val", k)
        train_set = lgb.Dataset(x, y, feature_name=dataset.input_names, free_raw_data=True)
        val_set = lgb.Dataset(x_val, y_val, reference=train_set)
        booster = lgb.train(
            params,
            train_set,
            num_boost_round=max_rounds,
            valid_sets=[val_set],
            callbacks=[lgb.early_stopping(30, verbose=False)],
        )
        logger.info("lightgbm %dd: %d trees", horizon, booster.best_iteration)
        columns.append(booster.predict(x_eval, num_iteration=booster.best_iteration or None))
    return dataset.predictions_frame(split, scatter(dataset, split, columns))


Baseline = Callable[[MarketDataset, str], pd.DataFrame]
BASELINES: dict[str, Baseline] = {
    "zero": zero_baseline,
    "reversal": reversal_baseline,
    "momentum": momentum_baseline,
    "ridge": ridge_baseline,
    "lightgbm": lightgbm_baseline,
}


def run_baselines(
    dataset: MarketDataset, split: str, names: Sequence[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Predictions frames of the named baselines (default: all, in BASELINES order)."""
    chosen = list(names) if names else list(BASELINES)
    unknown = [n for n in chosen if n not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown}; expected some of {list(BASELINES)}")
    return {name: BASELINES[name](dataset, split) for name in chosen}
