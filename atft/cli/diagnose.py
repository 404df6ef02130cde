"""`python -m atft diagnose`: per-stage statistics of a checkpoint, a PNG plot and the collapse stage.

Exit status: 0 when every stage keeps a cross-sectional spread, 1 when a stage collapses.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from atft.cli.export import load_checkpoint_and_dataset
from atft.cli.train import add_data_options

NAME = "diagnose"
HELP = "Per-stage cross-sectional statistics of a checkpoint; names the first stage whose spread collapses."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, required=True, metavar="C", help="a model.safetensors")
    add_data_options(parser)
    parser.add_argument("--split", choices=["train", "val", "test"], default="val", help="default: val")
    parser.add_argument("--days", type=int, default=8, help="days fed through the model (default: 8)")
    parser.add_argument(
        "--plot", type=Path, metavar="PNG", help="plot path (default: next to the checkpoint)"
    )
    parser.add_argument("--markdown", type=Path, metavar="MD", help="also write the table to this file")
    parser.add_argument("--no-grad", action="store_true", help="skip the gradient norms")


def run(args: argparse.Namespace) -> int:
    from atft.config import DiagnosticsConfig
    from atft.diagnostics import collect
    from atft.loss import QuantileCorrelationLoss

    loaded, dataset = load_checkpoint_and_dataset(args)
    days = list(dataset.split_days(args.split))[: args.days]
    if not days:
        raise SystemExit(f"the {args.split!r} split of {dataset.market!r} has no day to diagnose.")
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
    console = Console()
    table = Table(title=f"stage statistics over {report.days} {args.split} days (std = cross-sectional)")
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
    plot = args.plot or args.checkpoint.with_suffix(".diagnostics.png")
    report.plot(plot)
    console.print(f"plot: {plot}")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n")
    return 1 if report.collapse_stage else 0
