"""`python -m atft evaluate`: baselines and trained checkpoints side by side on one split, honest metrics."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from atft.baselines import BASELINES, run_baselines
from atft.checkpoint import CheckpointError
from atft.cli.options import (
    add_data_options,
    add_split_option,
    apply_data_options,
    check_trained_on,
    checkpoint_data_config,
    data_config_from_args,
)
from atft.data import DataError, load_dataset
from atft.data.synthetic import ORACLE_NOTE
from atft.evaluate import evaluate_models
from atft.inference import predict_frame
from atft.monitor import track

NAME = "evaluate"
HELP = (
    "measure baselines and checkpoints on one split: IC, RankIC, ICIR, Newey-West t-stats, scale ratio, "
    "long-short Sharpe, and a paired test of each checkpoint against each baseline (on the synthetic "
    "market an `oracle` row, the planted signal, comes first)"
)


def configure(parser: argparse.ArgumentParser) -> None:
    add_data_options(parser)
    add_split_option(parser)
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


class _TrackedDays:
    """A dataset whose `iter_batches` shows a progress bar (terminal only); everything else is the dataset's."""

    def __init__(self, dataset: Any, description: str, progress: bool) -> None:
        self._dataset, self._description, self._progress = dataset, description, progress

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dataset, name)

    def iter_batches(self, split: str) -> Iterator[dict[str, Any]]:
        days = self._dataset.split_days(split)
        batches = self._dataset.iter_batches(split)
        yield from track(batches, description=self._description, total=len(days), progress=self._progress)


def checkpoint_frames(
    paths: list[Path], dataset: object, split: str, *, progress: bool = False
) -> dict[str, pd.DataFrame]:
    """Predictions frames of trained checkpoints via `atft.inference.predict_frame`."""
    if not paths:
        return {}
    frames = {}
    for path in paths:
        days = _TrackedDays(dataset, f"predicting {split} with {path.name}", progress)
        try:
            frames[f"atft:{path.stem}"] = predict_frame(path, days, split)
        except (CheckpointError, ValueError) as exc:
            raise DataError(f"{path}: cannot predict with this checkpoint: {exc}") from exc
    return frames


def run(args: argparse.Namespace) -> int:
    if not args.baselines and not args.checkpoint:
        raise DataError("nothing to evaluate; give --baselines and/or --checkpoint PATH")
    trained = [checkpoint_data_config(path) for path in args.checkpoint]
    if trained and not args.market and not args.data:  # no data choice: the checkpoint's data
        config = apply_data_options(trained[0], args)
    else:
        config = data_config_from_args(args)
    for path, data in zip(args.checkpoint, trained, strict=True):
        check_trained_on(path, config, data)
    progress = args.format == "text" and sys.stderr.isatty()
    dataset = load_dataset(config, progress=progress)
    names = [] if not args.baselines else [n.strip() for n in args.baselines.split(",") if n.strip()]
    if names == ["all"]:
        names = list(BASELINES)
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise DataError(f"unknown baseline(s) {unknown}; expected some of {', '.join(BASELINES)}")
    predictors: dict[str, pd.DataFrame] = {}
    if dataset.signal is not None:
        predictors["oracle"] = dataset.oracle_frame(args.split)
    for name in track(names, description="baselines", progress=progress):
        predictors |= run_baselines(dataset, args.split, [name])
    predictors |= checkpoint_frames(args.checkpoint, dataset, args.split, progress=progress)
    report = evaluate_models(
        dataset,
        args.split,
        predictors,
        baselines=names,
        cost_bps=args.cost_bps,
        delisting_return=args.delisting_return,
    )
    if args.format == "json":
        summary = report.to_dict() | ({"oracle_note": ORACLE_NOTE} if "oracle" in predictors else {})
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        console = Console(width=190)
        console.print(report.table())
        paired = report.paired_table()
        if paired is not None:
            console.print(paired)
        if "oracle" in predictors:
            console.print(ORACLE_NOTE)
    return 0
