"""`python -m atft train`: train ATFT-GAT-FAN on a market and write checkpoints + history.

This is the only place that reads the deprecated environment flags of the project we replace; each is
mapped onto a typed config field with a DeprecationWarning:

    ENABLE_ENCODER_DIAGNOSTICS=1          diagnostics.enabled=true, diagnostics.encoder=true
    ENABLE_PREDICTION_HEAD_DIAGNOSTICS=1  diagnostics.enabled=true, diagnostics.heads=true
    ENCODER_DIAG_EVERY=N                  diagnostics.every_epochs=N
    BYPASS_ADAPTIVE_NORM=1                model.use_fan=false
    BYPASS_GAT_COMPLETELY=1               model.use_gat=false
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from rich.table import Table

from atft.cli.options import add_data_options, experiment_config_from_args
from atft.config import ConfigError

NAME = "train"
HELP = (
    "Train ATFT-GAT-FAN on a market (pse, sp500, synthetic or a panel file); writes checkpoints and history."
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"environment variable {name}={value!r}: expected 1/0, true/false, yes/no or on/off.")


def overrides_from_environment(environ: Mapping[str, str]) -> list[str]:
    """Config overrides for the legacy environment flags that are set, each with a DeprecationWarning."""
    overrides: list[str] = []
    mapping: dict[str, list[str]] = {}
    if "ENABLE_ENCODER_DIAGNOSTICS" in environ and _flag(
        "ENABLE_ENCODER_DIAGNOSTICS", environ["ENABLE_ENCODER_DIAGNOSTICS"]
    ):
        mapping["ENABLE_ENCODER_DIAGNOSTICS"] = ["diagnostics.enabled=true", "diagnostics.encoder=true"]
    if "ENABLE_PREDICTION_HEAD_DIAGNOSTICS" in environ and _flag(
        "ENABLE_PREDICTION_HEAD_DIAGNOSTICS", environ["ENABLE_PREDICTION_HEAD_DIAGNOSTICS"]
    ):
        mapping["ENABLE_PREDICTION_HEAD_DIAGNOSTICS"] = ["diagnostics.enabled=true", "diagnostics.heads=true"]
    if "ENCODER_DIAG_EVERY" in environ:
        value = environ["ENCODER_DIAG_EVERY"].strip()
        if not value.isdigit() or int(value) < 1:
            raise ConfigError(
                f"environment variable ENCODER_DIAG_EVERY={value!r}: expected a positive integer."
            )
        mapping["ENCODER_DIAG_EVERY"] = [f"diagnostics.every_epochs={int(value)}"]
    if "BYPASS_ADAPTIVE_NORM" in environ:
        use_fan = not _flag("BYPASS_ADAPTIVE_NORM", environ["BYPASS_ADAPTIVE_NORM"])
        mapping["BYPASS_ADAPTIVE_NORM"] = [f"model.use_fan={str(use_fan).lower()}"]
    if "BYPASS_GAT_COMPLETELY" in environ:
        use_gat = not _flag("BYPASS_GAT_COMPLETELY", environ["BYPASS_GAT_COMPLETELY"])
        mapping["BYPASS_GAT_COMPLETELY"] = [f"model.use_gat={str(use_gat).lower()}"]
    for name, values in mapping.items():
        warnings.warn(
            f"environment variable {name} is deprecated; it was mapped to `--set {' --set '.join(values)}`. "
            "Use those options (or a TOML config) instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        overrides.extend(values)
    return overrides


def configure(parser: argparse.ArgumentParser) -> None:
    add_data_options(parser)
    parser.add_argument("--epochs", type=int, metavar="N", help="training epochs (train.epochs)")
    parser.add_argument(
        "--out", type=Path, default=Path("runs/atft"), help="output directory (default: runs/atft)"
    )
    parser.add_argument(
        "--resume", type=Path, metavar="CKPT", help="continue exactly from a last.safetensors"
    )
    parser.add_argument("--max-seconds", type=float, metavar="S", help="stop training after S seconds")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from atft.train import train

    # later wins: legacy environment flags, then --set, then the dedicated options
    epochs = [] if args.epochs is None else [f"train.epochs={args.epochs}"]
    config = experiment_config_from_args(args, before=overrides_from_environment(os.environ), after=epochs)
    # torchrun sets WORLD_SIZE; the CLI is the layer that may look at the environment.
    distributed_run = int(os.environ.get("WORLD_SIZE", "1")) > 1
    result = train(
        config,
        args.out,
        progress=not args.no_progress,
        max_seconds=args.max_seconds,
        resume=args.resume,
        distributed_run=distributed_run,
    )
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    history = Path(args.out) / "history.jsonl"
    if args.format == "json":
        summary = {
            "best_epoch": result.best_epoch,
            "stop_reason": result.stop_reason,
            "val_metrics": result.val_metrics,
            "checkpoint": str(result.checkpoint_path),
            "last_checkpoint": str(result.last_checkpoint_path),
            "history": str(history),
            "seconds": result.seconds,
        }
        sys.stdout.write(json.dumps(summary, default=str) + "\n")
        return 0
    console = Console()
    table = Table(title=f"validation metrics, best epoch {result.best_epoch} ({result.stop_reason})")
    for column in ("horizon", "ic", "rank_ic", "icir", "scale_ratio", "sharpe"):
        table.add_column(column, justify="right")
    for row in result.val_metrics:
        table.add_row(
            str(row["horizon"]),
            *(f"{row[c]:.4f}" for c in ("ic", "rank_ic", "icir", "scale_ratio", "sharpe")),
        )
    console.print(table)
    console.print(
        f"best checkpoint: {result.checkpoint_path}\nresumable:       {result.last_checkpoint_path}"
    )
    console.print(f"history:         {history} ({result.seconds:.0f} s)")
    return 0
