"""Seeds as a first-class run: train and evaluate a config over several seeds, its ablations, the baselines.

    result = run_experiment(load_config(Path("configs/pse.toml")), Path("runs/exp"), seeds=5,
                            ablations=("fan", "gat"))
    result.markdown()   # mean ± std per horizon, the paired HAC test against every baseline

Layout of `out_dir`:

    <variant>/seed_<s>/            one training run (model.safetensors, history.jsonl, ...)
    <variant>/seed_<s>/run.json    its config, validation score, best epoch, seconds
    <variant>/seed_<s>/<split>.parquet   its predictions frame on the evaluated split
    baselines/<name>.parquet       each baseline's predictions frame
    baselines/lightgbm_tuned/seed_<s>.parquet, .json   the tuned LightGBM of one seed and its study
    experiment.json, experiment.md the tables

A run whose ``run.json`` and predictions already exist with the same config is reused (and so is a tuned
LightGBM seed made from the same data and budget), and a run cut short resumes from its
``last.safetensors`` (the last finished epoch), so an experiment cut short, or run again in a later
session with the same output folder, continues where it stopped. Variants: ``full`` (the config as
given) and one ablation per name in `ABLATIONS`; each is reported as its seed mean ± std and as its seed
ensemble (the mean prediction over seeds, what a user would deploy). Every seed of every variant is compared with every baseline by `atft.metrics.
paired_hac_test` on the daily RankIC difference (Newey-West, lag h - 1): once on the seed-mean daily
RankIC (the headline p) and once per seed (how many seeds alone reach p < 0.05).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from atft.baselines import BASELINES, run_baselines
from atft.config import ExperimentConfig, replace
from atft.evaluate import evaluate_models
from atft.experiment_report import ENSEMBLE, FULL, ExperimentResult, goal_rows, json_safe, mean_std_text
from atft.inference import predict_frame
from atft.io import atomic_file, atomic_write_bytes
from atft.lightgbm_tuned import NAME as TUNED
from atft.lightgbm_tuned import StudyFile, tuned_lightgbm
from atft.metrics import daily_rank_ic, default_lag, mean_prediction_frame, paired_hac_test, rank_ic_by_year
from atft.train import LAST_CHECKPOINT, check_resumable, selection_score, train

log = logging.getLogger(__name__)

# ablation name -> (label, config changes); "fan" = the model without FAN, "gat" = without GAT
ABLATIONS: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "fan": ("without FAN", {"model": {"use_fan": False}}),
    "gat": ("without GAT", {"model": {"use_gat": False}}),
    "temporal": ("without the temporal encoder", {"model": {"encoder": "last"}}),
    "gru": (
        "recurrent control (GRU, no FAN, no GAT)",
        {"model": {"encoder": "gru", "use_fan": False, "use_gat": False}},
    ),
}
# the ablations whose removal the goal asks to lower validation RankIC (each removes one stage)
STAGE_ABLATIONS = ("fan", "gat", "temporal")
RUN_FILE = "run.json"
SUMMARY_KEYS = ("rank_ic", "ic", "icir", "sharpe", "scale_ratio")  # metrics averaged over seeds
SIGNIFICANCE = 0.05


def variant_config(config: ExperimentConfig, variant: str, seed: int) -> ExperimentConfig:
    """The config of one run: the variant's changes (none for `full`) and ``train.seed = seed``."""
    changes: dict[str, dict[str, Any]] = {} if variant == FULL else dict(ABLATIONS[variant][1])
    changes = {section: dict(values) for section, values in changes.items()}
    changes.setdefault("train", {})["seed"] = seed
    return replace(config, **changes)


