"""Dataset benchmark: build a market cold (empty cache) vs load it from the cache; batch throughput.

`python -m benchmarks dataset` or `python -m benchmarks.dataset [--market pse] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace

import torch

from atft.data import DataConfig, load_dataset
from atft.data.config import MARKETS
from atft.data.dataset import cache_path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dataset", description=__doc__)
    parser.add_argument("--market", choices=[m for m in MARKETS if m != "panel"], default="pse")
    parser.add_argument("--repeat", type=int, default=3, help="cached loads to time (the best counts)")
    parser.add_argument("--batches", type=int, default=200, help="day batches to time after loading")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (as the trainer sets)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="atft-bench-") as cache_dir:
        config = replace(DataConfig(market=args.market), cache_dir=cache_dir)
        path = cache_path(config)
        assert path is not None and not path.exists()
        started = time.perf_counter()
        dataset = load_dataset(config)
        cold = time.perf_counter() - started
        size_mb = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6
        loads = []
        for _ in range(max(1, args.repeat)):
            started = time.perf_counter()
            dataset = load_dataset(config)
            loads.append(time.perf_counter() - started)
        cached = min(loads)
        days = dataset.split_days("train")[: args.batches]
        started = time.perf_counter()
        for day in days:
            dataset.batch(int(day))
        per_batch = (time.perf_counter() - started) / max(1, len(days))

    print(
        f"dataset benchmark: {args.market}, {dataset.n_stocks} stocks x {len(dataset.dates)} days x "
        f"{dataset.n_features} features, cache folder {size_mb:.1f} MB"
    )
    print(f"  cold build (empty cache): {cold:7.2f} s")
    print(f"  cached load (best of {len(loads)}): {cached:7.3f} s")
    print(f"  speed-up cached/cold:     {cold / cached:7.1f} x")
    print(
        f"  day batch (graph included): {per_batch * 1e3:.2f} ms ({len(days)} batches, "
        f"{args.threads} torch thread(s))"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
