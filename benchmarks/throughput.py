"""Model throughput on CPU: stock-days per second for forward + backward, eager vs `torch.compile`.

    python -m benchmarks throughput            (via the benchmarks runner, default sizes)
    python -m benchmarks.throughput --stocks 140 --steps 20

One "day" is one batch of N stocks with an L-step window of F features and its stock graph (the pse
market has N = 140, L = 20, F = 18). The numbers depend on the machine and on what else runs on it;
the ratio compiled / eager is the figure to compare.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable, Sequence

import torch

from atft.model import ATFT_GAT_FAN, ModelConfig

log = logging.getLogger(__name__)


def make_batch(n: int, length: int, n_features: int, degree: int, device: str = "cpu", seed: int = 0) -> dict:
    """A random day: N stocks, ring-plus-random graph with `degree` edges per stock."""
    generator = torch.Generator().manual_seed(seed)
    src = torch.arange(n).repeat_interleave(degree)
    dst = torch.randint(0, n, (n * degree,), generator=generator)
    keep = src != dst
    edge_index = torch.cat([torch.stack([src[keep], dst[keep]]), torch.stack([dst[keep], src[keep]])], dim=1)
    batch = {
        "features": torch.randn(n, length, n_features, generator=generator),
        "mask": torch.ones(n, dtype=torch.bool),
        "edge_index": edge_index,
        "edge_attr": torch.rand(edge_index.shape[1], 3, generator=generator),
    }
    return {k: v.to(device) for k, v in batch.items()}


def time_steps(
    step: Callable[[], None], *, warmup: int, steps: int, sync: Callable[[], None] = lambda: None
) -> float:
    """Seconds per step after `warmup` untimed steps (compilation happens there)."""
    for _ in range(warmup):
        step()
    sync()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return (time.perf_counter() - started) / steps


def train_step(
    model: torch.nn.Module, batch: dict, optimizer: torch.optim.Optimizer, autocast=None
) -> Callable[[], None]:
    """One forward + backward + optimiser step through the one `model(batch)` call."""

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        if autocast is None:
            output = model(batch)
        else:
            with autocast():
                output = model(batch)
        loss = sum(value.float().pow(2).mean() for value in output["predictions"].values())
        loss.backward()
        optimizer.step()

    return step


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--stocks", type=int, default=140, help="N stocks per day (default: 140, like pse)")
    parser.add_argument("--lookback", type=int, default=20)
    parser.add_argument("--features", type=int, default=18)
    parser.add_argument("--degree", type=int, default=6, help="graph edges per stock before symmetrising")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per variant")
    parser.add_argument(
        "--warmup", type=int, default=5, help="untimed steps (compilation, recompilation) per variant"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (default 1, as train.torch_threads)"
    )
    parser.add_argument("--no-compile", action="store_true", help="only the eager variant")
    args = parser.parse_args(list(argv) if argv is not None else None)
    torch.set_num_threads(args.threads)
    config = ModelConfig(hidden_size=args.hidden, dropout=0.0)
    batch = make_batch(args.stocks, args.lookback, args.features, args.degree)
    print(
        f"ATFT-GAT-FAN throughput on CPU ({args.threads} threads): N={args.stocks} L={args.lookback} "
        f"F={args.features} E={batch['edge_index'].shape[1]} D={args.hidden}, torch {torch.__version__}"
    )
    results: dict[str, float] = {}
    variants = ["eager"] if args.no_compile else ["eager", "compile"]
    for variant in variants:
        torch.manual_seed(0)
        model = ATFT_GAT_FAN(config, n_features=args.features).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        runner = torch.compile(model) if variant == "compile" else model
        try:
            seconds = time_steps(train_step(runner, batch, optimizer), warmup=args.warmup, steps=args.steps)
        except Exception as error:  # noqa: BLE001 - report why compile is unavailable here, keep eager's figure
            print(f"{variant:>8}: failed ({type(error).__name__}: {str(error).splitlines()[0][:200]})")
            continue
        results[variant] = args.stocks / seconds
        print(
            f"{variant:>8}: {seconds * 1e3:8.1f} ms/day  {results[variant]:10.0f} stock-days/s (forward+backward)"
        )
    if "eager" in results and "compile" in results:
        print(f"   ratio: compile / eager = {results['compile'] / results['eager']:.2f}x")
    return 0 if "eager" in results else 1


if __name__ == "__main__":
    raise SystemExit(main())
