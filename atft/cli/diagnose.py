"""`python -m atft diagnose`: per-stage statistics of a checkpoint, a PNG plot and the collapse stage.

Exit status: 0 when every stage keeps a cross-sectional spread, 1 when a stage collapses.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from atft.cli.export import load_checkpoint_and_dataset
from atft.cli.options import add_data_options, add_split_option

NAME = "diagnose"
HELP = "Per-stage cross-sectional statistics of a checkpoint; names the first stage whose spread collapses."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, required=True, metavar="C", help="a model.safetensors")
    add_data_options(parser, config=False)
    add_split_option(parser)
    parser.add_argument("--days", type=int, default=8, help="days fed through the model (default: 8)")
    parser.add_argument(
        "--plot", type=Path, metavar="PNG", help="plot path (default: next to the checkpoint)"
    )
    parser.add_argument("--markdown", type=Path, metavar="MD", help="also write the table to this file")
    parser.add_argument("--no-grad", action="store_true", help="skip the gradient norms")


def run(args: argparse.Namespace) -> int:
    from atft.config import DiagnosticsConfig
    from atft.data import DataError
    from atft.diagnostics import collect
    from atft.loss import QuantileCorrelationLoss

    loaded, dataset = load_checkpoint_and_dataset(args)
    days = list(dataset.split_days(args.split))[: args.days]
    if not days:
        raise DataError(
            f"the {args.split!r} split of {dataset.market!r} has no day to diagnose; choose another --split."
        )
    config = loaded.config
    loss_fn = (
        None
        if args.no_grad
        else QuantileCorrelationLoss(config.loss, config.model.horizons, config.model.quantiles)
    )
    thresholds = config.diagnostics
    report = collect(
        loaded.model,
        (dataset.batch(int(day)) for day in days),
        loss_fn=loss_fn,
        config=DiagnosticsConfig(
            enabled=True, collapse_ratio=thresholds.collapse_ratio, collapse_abs=thresholds.collapse_abs
        ),
    )
    text = report.to_markdown()
    plot = args.plot or args.checkpoint.with_suffix(".diagnostics.png")
    report.plot(plot)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n")
    if args.format == "json":
        summary = {"split": args.split, "days": report.days, "collapse_stage": report.collapse_stage}
        sys.stdout.write(json.dumps(summary | {"rows": report.rows, "plot": str(plot)}, default=str) + "\n")
    else:
        _render(report, args.split, plot)
    return 1 if report.collapse_stage else 0


def _render(report: Any, split: str, plot: Path) -> None:
    console = Console()
    table = Table(title=f"stage statistics over {report.days} {split} days (std = cross-sectional)")
    for column in ("stage", "mean", "std", "min", "max", "dead", "grad norm"):
        table.add_column(column, justify="left" if column == "stage" else "right", no_wrap=column == "stage")
    for row in report.rows:
        grad = "-" if row["grad_norm"] is None else f"{row['grad_norm']:.3g}"
        style = "bold red" if row["stage"] == report.collapse_stage else None
        table.add_row(
            row["stage"],
            f"{row['mean']:+.3g}",
            f"{row['std']:.3g}",
            f"{row['min']:+.3g}",
            f"{row['max']:+.3g}",
            f"{row['dead_share']:.0%}",
            grad,
            style=style,
        )
    console.print(table)
    verdict = (
        f"[bold red]collapse at {report.collapse_stage}[/]" if report.collapse_stage else "no stage collapses"
    )
    console.print(verdict)
    console.print(f"plot: {plot}")
