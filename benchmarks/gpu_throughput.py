"""Model throughput on CUDA: bf16 autocast + `torch.compile` vs fp32 eager, stock-days per second.

    python -m benchmarks.gpu_throughput --stocks 4000 --steps 50

Skips (exit 0) with a clear message where CUDA is not available. The 4,000-stock default is the size of
a J-Quants universe; forward + backward + AdamW step, through the one `model(batch)` call.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch

from atft.model import ATFT_GAT_FAN, ModelConfig
from benchmarks.throughput import make_batch, time_steps, train_step


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.gpu_throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--stocks", type=int, default=4000)
    parser.add_argument("--lookback", type=int, default=20)
    parser.add_argument("--features", type=int, default=18)
    parser.add_argument("--degree", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not torch.cuda.is_available():
        print(f"SKIP gpu_throughput: CUDA is not available on this machine (torch {torch.__version__}).")
        return 0
    device = "cuda"
    batch = make_batch(args.stocks, args.lookback, args.features, args.degree, device=device)
    config = ModelConfig(hidden_size=args.hidden, dropout=0.0)
    print(
        f"ATFT-GAT-FAN throughput on {torch.cuda.get_device_name()}: N={args.stocks} L={args.lookback} "
        f"F={args.features} E={batch['edge_index'].shape[1]} D={args.hidden}, torch {torch.__version__}"
    )
    results: dict[str, float] = {}
    for variant in ("fp32 eager", "bf16 + compile"):
        torch.manual_seed(0)
        model = ATFT_GAT_FAN(config, n_features=args.features).to(device).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        if variant == "fp32 eager":
            step = train_step(model, batch, optimizer)
        else:
            step = train_step(
                torch.compile(model),
                batch,
                optimizer,
                autocast=lambda: torch.autocast("cuda", dtype=torch.bfloat16),
            )
        seconds = time_steps(step, warmup=args.warmup, steps=args.steps, sync=torch.cuda.synchronize)
        results[variant] = args.stocks / seconds
        print(f"{variant:>15}: {seconds * 1e3:8.2f} ms/day  {results[variant]:12.0f} stock-days/s")
    print(
        f"          ratio: (bf16 + compile) / (fp32 eager) = {results['bf16 + compile'] / results['fp32 eager']:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
