"""`python -m benchmarks [NAME ...]`: run the named benchmarks (default: all)."""

from __future__ import annotations

import argparse
import importlib

BENCHMARKS = {
    "fixer": "benchmarks.fixer",
    "dataset": "benchmarks.dataset",
    "throughput": "benchmarks.throughput",
    "scale": "benchmarks.scale",
    "watch": "benchmarks.watch_overhead",
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"one of {', '.join(BENCHMARKS)} (default: all)"
    )
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    status = 0
    for name in args.names or list(BENCHMARKS):
        module = importlib.import_module(BENCHMARKS[name])
        status |= int(module.main([]) or 0)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
