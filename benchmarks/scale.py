"""Scale benchmark: wall time and peak memory of the data path, training, evaluation and baselines by N.

    python -m benchmarks scale                                   (via the runner: N = 140, 500)
    python -m benchmarks.scale --stocks 140,500,1000,4000 --days 500

For every N (stocks of the synthetic market, T = --days trading days, F = the 18 features of the
feature pipeline) each phase runs in its own child process, so its peak resident memory (ru_maxrss) is
its own:

    build      cold build of the dataset into an empty cache folder
    load       cached load (memory-mapped) plus one day batch
    graph      the stock graph of --train-steps training days (computed once per day, then cached)
    train      --train-steps optimiser steps (forward + backward + AdamW, graphs already cached) of
               K days each (`train.batch_days`, the trainer's block-diagonal multi-day batch: K =
               --batch-days, or "auto" = ceil(--rows-per-step / N) so that small N fills the machine),
               reported as seconds per step and stock-days per second; the model is saved
    evaluate   predictions of the saved model on the test split plus its metrics (IC, RankIC, ...)
    baselines  the --baselines on the test split (fit on train, predict test)

The last table gives the growth exponent b of each phase's time, t ~ N^b, fitted by least squares on
log t against log N over the Ns run. Times depend on the machine and what else runs on it; compare
exponents and ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

PHASES = ("build", "load", "graph", "train", "evaluate", "baselines")


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _configs(args: argparse.Namespace, cache_dir: str) -> Any:
    from atft.config import load_config

    return load_config(
        None,
        [
            "data.market=synthetic",
            f"data.n_stocks={args.stocks}",
            f"data.n_days={args.days}",
            f"data.lookback={args.lookback}",
            f'data.cache_dir="{cache_dir}"',
            f"model.hidden_size={args.hidden}",
            f"train.torch_threads={args.threads}",
            f"train.batch_days={batch_days(args)}",
        ],
    )


def batch_days(args: argparse.Namespace) -> int:
    """Days per training step at this N: --batch-days, or "auto" = ceil(--rows-per-step / N)."""
    if args.batch_days == "auto":
        return max(1, math.ceil(args.rows_per_step / int(args.stocks)))
    return int(args.batch_days)


def run_phase(args: argparse.Namespace) -> dict[str, Any]:
    """Run one phase in this process and return its measurements (seconds, peak MiB, extras)."""
    import torch

    from atft.data import load_dataset

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    config = _configs(args, str(work / "cache"))
    imported = _peak_mib()
    result: dict[str, Any] = {"phase": args.phase, "stocks": args.stocks, "import_mib": imported}
    started = time.perf_counter()
    if args.phase == "build":
        dataset = load_dataset(config.data)
        result["days"] = len(dataset.dates)
        result["cache_mib"] = (
            sum(f.stat().st_size for f in (work / "cache").rglob("*") if f.is_file()) / 2**20
        )
    elif args.phase == "load":
        dataset = load_dataset(config.data)
        dataset.batch(int(dataset.split_days("train")[-1]))
    else:
        dataset = load_dataset(config.data)
        started = time.perf_counter()
        per_step = config.train.batch_days
        days = [int(d) for d in dataset.split_days("train")[-args.train_steps * per_step :]]
        if args.phase == "graph":
            edges = [dataset.graph(day)[0].shape[1] for day in days]
            result["per_day_s"] = (time.perf_counter() - started) / len(days)
            result["edges_per_stock"] = float(np.mean(edges)) / args.stocks
        elif args.phase == "train":
            result |= _train_steps(config, dataset, days, work)
        elif args.phase == "evaluate":
            from atft.evaluate import evaluate_models
            from atft.inference import predict_frame

            frame = predict_frame(work / "model.safetensors", dataset, "test")
            report = evaluate_models(dataset, "test", {"atft": frame})
            result["test_days"] = len(dataset.split_days("test"))
            result["rank_ic_h1"] = float(report.rows[0]["rank_ic"])
        elif args.phase == "baselines":
            from atft.baselines import run_baselines
            from atft.evaluate import evaluate_models

            frames = run_baselines(dataset, "test", args.baselines.split(","))
            evaluate_models(dataset, "test", frames)
    result["seconds"] = time.perf_counter() - started
    result["peak_mib"] = _peak_mib()
    return result


def _train_steps(config: Any, dataset: Any, days: list[int], work: Path) -> dict[str, Any]:
    import torch

    from atft.checkpoint import save_checkpoint
    from atft.loss import QuantileCorrelationLoss
    from atft.model import ATFT_GAT_FAN

    for day in days:  # graphs are not part of the step (the graph phase times them)
        dataset.graph(day)
    torch.manual_seed(0)
    model = ATFT_GAT_FAN(config.model, dataset.n_features, dataset.n_static)
    loss_fn = QuantileCorrelationLoss(config.loss, config.model.horizons, config.model.quantiles)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.train.learning_rate)
    model.train()
    per_batch = config.train.batch_days
    steps = [days[i : i + per_batch] for i in range(0, len(days), per_batch)]
    started = time.perf_counter()
    for step in steps:
        batch = dataset.batch(step[0]) if len(step) == 1 else dataset.batch_days(step)
        loss, _ = loss_fn(model(batch), batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    per_step = (time.perf_counter() - started) / len(steps)
    save_checkpoint(
        work / "model.safetensors", model, config, metadata={"feature_names": dataset.feature_names}
    )
    return {
        "per_step_s": per_step,
        "batch_days": per_batch,
        "stock_days_per_s": dataset.n_stocks * len(days) / len(steps) / per_step,
    }


def _child(args: argparse.Namespace, phase: str, stocks: int, work: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "benchmarks.scale",
        "--phase",
        phase,
        "--stocks",
        str(stocks),
        "--work",
        str(work),
        *("--days", str(args.days), "--lookback", str(args.lookback), "--hidden", str(args.hidden)),
        *("--threads", str(args.threads), "--train-steps", str(args.train_steps)),
        *("--baselines", args.baselines),
        *("--batch-days", str(args.batch_days), "--rows-per-step", str(args.rows_per_step)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=os.environ.copy())
    if done.returncode != 0:
        raise RuntimeError(f"phase {phase} at N={stocks} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def growth_exponent(stocks: Sequence[int], values: Sequence[float]) -> float:
    """b of values ~ stocks^b (least squares on the logs); NaN with fewer than two points."""
    if len(stocks) < 2:
        return float("nan")
    slope, _ = np.polyfit(np.log(np.asarray(stocks, float)), np.log(np.asarray(values, float)), 1)
    return float(slope)


def render(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """A markdown table per N and phase, then the growth exponents."""
    lines = [
        f"scale benchmark: synthetic market, T = {args.days} days (+ warm-up), L = {args.lookback}, "
        f"F = 18, D = {args.hidden}, {args.threads} torch thread(s), {args.train_steps} training days, "
        f"baselines {args.baselines}, batch days {args.batch_days}"
        + (f" (rows per step {args.rows_per_step})" if args.batch_days == "auto" else ""),
        "",
        "| N | phase | seconds | peak RSS MiB | notes |",
        "|---:|---|---:|---:|---|",
    ]
    for row in rows:
        notes = []
        if "per_day_s" in row:
            notes.append(f"{row['per_day_s']:.3f} s/day, {row['edges_per_stock']:.1f} edges/stock")
        if "per_step_s" in row:
            notes.append(
                f"{row['per_step_s']:.3f} s/step of {row.get('batch_days', 1)} day(s), "
                f"{row['stock_days_per_s']:.0f} stock-days/s"
            )
        if "cache_mib" in row:
            notes.append(f"cache {row['cache_mib']:.0f} MiB, {row['days']} days")
        if "rank_ic_h1" in row:
            notes.append(f"{row['test_days']} test days")
        notes.append(f"after imports {row['import_mib']:.0f} MiB")
        lines.append(
            f"| {row['stocks']} | {row['phase']} | {row['seconds']:.2f} | {row['peak_mib']:.0f} | "
            f"{'; '.join(notes)} |"
        )
    stocks = sorted({row["stocks"] for row in rows})
    lines += ["", "| phase | growth exponent of time in N | of peak RSS above imports |", "|---|---:|---:|"]
    for phase in PHASES:
        chosen = sorted((r for r in rows if r["phase"] == phase), key=lambda r: r["stocks"])
        if len(chosen) != len(stocks):
            continue
        metric = [r.get("per_step_s", r.get("per_day_s", r["seconds"])) for r in chosen]
        memory = [max(1.0, r["peak_mib"] - r["import_mib"]) for r in chosen]
        lines.append(
            f"| {phase} | {growth_exponent(stocks, metric):.2f} | {growth_exponent(stocks, memory):.2f} |"
        )
    return "\n".join(lines)


def render_file(path: Path, args: argparse.Namespace) -> str:
    """The table of rows saved by an earlier run (``--render scale.json``)."""
    return render(json.loads(Path(path).read_text()), args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--stocks", default="140,500", help="comma list of N (default %(default)s)")
    parser.add_argument("--days", type=int, default=300, help="trading days T (default %(default)s)")
    parser.add_argument("--lookback", type=int, default=20, help="look-back L (default %(default)s)")
    parser.add_argument("--hidden", type=int, default=32, help="model width D (default %(default)s)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default %(default)s)")
    parser.add_argument(
        "--train-steps", type=int, default=5, help="training days timed (default %(default)s)"
    )
    parser.add_argument(
        "--baselines", default="zero,reversal,momentum,ridge", help="baselines timed (default %(default)s)"
    )
    parser.add_argument(
        "--batch-days",
        default="1",
        help='days per training step, or "auto" = ceil(--rows-per-step / N) (default %(default)s)',
    )
    parser.add_argument(
        "--rows-per-step",
        type=int,
        default=4000,
        help="stock rows per step that --batch-days auto aims at (default %(default)s)",
    )
    parser.add_argument("--phases", default=",".join(PHASES), help="phases to run (default: all)")
    parser.add_argument("--out", type=Path, help="also write the table (markdown) and the rows (JSON) here")
    parser.add_argument("--render", type=Path, metavar="JSON", help="print the table of saved rows and stop")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.render:
        print(render_file(args.render, args))
        return 0
    if args.phase:
        args.stocks = int(args.stocks)
        print(json.dumps(run_phase(args)))
        return 0
    rows = []
    phases = [p for p in PHASES if p in args.phases.split(",")]
    for stocks in [int(n) for n in args.stocks.split(",")]:
        with tempfile.TemporaryDirectory(prefix=f"atft-scale-{stocks}-") as work:
            for phase in phases:
                row = _child(args, phase, stocks, Path(work))
                rows.append(row)
                print(
                    f"N={stocks} {phase}: {row['seconds']:.2f} s, peak {row['peak_mib']:.0f} MiB", flush=True
                )
                if args.out:  # the rows so far: a long run that is stopped still leaves its figures
                    args.out.mkdir(parents=True, exist_ok=True)
                    (args.out / "scale.json").write_text(json.dumps(rows, indent=2) + "\n")
    table = render(rows, args)
    print(table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "scale.md").write_text(table + "\n")
        (args.out / "scale.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
