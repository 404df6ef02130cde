"""`python -m atft export`: write a checkpoint's predictions of a split to parquet."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from rich.console import Console

from atft.cli.train import add_data_options

NAME = "export"
HELP = "Export a checkpoint's predictions (date, code, horizon, quantiles, prediction, target) to parquet."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, required=True, metavar="C", help="a model.safetensors")
    add_data_options(parser)
    parser.add_argument("--split", choices=["train", "val", "test"], default="test", help="default: test")
    parser.add_argument("--out", type=Path, required=True, metavar="P.parquet", help="output parquet file")


def load_checkpoint_and_dataset(args: argparse.Namespace) -> tuple[Any, Any]:
    """The checkpoint and the dataset of its stored data config, with --market / --data applied."""
    from atft.checkpoint import load_checkpoint
    from atft.data import load_dataset

    loaded = load_checkpoint(args.checkpoint)
    data = loaded.config.data
    if getattr(args, "data", None) is not None:
        data = dataclasses.replace(data, market="panel", panel_path=str(args.data))
    elif getattr(args, "market", None) is not None:
        data = dataclasses.replace(data, market=args.market, panel_path=None)
    return loaded, load_dataset(data)


def run(args: argparse.Namespace) -> int:
    from atft.export import export_predictions

    loaded, dataset = load_checkpoint_and_dataset(args)
    rows = export_predictions(loaded, dataset, args.split, args.out)
    Console().print(f"wrote {rows} rows ({args.split} of {dataset.market}) to {args.out}")
    return 0