def _run_one(
    config: ExperimentConfig, run_dir: Path, dataset: Any, split: str, *, progress: bool
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Train one (variant, seed) unless a finished run with the same config is already in `run_dir`."""
    info_path, frame_path = run_dir / RUN_FILE, run_dir / f"{split}.parquet"
    if info_path.exists() and frame_path.exists():
        info = json.loads(info_path.read_text())
        if info.get("config") == config.to_dict():
            log.info("reusing %s", run_dir)
            return info, pd.read_parquet(frame_path)
    started = time.perf_counter()
    resume = _unfinished(run_dir, config)
    if resume is not None:
        log.info("resuming the unfinished run in %s", run_dir)
    result = train(config, run_dir, dataset=dataset, progress=progress, resume=resume)
    frame = predict_frame(result.checkpoint_path, dataset, split)
    info = {
        "config": config.to_dict(),
        "val_score": selection_score(result.val_metrics, config.train.select_horizon),
        "select_horizon": config.train.select_horizon,
        "val_metrics": result.val_metrics,
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "stop_reason": result.stop_reason,
        "seconds": time.perf_counter() - started,
    }
    _write_frame(frame_path, frame)
    atomic_write_bytes(info_path, json.dumps(json_safe(info), indent=1).encode())  # last: marks the run done
    return info, frame


def _unfinished(run_dir: Path, config: ExperimentConfig) -> Path | None:
    """The `last.safetensors` of a run cut short (by the end of a session) with the same config, from which
    training continues exactly; `None` (train from the start) when there is none, or it is another run's
    or unreadable (said in the log)."""
    from atft.checkpoint import load_checkpoint

    last = run_dir / LAST_CHECKPOINT
    if not last.exists():
        return None
    try:
        check_resumable(load_checkpoint(last).config, config, last)
    except Exception as err:  # noqa: BLE001 - any unreadable or foreign checkpoint: train afresh
        log.warning("not resuming %s (%s); training that run from the start", last, err)
        return None
    return last


def _write_frame(path: Path, frame: pd.DataFrame) -> None:
    with atomic_file(path) as stream:
        frame.to_parquet(stream, index=False)


def _train_job(config_dict: dict[str, Any], run_dir: str, split: str) -> str:
    """One run in a worker process (``--jobs``): load the data from its cache, train, write the files."""
    import torch

    from atft.data import load_dataset

    torch.set_num_threads(1)
    config = ExperimentConfig.from_dict(config_dict)
    _run_one(config, Path(run_dir), load_dataset(config.data), split, progress=False)
    return run_dir


def _baselines(dataset: Any, split: str, names: Sequence[str], out_dir: Path) -> dict[str, pd.DataFrame]:
    """Predictions frames of the baselines, reused from ``out_dir/baselines`` when built from the same data."""
    folder = out_dir / "baselines"
    stamp = {"data": json.loads(json.dumps(dataclasses.asdict(dataset.config))), "split": split}
    stamp_path = folder / "data.json"
    reuse = stamp_path.exists() and json.loads(stamp_path.read_text()) == stamp
    frames: dict[str, pd.DataFrame] = {}
    missing = [name for name in names if not (reuse and (folder / f"{name}.parquet").exists())]
    built = run_baselines(dataset, split, missing) if missing else {}
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name in built:
            _write_frame(folder / f"{name}.parquet", built[name])
            frames[name] = built[name]
        else:
            frames[name] = pd.read_parquet(folder / f"{name}.parquet")
    atomic_write_bytes(stamp_path, json.dumps(stamp).encode())
    return frames


def _summary(
    name: str, per_seed: list[list[dict[str, Any]]], horizons: Sequence[int]
) -> list[dict[str, Any]]:
    """Mean and sample std over seeds of SUMMARY_KEYS, per horizon."""
    rows = []
    for horizon in horizons:
        metrics = [next(m for m in seed_rows if m["horizon"] == horizon) for seed_rows in per_seed]
        row: dict[str, Any] = {"model": name, "horizon": int(horizon), "n_seeds": len(metrics)}
        for key in SUMMARY_KEYS:
            values = np.array([m.get(key, math.nan) for m in metrics], dtype=np.float64)
            values = values[np.isfinite(values)]
            row[f"{key}_mean"] = float(values.mean()) if len(values) else math.nan
            row[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else math.nan
            row[f"{key}_values"] = [float(v) for v in values]
        rows.append(row)
    return rows


def paired_against(
    seed_frames: Sequence[pd.DataFrame], baseline: pd.DataFrame, horizon: int
) -> dict[str, Any]:
    """Paired HAC test of a model (several seeds) against one baseline at one horizon.

    The headline test uses the seed-mean daily RankIC; `per_seed` holds each seed's own test.
    """
    reference = daily_rank_ic(baseline, horizon)
    per_seed_series = [daily_rank_ic(frame, horizon) for frame in seed_frames]
    lag = default_lag(horizon)
    mean_series = pd.concat(per_seed_series, axis=1).mean(axis=1, skipna=False)
    headline = paired_hac_test(mean_series, reference, lag)
    per_seed = [paired_hac_test(series, reference, lag) for series in per_seed_series]
    significant = sum(
        1 for test in per_seed if math.isfinite(test["p"]) and test["p"] < SIGNIFICANCE and test["t"] > 0
    )
    return {**headline, "per_seed": per_seed, "seeds_significant": significant, "n_seeds": len(per_seed)}


def _report_rows(report: Any, name: str) -> list[list[dict[str, Any]]]:
    """The evaluation rows of one model, as the single "seed" `_summary` expects."""
    return [[r for r in report.rows if r["model"] == name]]


def _paired_tables(
    variants: dict[str, str],
    frames: dict[str, list[pd.DataFrame]],
    ensembles: dict[str, pd.DataFrame],
    baseline_frames: dict[str, pd.DataFrame],
    horizons: tuple[int, ...],
    judged: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Paired Newey-West tests: each variant's seeds against each baseline at every horizon, each seed
    ensemble against each baseline at the judged horizon, and the full model's ensemble against each
    other variant's (what removing a stage or swapping the encoder changes, on the test days)."""
    paired = [
        {
            "variant": variant,
            "baseline": name,
            "horizon": horizon,
            **paired_against(frames[variant], baseline, horizon),
        }
        for variant in variants
        for name, baseline in baseline_frames.items()
        for horizon in horizons
    ]
    paired_ensembles = [
        {
            "variant": name,
            "baseline": baseline,
            "horizon": judged,
            **paired_against([frame], reference, judged),
        }
        for name, frame in ensembles.items()
        for baseline, reference in baseline_frames.items()
    ]
    full = f"{FULL}{ENSEMBLE}"
    if full in ensembles:
        paired_ensembles += [
            {
                "variant": full,
                "baseline": name,
                "horizon": judged,
                **paired_against([ensembles[full]], frame, judged),
            }
            for name, frame in ensembles.items()
            if name != full
        ]
    return paired, paired_ensembles


def run_experiment(
    config: ExperimentConfig,
    out_dir: Path,
    *,
    seeds: int | Sequence[int] = 5,
    ablations: Sequence[str] = (),
    baselines: Sequence[str] | None = None,
    split: str = "test",
    dataset: Any = None,
    progress: bool = False,
    command: str = "",
    jobs: int = 1,
    tuned_trials: int = 0,
    on_run: Callable[[str, int, dict[str, Any]], None] | None = None,
) -> ExperimentResult:
    """Train `config` (and each ablation) once per seed, evaluate on `split` beside the baselines.

    `seeds` is a count (seeds ``train.seed, train.seed + 1, ...``) or explicit seeds. `jobs` > 1 trains
    that many runs at once in worker processes (each loads the data from its cache, one torch thread).
    `tuned_trials` > 0 adds LightGBM tuned with that many optuna trials per seed and bagged over the same
    seeds (`atft.lightgbm_tuned`). Each variant is reported as its seed mean ± std and as its seed
    ensemble (the mean prediction), with per-year RankIC at the judged horizon and, against the tuned
    LightGBM, the goal of issue 24. Writes experiment.json and experiment.md into `out_dir`.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    seed_list = _seed_list(config, seeds)
    unknown = [name for name in ablations if name not in ABLATIONS]
    if unknown:
        raise ValueError(f"unknown ablation(s) {unknown}; expected some of {sorted(ABLATIONS)}.")
    if tuned_trials < 0:
        raise ValueError(f"tuned_trials must be >= 0 (0 = no tuned LightGBM); found {tuned_trials}.")
    baseline_names = list(BASELINES) if baselines is None else list(baselines)
    if dataset is None:
        from atft.data import load_dataset  # the data path is only needed when no dataset is handed in

        dataset = load_dataset(config.data, progress=progress)
    horizons = tuple(int(h) for h in config.model.horizons)
    judged = judged_horizon(config)
    variants = {FULL: "full model" + _switches(config)}
    variants |= {name: ABLATIONS[name][0] for name in ablations}
    plan = [
        (variant, seed, variant_config(config, variant, seed)) for variant in variants for seed in seed_list
    ]

    def all_baselines() -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]]]:
        frames = _baselines(dataset, split, baseline_names, out_dir) if baseline_names else {}
        if not tuned_trials:
            return frames, []
        bag, runs = _tuned_baseline(dataset, split, seed_list, tuned_trials, judged, out_dir)
        return frames | {TUNED: bag}, runs

    built: tuple[dict[str, pd.DataFrame], list[dict[str, Any]]] | None = None
    if jobs > 1:  # train in worker processes; the baselines are built here meanwhile
        built = _train_in_workers(plan, out_dir, split, jobs, all_baselines)
    runs, frames = _collect_runs(plan, out_dir, dataset, split, progress=progress, on_run=on_run)
    baseline_frames, tuned = built if built is not None else all_baselines()
    ensembles = {f"{variant}{ENSEMBLE}": mean_prediction_frame(f) for variant, f in frames.items()}
    report = evaluate_models(
        dataset, split, {**baseline_frames, **{v: f[0] for v, f in frames.items()}, **ensembles}
    )

    summary: list[dict[str, Any]] = []
    for variant in variants:
        summary += _summary(variant, [list(r["test"]) for r in runs if r["variant"] == variant], horizons)
    for name in baseline_frames:
        summary += _summary(name, _report_rows(report, name), horizons)
    ensemble_rows: list[dict[str, Any]] = []
    for name in ensembles:
        ensemble_rows += _summary(name, _report_rows(report, name), horizons)
    paired, paired_ensembles = _paired_tables(variants, frames, ensembles, baseline_frames, horizons, judged)
    per_year = {
        name: rank_ic_by_year(frame, judged) for name, frame in {**ensembles, **baseline_frames}.items()
    }
    tried = _tried(variants, runs, config)
    result = ExperimentResult(
        market=dataset.market,
        split=split,
        seeds=seed_list,
        variants=variants,
        runs=runs,
        summary=summary,
        paired=paired,
        seconds=time.perf_counter() - started,
        command=command,
        period={"first": report.first_date, "last": report.last_date},
        horizon=judged,
        ensembles=ensemble_rows,
        paired_ensembles=paired_ensembles,
        per_year={
            name: {str(year): value for year, value in years.items()} for name, years in per_year.items()
        },
        tuned=tuned,
        tried=tried,
    )
    result.goal = goal_rows(result, {name: ABLATIONS[name][0] for name in STAGE_ABLATIONS})
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_dir / "experiment.json", json.dumps(result.to_dict(), indent=1).encode())
    atomic_write_bytes(out_dir / "experiment.md", result.markdown().encode())
    return result


def judged_horizon(config: ExperimentConfig) -> int:
    """The horizon the experiment is judged on: train.select_horizon, else 5 (or the first horizon)."""
    horizons = tuple(int(h) for h in config.model.horizons)
    if config.train.select_horizon is not None:
        return int(config.train.select_horizon)
    return 5 if 5 in horizons else horizons[0]


def _tuned_baseline(
    dataset: Any, split: str, seeds: Sequence[int], trials: int, horizon: int, out_dir: Path
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The bagged tuned LightGBM; each seed's frame and study are reused from ``out_dir/baselines/
    lightgbm_tuned`` when made from the same data, split, trials and horizon, and a study cut short
    resumes from its finished trials (kept in that folder's optuna journal)."""
    folder = out_dir / "baselines" / TUNED
    stamp = {
        "data": json.loads(json.dumps(dataclasses.asdict(dataset.config))),
        "split": split,
        "trials": trials,
        "horizon": horizon,
    }
    frames, runs = [], []
    for seed in seeds:
        frame_path, info_path = folder / f"seed_{seed}.parquet", folder / f"seed_{seed}.json"
        info = json.loads(info_path.read_text()) if info_path.exists() else None
        if info is not None and info.get("stamp") == stamp and frame_path.exists():
            frames.append(pd.read_parquet(frame_path))
            runs.append(info["run"])
            continue
        digest = hashlib.blake2b(json.dumps(stamp, sort_keys=True).encode(), digest_size=6).hexdigest()
        frame, run = tuned_lightgbm(
            dataset,
            split,
            seed=seed,
            trials=trials,
            horizon=horizon,
            # finished trials survive the end of a session
            kept=StudyFile(folder / "studies.optuna.log", f"seed_{seed}-{digest}"),
        )
        _write_frame(frame_path, frame)
        seed_run = dataclasses.asdict(run) | {"test_rank_ic": float(daily_rank_ic(frame, horizon).mean())}
        record = {"stamp": stamp, "run": json_safe(seed_run)}
        atomic_write_bytes(info_path, json.dumps(record, indent=1).encode())  # last: marks the seed done
        frames.append(frame)
        runs.append(record["run"])
    return mean_prediction_frame(frames), runs


def _tried(
    variants: dict[str, str], runs: list[dict[str, Any]], config: ExperimentConfig
) -> list[dict[str, Any]]:
    """Every variant of the experiment: its label, its config changes, seeds, validation RankIC, budget."""
    rows = []
    for variant, label in variants.items():
        mine = [r for r in runs if r["variant"] == variant]
        changes = {} if variant == FULL else ABLATIONS[variant][1]
        rows.append(
            {
                "variant": variant,
                "label": label,
                "changes": {
                    f"{section}.{k}": v for section, values in changes.items() for k, v in values.items()
                },
                "seeds": [r["seed"] for r in mine],
                "val": mean_std_text([r["val_score"] for r in mine]),
                "val_mean": float(np.mean([r["val_score"] for r in mine])) if mine else math.nan,
                "epochs_run": [r["epochs_run"] for r in mine],
                "best_epochs": [r["best_epoch"] for r in mine],
                "stop_reasons": sorted({str(r.get("stop_reason")) for r in mine}),
                "epoch_cap": config.train.epochs,
            }
        )
    return rows


def _seed_list(config: ExperimentConfig, seeds: int | Sequence[int]) -> list[int]:
    """The seeds of an experiment: a count from ``train.seed`` on, or explicit distinct seeds."""
    seed_list = (
        [config.train.seed + i for i in range(seeds)] if isinstance(seeds, int) else [int(s) for s in seeds]
    )
    if not seed_list:
        raise ValueError("an experiment needs at least one seed (--seeds N with N >= 1).")
    if len(set(seed_list)) != len(seed_list):
        raise ValueError(f"seeds must be distinct; found {seed_list}.")
    return seed_list


Plan = Sequence[tuple[str, int, ExperimentConfig]]


def _train_in_workers(plan: Plan, out_dir: Path, split: str, jobs: int, meanwhile: Callable[[], Any]) -> Any:
    """Train every run of `plan` in `jobs` spawned worker processes; return `meanwhile()`, run here."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [
            pool.submit(_train_job, run_config.to_dict(), str(out_dir / variant / f"seed_{seed}"), split)
            for variant, seed, run_config in plan
        ]
        built = meanwhile()
        for future in futures:
            future.result()
    return built


def _collect_runs(
    plan: Plan,
    out_dir: Path,
    dataset: Any,
    split: str,
    *,
    progress: bool,
    on_run: Callable[[str, int, dict[str, Any]], None] | None,
) -> tuple[list[dict[str, Any]], dict[str, list[pd.DataFrame]]]:
    """Train (or reuse) each run of `plan` here and evaluate it: the run rows and each variant's frames."""
    runs: list[dict[str, Any]] = []
    frames: dict[str, list[pd.DataFrame]] = {}
    for variant, seed, run_config in plan:
        info, frame = _run_one(
            run_config, out_dir / variant / f"seed_{seed}", dataset, split, progress=progress
        )
        frames.setdefault(variant, []).append(frame)
        row = {
            "variant": variant,
            "seed": seed,
            "val_score": info["val_score"],
            "best_epoch": info["best_epoch"],
            "epochs_run": info["epochs_run"],
            "stop_reason": info.get("stop_reason"),
            "seconds": info["seconds"],
            "test": evaluate_models(dataset, split, {variant: frame}).rows,
        }
        runs.append(row)
        if on_run is not None:
            on_run(variant, seed, row)
    return runs, frames


def _switches(config: ExperimentConfig) -> str:
    on = [name for name, flag in (("FAN", config.model.use_fan), ("GAT", config.model.use_gat)) if flag]
    return f" ({', '.join(on)} on)" if on else " (FAN and GAT off)"


def progress_of(out_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Where an experiment in `out_dir` stands, from its files alone (`python -m atft experiment --status`):
    every training run (variant, seed, finished or not, epochs done, best validation score so far) and
    every tuned LightGBM seed (finished, or the trials its journal holds). Validation figures only: the
    test split is read by the finished experiment's tables, not here."""
    runs = []
    for run_dir in sorted(out_dir.glob("*/seed_*")):
        if run_dir.parent.name == "baselines":
            continue
        info_path, history = run_dir / RUN_FILE, run_dir / "history.jsonl"
        epochs = (
            [json.loads(line) for line in history.read_text().splitlines() if line.strip()]
            if history.exists()
            else []
        )
        scores = [e["val_rank_ic"] for e in epochs if isinstance(e.get("val_rank_ic"), int | float)]
        row: dict[str, Any] = {
            "variant": run_dir.parent.name,
            "seed": int(run_dir.name.removeprefix("seed_")),
            "finished": info_path.exists(),
            "epochs": len(epochs),
            "best_val": max(scores) if scores else None,
        }
        if info_path.exists():
            info = json.loads(info_path.read_text())
            row.update(best_val=info.get("val_score"), stop_reason=info.get("stop_reason"))
        runs.append(row)
    folder = out_dir / "baselines" / TUNED
    tuned = []
    for info_path in sorted(folder.glob("seed_*.json")):
        run = json.loads(info_path.read_text())["run"]
        tuned.append(
            {"seed": run["seed"], "finished": True, "trials": run["trials"], "best_val": run["best_value"]}
        )
    journal = folder / "studies.optuna.log"
    if journal.exists():
        import optuna
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        done = {row["seed"] for row in tuned}
        storage = JournalStorage(JournalFileBackend(str(journal)))
        for summary in optuna.get_all_study_summaries(storage):
            seed = int(summary.study_name.split("-")[0].removeprefix("seed_"))
            if seed not in done:
                best = summary.best_trial.value if summary.best_trial is not None else None
                tuned.append({"seed": seed, "finished": False, "trials": summary.n_trials, "best_val": best})
    return {"runs": runs, "tuned": sorted(tuned, key=lambda row: row["seed"])}
