"""`python -m atft data`: build (or load from the cache) a market dataset and print its data-quality report."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from atft.data import DataConfig, DataError, load_dataset
from atft.data.config import MARKETS

NAME = "data"
HELP = "build or load a market dataset (pse, sp500, synthetic or a panel file) and report its data quality"


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that choose and shape the dataset (shared with `evaluate`)."""
    group = parser.add_argument_group("data")
    group.add_argument(
        "--market",
        choices=MARKETS,
        default=None,
        help="market: pse (embedded Philippine panel, default), sp500 (20 US stocks), synthetic "
        "(planted signal), panel (a file given with --data)",
    )
    group.add_argument(
        "--data",
        metavar="PATH",
        help="your own long panel file (.parquet or .csv: date, code, open, high, low, close, volume or "
        "value, optional sector, subsector); implies --market panel",
    )
    defaults = DataConfig()
    group.add_argument("--start", default=defaults.start, help="first day kept (default %(default)s)")
    group.add_argument(
        "--min-coverage",
        type=float,
        default=defaults.min_coverage,
        help="a stock is in the universe on day t with a close on at least this share of the trailing "
        "--coverage-window days (default %(default)s)",
    )
    group.add_argument(
        "--coverage-window",
        type=int,
        default=defaults.coverage_window,
        help="trading days of the trailing window of the point-in-time universe (default %(default)s)",
    )
    group.add_argument(
        "--lookback", type=int, default=defaults.lookback, help="look-back steps L (default %(default)s)"
    )
    group.add_argument(
        "--cache-dir",
        default=defaults.cache_dir,
        help="where built datasets are cached by config hash (default %(default)s)",
    )
    group.add_argument("--no-cache", action="store_true", help="build from the source, write no cache")
    group.add_argument("--seed", type=int, default=defaults.seed, help="seed of the synthetic market")
    group.add_argument(
        "--synthetic-stocks", type=int, default=defaults.n_stocks, help="stocks of the synthetic market"
    )
    group.add_argument(
        "--synthetic-days", type=int, default=defaults.n_days, help="trading days of the synthetic market"
    )


def data_config_from_args(args: argparse.Namespace) -> DataConfig:
    """The DataConfig the data options describe."""
    market = args.market or ("panel" if args.data else "pse")
    if args.data and market != "panel":
        raise DataError(f"--data {args.data} is a panel file but --market is {market}; drop one of them")
    if market == "panel" and not args.data:
        raise DataError("--market panel needs --data PATH (your long parquet or CSV panel file)")
    try:
        return DataConfig(
            market=market,
            panel_path=args.data,
            start=args.start,
            min_coverage=args.min_coverage,
            coverage_window=args.coverage_window,
            lookback=args.lookback,
            cache_dir=None if args.no_cache else args.cache_dir,
            seed=args.seed,
            n_stocks=args.synthetic_stocks,
            n_days=args.synthetic_days,
        )
    except ValueError as exc:
        raise DataError(str(exc)) from exc


def configure(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")


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


def run(args: argparse.Namespace) -> int:
    try:
        config = data_config_from_args(args)
        dataset = load_dataset(config, progress=args.format == "text" and sys.stderr.isatty())
    except DataError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    summary = dataset.describe()
    if args.format == "json":
        sys.stdout.write(json.dumps(summary, indent=2, default=str) + "\n")
    else:
        _render(summary)
    return 0
