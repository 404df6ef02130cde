"""The options every command shares: data choice, config + overrides, split, and the checkpoint's data.

One data-option group (`add_data_options`) serves `data`, `evaluate`, `train`, `export` and `diagnose`.
Every data option defaults to "not given", so it only changes the config it is applied to: the built-in
defaults (`data`, `evaluate`), the TOML config (`train`) or the data config stored in a checkpoint
(`export`, `diagnose`, `evaluate --checkpoint`). A checkpoint applied to data it was not trained on is
refused with the same message in every command (`check_trained_on`).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from atft.data import DataConfig, DataError
from atft.data.config import MARKETS
from atft.data.splits import SPLITS

DEFAULT_SPLIT = "test"  # the one default split of evaluate, export and diagnose

# Fields of the synthetic generator: they only matter when the market is synthetic.
SYNTHETIC_FIELDS = ("n_stocks", "n_days", "n_sectors", "signal_strength", "signal_persistence", "seed")

# option dest -> DataConfig field
_DATA_FIELDS = {
    "start": "start",
    "min_coverage": "min_coverage",
    "coverage_window": "coverage_window",
    "lookback": "lookback",
    "cache_dir": "cache_dir",
    "seed": "seed",
    "synthetic_stocks": "n_stocks",
    "synthetic_days": "n_days",
}


def add_config_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--config TOML and repeatable --set SECTION.KEY=VALUE."""
    parser.add_argument(
        "--config", type=Path, metavar="TOML", help="experiment config (default: built-in defaults)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one config field, e.g. --set data.n_stocks=4000 or --set model.use_gat=false "
        "(repeatable)",
    )


def add_data_options(parser: argparse.ArgumentParser, *, config: bool = True) -> None:
    """The one data-option group; with `config`, also --config and --set."""
    group = parser.add_argument_group("config and data" if config else "data")
    if config:
        add_config_options(group)
    group.add_argument(
        "--market",
        choices=MARKETS,
        default=None,
        help="market: pse (embedded Philippine panel, the default), sp500 (20 US stocks), synthetic "
        "(planted signal), panel (a file given with --data)",
    )
    group.add_argument(
        "--data",
        metavar="PATH",
        help="your own long panel file (.parquet or .csv: date, code, open, high, low, close, volume or "
        "value, optional sector, subsector); implies --market panel",
    )
    group.add_argument("--start", default=None, help="first day kept (data.start)")
    group.add_argument(
        "--min-coverage",
        type=float,
        default=None,
        help="a stock is in the universe on day t with a close on at least this share of the trailing "
        "--coverage-window days (data.min_coverage)",
    )
    group.add_argument(
        "--coverage-window",
        type=int,
        default=None,
        help="trading days of the trailing window of the point-in-time universe (data.coverage_window)",
    )
    group.add_argument("--lookback", type=int, default=None, help="look-back steps L (data.lookback)")
    group.add_argument(
        "--cache-dir", default=None, help="where built datasets are cached by config hash (data.cache_dir)"
    )
    group.add_argument("--no-cache", action="store_true", help="build from the source, write no cache")
    group.add_argument("--seed", type=int, default=None, help="seed of the synthetic market (data.seed)")
    group.add_argument(
        "--synthetic-stocks", type=int, default=None, help="stocks of the synthetic market (data.n_stocks)"
    )
    group.add_argument(
        "--synthetic-days", type=int, default=None, help="days of the synthetic market (data.n_days)"
    )


def add_split_option(parser: argparse.ArgumentParser) -> None:
    """--split with the one default split."""
    parser.add_argument(
        "--split", choices=SPLITS, default=DEFAULT_SPLIT, help="split to use (default %(default)s)"
    )


def apply_data_options(base: DataConfig, args: argparse.Namespace) -> DataConfig:
    """`base` with the data options that were given applied (the others keep base's values)."""
    market = getattr(args, "market", None)
    data = getattr(args, "data", None)
    if data and market not in (None, "panel"):
        raise DataError(f"--data {data} is a panel file but --market is {market}; drop one of them")
    changes: dict[str, Any] = {}
    if data:
        changes |= {"market": "panel", "panel_path": str(data)}
    elif market == "panel":
        raise DataError("--market panel needs --data PATH (your long parquet or CSV panel file)")
    elif market is not None:
        changes |= {"market": market, "panel_path": None}
    for dest, name in _DATA_FIELDS.items():
        value = getattr(args, dest, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "no_cache", False):
        changes["cache_dir"] = None
    try:
        return dataclasses.replace(base, **changes)
    except ValueError as exc:
        raise DataError(str(exc)) from exc


def experiment_config_from_args(
    args: argparse.Namespace, *, before: Sequence[str] = (), after: Sequence[str] = ()
) -> Any:
    """The ExperimentConfig of --config and the overrides `before`, --set, `after`, then the data options.

    Later wins, so a dedicated option (`after`, the data options) beats --set, which beats `before`.
    """
    from atft.config import load_config, replace

    overrides = [*before, *getattr(args, "overrides", []), *after]
    config = load_config(getattr(args, "config", None), overrides)
    data = apply_data_options(config.data, args)
    return replace(config, data=dataclasses.asdict(data)) if data != config.data else config


def data_config_from_args(args: argparse.Namespace) -> DataConfig:
    """The DataConfig the config and data options describe."""
    return experiment_config_from_args(args).data


def checkpoint_data_config(path: Path) -> DataConfig:
    """The DataConfig a checkpoint was trained on (read from its metadata, tensors not loaded)."""
    from atft.checkpoint import CheckpointError, read_metadata

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: checkpoint not found; give the file written by `python -m atft train`")
    try:
        return DataConfig.from_dict(read_metadata(path)["config"]["data"])
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: no usable data config in the checkpoint metadata ({exc})") from exc


def config_differences(wanted: DataConfig, trained: DataConfig) -> list[str]:
    """Fields (other than cache_dir) where two data configs build different datasets."""
    ignored = {"cache_dir"} | (set(SYNTHETIC_FIELDS) if wanted.market != "synthetic" else set())
    mine, theirs = wanted.to_dict(), trained.to_dict()
    return [
        f"{k}={mine[k]!r} (trained {theirs[k]!r})" for k in mine if k not in ignored and mine[k] != theirs[k]
    ]


def check_trained_on(path: Path, wanted: DataConfig, trained: DataConfig) -> None:
    """Raise a DataError naming the differences when `wanted` is not the data the checkpoint was trained on."""
    differences = config_differences(wanted, trained)
    if differences:
        raise DataError(
            f"{path}: trained on other data ({', '.join(differences[:4])}); use it with the same data "
            "options, or drop --market/--data to use the checkpoint's own data config"
        )


def checkpoint_dataset_config(path: Path, args: argparse.Namespace) -> DataConfig:
    """The data a checkpoint is applied to: its own data config with the data options given (checked)."""
    trained = checkpoint_data_config(path)
    wanted = apply_data_options(trained, args)
    check_trained_on(path, wanted, trained)
    return wanted
