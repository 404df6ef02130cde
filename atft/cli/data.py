"""`python -m atft data`: build (or load from the cache) a market dataset and print its data-quality report."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from atft.cli.options import add_data_options, data_config_from_args
from atft.data import load_dataset
from atft.data.synthetic import ORACLE_NOTE

NAME = "data"
HELP = "build or load a market dataset (pse, sp500, synthetic or a panel file) and report its data quality"


def configure(parser: argparse.ArgumentParser) -> None:
    add_data_options(parser)


def _render(summary: dict) -> None:
    console = Console()
    console.print(
        f"[bold]{summary['market']}[/bold] {summary['source']}: {summary['stocks']} stocks, "
        f"{summary['days']} days {summary['first_date']}..{summary['last_date']}, "
        f"{len(summary['features'])} features, look-back {summary['lookback']}, "
        f"horizons {summary['horizons']}, {summary['mean_stocks_per_day']:.1f} stocks per day"
    )
    splits = Table(title=f"calendar splits (embargo {summary['embargo']} trading days)")
    for column in ("split", "days", "first", "last"):
        splits.add_column(column)
    for name, info in summary["splits"].items():
        splits.add_row(name, str(info["days"]), str(info["first"]), str(info["last"]))
    console.print(splits)
    quality = Table(title="data quality (counts since start)")
    quality.add_column("category")
    quality.add_column("count", justify="right")
    for key, value in summary["quality"].items():
        if key in ("source", "first_day", "split_ends"):
            continue
        quality.add_row(key, str(value))
    console.print(quality)
    if summary.get("oracle_ic"):
        ic = ", ".join(f"{h}d {v:.4f}" for h, v in summary["oracle_ic"].items())
        console.print(f"oracle IC of the planted signal on the test split: {ic}")
        console.print(ORACLE_NOTE)


def run(args: argparse.Namespace) -> int:
    config = data_config_from_args(args)
    dataset = load_dataset(config, progress=args.format == "text" and sys.stderr.isatty())
    summary = dataset.describe()
    if summary.get("oracle_ic"):
        summary["oracle_note"] = ORACLE_NOTE
    if args.format == "json":
        sys.stdout.write(json.dumps(summary, indent=2, default=str) + "\n")
    else:
        _render(summary)
    return 0
