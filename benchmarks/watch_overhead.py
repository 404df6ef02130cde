"""Watch benchmark: a training step's time under the watcher's hooks against the same step unwatched.

`python -m benchmarks watch` or `python -m benchmarks.watch_overhead [--steps 50] [--hidden 256]`.

Two ratios, each measured in one run:

- per step, in one process: the same MLP training loop timed unwatched, with the recorder installed
  (every hook of ``health_checks.watch.recorder``), and unwatched again; the ratio is the watched step
  time over the mean of the two unwatched ones;
- end to end: this module run as a program (``--program``) for ``--steps`` steps, once plainly and once
  through ``health_checks.watch.runner.watch_program`` (child process, trace written, stopped after the
  same number of steps); the interpreter and torch start-up is in both.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]


def build(hidden: int, layers: int, features: int = 32) -> tuple[nn.Module, torch.optim.Optimizer]:
    blocks: list[nn.Module] = [nn.Linear(features, hidden), nn.ReLU()]
    for _ in range(layers - 1):
        blocks += [nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(0.1)]
    model = nn.Sequential(*blocks, nn.Linear(hidden, 1))
    return model, torch.optim.AdamW(model.parameters(), lr=1e-3)


def train(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int, batch: int) -> float:
    """Seconds per step of ``steps`` plain training steps on random batches."""
    generator = torch.Generator().manual_seed(0)
    loss_fn = nn.MSELoss()
    model.train()
    started = time.perf_counter()
    for _ in range(steps):
        x = torch.randn(batch, 32, generator=generator)
        y = x[:, :1] + 0.1 * torch.randn(batch, 1, generator=generator)
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()
    return (time.perf_counter() - started) / steps


def per_step(args: argparse.Namespace) -> tuple[float, float, float]:
    """Unwatched, watched and unwatched-again seconds per step, in this process."""
    from health_checks.watch.recorder import Recorder
    from health_checks.watch.trace import WatchOptions

    torch.manual_seed(0)
    model, optimizer = build(args.hidden, args.layers)
    train(model, optimizer, args.warmup, args.batch)
    before = train(model, optimizer, args.steps, args.batch)
    with tempfile.TemporaryDirectory() as out:
        options = WatchOptions(out_dir=out, root=str(ROOT), steps=10**9, idle=10**9)
        recorder = Recorder(options, on_finish=lambda trace: None)
        recorder.install()
        try:
            watched = train(model, optimizer, args.steps, args.batch)
        finally:
            recorder.remove()
    after = train(model, optimizer, args.steps, args.batch)
    return before, watched, after


def end_to_end(args: argparse.Namespace) -> tuple[float, float, int]:
    """Wall seconds of this module as a program, plain and watched, and the steps the watch recorded."""
    from health_checks.watch.runner import watch_program
    from health_checks.watch.trace import WatchOptions

    program = [
        "-m",
        "benchmarks.watch_overhead",
        "--program",
        f"--steps={args.steps}",
        f"--hidden={args.hidden}",
        f"--layers={args.layers}",
    ]
    started = time.perf_counter()
    subprocess.run([sys.executable, *program], cwd=ROOT, check=True, capture_output=True)
    plain = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as out:
        options = WatchOptions(out_dir=out, root=str(ROOT), steps=args.steps, idle=10**9)
        started = time.perf_counter()
        run = watch_program(ROOT, " ".join(program), options)
        watched = time.perf_counter() - started
    return plain, watched, len(run.traces[0].steps) if run.traces else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.watch_overhead", description=__doc__)
    parser.add_argument("--steps", type=int, default=50, help="training steps timed in each phase")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--hidden", type=int, default=256, help="width of the MLP")
    parser.add_argument("--layers", type=int, default=4, help="hidden layers of the MLP")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--program", action="store_true", help="run as the watched program (internal)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    torch.set_num_threads(args.threads)
    if args.program:
        torch.manual_seed(0)
        model, optimizer = build(args.hidden, args.layers)
        train(model, optimizer, args.steps, args.batch)
        return 0
    before, watched, after = per_step(args)
    plain_wall, watched_wall, recorded = end_to_end(args)
    params = sum(p.numel() for p in build(args.hidden, args.layers)[0].parameters())
    unwatched = (before + after) / 2
    print(
        f"watch benchmark: MLP {args.layers}x{args.hidden} ({params:,} parameters), batch {args.batch}, "
        f"{args.steps} steps, {args.threads} torch thread(s)"
    )
    print(f"  step unwatched:  {before * 1e3:8.3f} ms (before) / {after * 1e3:.3f} ms (after)")
    print(f"  step watched:    {watched * 1e3:8.3f} ms")
    print(f"  overhead ratio:  {watched / unwatched:8.2f} x per step")
    print(
        f"  program end to end: plain {plain_wall:.2f} s, watched {watched_wall:.2f} s "
        f"({recorded} steps recorded): {watched_wall / plain_wall:.2f} x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
