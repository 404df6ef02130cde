"""`python -m atft evaluate`: baselines and trained checkpoints side by side on one split, honest metrics."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
from rich.console import Console

from atft.baselines import BASELINES, run_baselines
from atft.checkpoint import CheckpointError, read_metadata
from atft.cli.data import add_data_arguments, data_config_from_args
from atft.data import DataConfig, DataError, load_dataset
from atft.data.splits import SPLITS
from atft.evaluate import evaluate_models
from atft.inference import predict_frame

NAME = "evaluate"
HELP = (
    "measure baselines and checkpoints on one split: IC, RankIC, ICIR, Newey-West t-stats, scale ratio, "
    "long-short Sharpe, and a paired test of each checkpoint against each baseline (on the synthetic "
    "market an `oracle` row, the planted signal, comes first)"
)


def configure(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    parser.add_argument(
        "--split", choices=SPLITS, default="test", help="split to evaluate on (default %(default)s)"
    )
    parser.add_argument(
        "--baselines",
        nargs="?",
        const=",".join(BASELINES),
        default=None,
        metavar="NAMES",
        help=f"evaluate baselines: all, or a comma list of {', '.join(BASELINES)}",
    )
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="a trained checkpoint to evaluate (repeatable); its rows are named atft:<file stem>. Without "
        "--market/--data the data config stored in the (first) checkpoint is used; a checkpoint trained on "
        "other data is refused",
    )
    parser.add_argument(
        "--cost-bps",
        type=float,
        default=10.0,
        help="cost per unit of traded notional in the long-short backtest (default %(default)s)",
    )
    parser.add_argument(
        "--delisting-return",
        type=float,
        default=None,
        metavar="R",
        help="return earned by a held stock whose prices end inside the holding period (e.g. -0.3); "
        "default: its last available return",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")


SYNTHETIC_FIELDS = ("n_stocks", "n_days", "n_sectors", "signal_strength", "signal_persistence", "seed")


def checkpoint_data_config(path: Path) -> DataConfig:
    """The DataConfig a checkpoint was trained on (read from its metadata, tensors not loaded)."""
    if not path.exists():
        raise DataError(f"{path}: checkpoint not found; give the file written by `python -m atft train`")
    try:
        return DataConfig.from_dict(read_metadata(path)["config"]["data"])
    except CheckpointError as exc:
        raise DataError(str(exc)) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: no usable data config in the checkpoint metadata ({exc})") from exc


def config_differences(wanted: DataConfig, trained: DataConfig) -> list[str]:
    """Fields (other than cache_dir) where two data configs build different datasets."""
    ignored = {"cache_dir"} | (set(SYNTHETIC_FIELDS) if wanted.market != "synthetic" else set())
    mine, theirs = wanted.to_dict(), trained.to_dict()
    return [
        f"{k}={mine[k]!r} (trained {theirs[k]!r})" for k in mine if k not in ignored and mine[k] != theirs[k]
    ]


def checkpoint_frames(paths: list[Path], dataset: object, split: str) -> dict[str, pd.DataFrame]:
    """Predictions frames of trained checkpoints via `atft.inference.predict_frame`."""
    if not paths:
        return {}
    frames = {}
    for path in paths:
        try:
            frames[f"atft:{path.stem}"] = predict_frame(path, dataset, split)
        except (CheckpointError, ValueError) as exc:
            raise DataError(f"{path}: cannot predict with this checkpoint: {exc}") from exc
    return frames


def run(args: argparse.Namespace) -> int:
    if not args.baselines and not args.checkpoint:
        sys.stderr.write("error: nothing to evaluate; give --baselines and/or --checkpoint PATH\n")
        return 2
    try:
        config = data_config_from_args(args)
        trained = [checkpoint_data_config(path) for path in args.checkpoint]
        if trained and not args.market and not args.data:  # no data options: use the checkpoint's data
            config = replace(trained[0], cache_dir=config.cache_dir)
        for path, data in zip(args.checkpoint, trained, strict=True):
            differences = config_differences(config, data)
            if differences:
                raise DataError(
                    f"{path}: trained on other data ({', '.join(differences[:4])}); evaluate it with the "
                    "same data options, or drop --market/--data to use the checkpoint's own data config"
                )
        dataset = load_dataset(config, progress=args.format == "text" and sys.stderr.isatty())
        names = [] if not args.baselines else [n.strip() for n in args.baselines.split(",") if n.strip()]
        if names == ["all"]:
            names = list(BASELINES)
        unknown = [n for n in names if n not in BASELINES]
        if unknown:
            raise DataError(f"unknown baseline(s) {unknown}; expected some of {', '.join(BASELINES)}")
        predictors: dict[str, pd.DataFrame] = {}
        if dataset.signal is not None:
            predictors["oracle"] = dataset.oracle_frame(args.split)
        predictors |= run_baselines(dataset, args.split, names) if names else {}
        predictors |= checkpoint_frames(args.checkpoint, dataset, args.split)
        report = evaluate_models(
            dataset,
            args.split,
            predictors,
            baselines=names,
            cost_bps=args.cost_bps,
            delisting_return=args.delisting_return,
        )
    except DataError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if args.format == "json":
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        console = Console(width=190)
        console.print(report.table())
        paired = report.paired_table()
        if paired is not None:
            console.print(paired)
    return 0
