"""`python -m atft export`: write a checkpoint's predictions of a split to parquet or CSV."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from atft.cli.options import add_data_options, add_split_option, checkpoint_dataset_config

NAME = "export"
HELP = (
    "Export a checkpoint's predictions (date, code, horizon, quantiles, prediction, target) to a .parquet "
    "or .csv file (the format follows the suffix of --out)."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, required=True, metavar="C", help="a model.safetensors")
    add_data_options(parser, config=False)
    add_split_option(parser)
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE",
        help="output file: .parquet or .csv (the suffix chooses the format; any other is refused)",
    )


def load_checkpoint_and_dataset(args: argparse.Namespace) -> tuple[Any, Any]:
    """The checkpoint and the dataset it is applied to: its stored data config with the data options given.

    A checkpoint applied to data it was not trained on is refused with a DataError naming the differences.
    """
    from atft.checkpoint import load_checkpoint
    from atft.data import load_dataset

    data = checkpoint_dataset_config(args.checkpoint, args)
    loaded = load_checkpoint(args.checkpoint)
    return loaded, load_dataset(data, progress=args.format == "text" and sys.stderr.isatty())


def run(args: argparse.Namespace) -> int:
    from atft.export import check_export_path, export_predictions

    check_export_path(args.out)  # before the model and the data are loaded
    loaded, dataset = load_checkpoint_and_dataset(args)
    rows = export_predictions(loaded, dataset, args.split, args.out)
    if args.format == "json":
        summary = {"rows": rows, "split": args.split, "market": dataset.market, "out": str(args.out)}
        sys.stdout.write(json.dumps(summary) + "\n")
    else:
        Console().print(f"wrote {rows} rows ({args.split} of {dataset.market}) to {args.out}")
    return 0
