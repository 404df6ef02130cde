"""`python -m atft experiment`: train and evaluate a config over several seeds, with ablations and baselines.

    python -m atft experiment --config configs/pse.toml --seeds 5 --ablations fan,gat --out runs/exp

Writes ``OUT/experiment.json`` and ``OUT/experiment.md`` (mean ± std per horizon, the paired HAC test of
every variant against every baseline) and one training run per variant and seed under OUT; a finished
run is reused when the command is run again (see `atft.experiment`).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown

from atft.cli.options import add_data_options, add_split_option, experiment_config_from_args

NAME = "experiment"
# data options of atft.cli.options, echoed in the reproducing command
DATA_OPTIONS = (
    "market",
    "data",
    "start",
    "min_coverage",
    "lookback",
    "cache_dir",
    "no_cache",
    "seed",
    "synthetic_stocks",
    "synthetic_days",
)
HELP = "Train and evaluate a config over several seeds (and its ablations) beside every baseline."


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`, refused with what was found."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number >= {minimum}, found {value}")
        return value

    return parse


_positive = _whole_number(1)
_non_negative = _whole_number(0)


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _ablations(text: str) -> list[str]:
    from atft.experiment import ABLATIONS

    names = _names(text)
    unknown = [name for name in names if name not in ABLATIONS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown ablation(s) {','.join(unknown)}; expected some of {','.join(sorted(ABLATIONS))}"
        )
    return names


def configure(parser: argparse.ArgumentParser) -> None:
    add_data_options(parser)  # --config, --set and the one data-option group
    parser.add_argument(
        "--seeds",
        type=_positive,
        default=5,
        metavar="N",
        help="seeds train.seed .. train.seed+N-1 (default 5)",
    )
    parser.add_argument(
        "--ablations",
        type=_ablations,
        default=[],
        metavar="NAMES",
        help="comma-separated: fan (the model without FAN), gat (without GAT), temporal (without the "
        "temporal encoder: the latest step only), gru (the recurrent control: a plain GRU, no FAN, no GAT)",
    )
    parser.add_argument(
        "--baselines",
        type=_names,
        default=None,
        metavar="NAMES",
        help="comma-separated baselines to compare with (default: all)",
    )
    add_split_option(parser)
    parser.add_argument("--epochs", type=_positive, metavar="N", help="training epochs (train.epochs)")
    parser.add_argument(
        "--tuned-trials",
        type=_non_negative,
        default=0,
        metavar="N",
        help="add LightGBM tuned on the validation split with N optuna trials per seed, bagged over the "
        "seeds (row lightgbm_tuned; default 0: none)",
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=1,
        metavar="N",
        help="train N runs at once in worker processes (default 1)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/experiment"),
        help="output directory (default: runs/experiment)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--status",
        action="store_true",
        help="print where the experiment in --out stands (runs, epochs, best validation scores, tuned "
        "trials) from its files, and exit; trains nothing and shows no test figure",
    )


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces this experiment (for the tables)."""
    parts = ["python", "-m", "atft", "experiment"]
    if args.config is not None:
        parts += ["--config", str(args.config)]
    for dest, value in sorted(vars(args).items()):
        if dest in DATA_OPTIONS and value not in (None, False):
            parts += [f"--{dest.replace('_', '-')}"] + ([] if value is True else [str(value)])
    parts += ["--seeds", str(args.seeds)]
    if args.ablations:
        parts += ["--ablations", ",".join(args.ablations)]
    if args.baselines is not None:
        parts += ["--baselines", ",".join(args.baselines)]
    if args.epochs is not None:
        parts += ["--epochs", str(args.epochs)]
    for override in args.overrides:
        parts += ["--set", override]
    if args.tuned_trials:
        parts += ["--tuned-trials", str(args.tuned_trials)]
    parts += ["--split", args.split, "--jobs", str(args.jobs), "--out", str(args.out)]
    return shlex.join(parts)


def _status(args: argparse.Namespace) -> int:
    """`--status`: the progress of the experiment in `--out`, from its files."""
    from atft.experiment import progress_of

    if not Path(args.out).is_dir():
        raise ValueError(f"--out {args.out} does not exist: no experiment has written there yet")
    state = progress_of(Path(args.out))
    if getattr(args, "format", "text") == "json":
        sys.stdout.write(json.dumps(state) + "\n")
        return 0
    lines = [f"{'run':<24}{'state':<24}{'epochs':>6}  best val (trials for the tuned LightGBM)"]
    for row in state["runs"]:
        done = f"done ({row.get('stop_reason')})" if row["finished"] else "unfinished"
        best = "-" if row["best_val"] is None else f"{row['best_val']:.4f}"
        lines.append(
            f"{row['variant'] + ' seed ' + str(row['seed']):<24}{done:<24}{row['epochs']:>6}  {best}"
        )
    for row in state["tuned"]:
        done = "done" if row["finished"] else "unfinished"
        best = "-" if row["best_val"] is None else f"{row['best_val']:.4f}"
        lines.append(f"{'lightgbm_tuned seed ' + str(row['seed']):<24}{done:<24}{row['trials']:>6}  {best}")
    Console(emoji=False).out("\n".join(lines), highlight=False)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.status:
        return _status(args)
    from atft.experiment import run_experiment

    epochs = [] if args.epochs is None else [f"train.epochs={args.epochs}"]
    config = experiment_config_from_args(args, after=epochs)
    console = Console(stderr=True)

    from atft.experiment import judged_horizon

    judged = judged_horizon(config)

    def report(variant: str, seed: int, row: dict) -> None:
        five = next((m for m in row["test"] if m["horizon"] == judged), row["test"][0])
        console.print(
            f"{variant} seed {seed}: val {row['val_score']:.4f}, test {five['horizon']}d RankIC "
            f"{five['rank_ic']:.4f} ({row['seconds']:.0f} s)"
        )

    result = run_experiment(
        config,
        args.out,
        seeds=args.seeds,
        ablations=args.ablations,
        baselines=args.baselines,
        split=args.split,
        jobs=args.jobs,
        tuned_trials=args.tuned_trials,
        progress=not args.no_progress,
        command=_command(args),
        on_run=report,
    )
    if getattr(args, "format", "text") == "json":
        sys.stdout.write(json.dumps(result.to_dict()) + "\n")
        return 0
    Console().print(Markdown(result.markdown()))
    console.print(f"written: {Path(args.out) / 'experiment.json'}, {Path(args.out) / 'experiment.md'}")
    return 0
