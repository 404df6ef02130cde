"""Fixer A/B benchmark: `maintenance.fix` of two trees of this repository on the same corpora, alternating.

A change that must not slow the fixer (a restructuring, a new rule) is timed against the tree before it in
one run: for each corpus (the three of `benchmarks.fixer_identity`), `python -m maintenance.fix --no-ruff
--no-cache .` cold from the corpus root, `--reps` times per tree, the order of the two trees alternating
between repetitions so that a drift of the machine's load falls on both. Prints the median wall time of
each tree, the ratio after/before, every run and the load average; exit 2 when a run fails.

    git archive <before> | tar -x -C /tmp/before
    python -m benchmarks.fixer_ab /tmp/before .
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.fixer_identity import CORPORA


def time_run(tree: Path, corpus: Path) -> float:
    """Wall seconds of one cold MNT-only run of `tree`'s fixer on `corpus`; raises on a failed run."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    command = [sys.executable, "-m", "maintenance.fix", "--no-ruff", "--no-cache", "."]
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=corpus, env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{tree} on {corpus}: exit {proc.returncode}: {proc.stderr.decode()[-800:]}")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    """Time both trees on every corpus and print the ratios."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.fixer_ab", description=__doc__.splitlines()[0]
    )
    parser.add_argument("before", type=Path, help="the tree before the change (a checkout or git archive)")
    parser.add_argument("after", type=Path, help="the tree after the change")
    parser.add_argument("--reps", type=int, default=3, help="runs per tree and corpus (default 3)")
    args = parser.parse_args(argv)
    for tree in (args.before, args.after):
        if not (tree / "maintenance" / "__init__.py").is_file():
            parser.error(f"{tree} holds no maintenance package; give the root of a tree of this repository")
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    try:
        for label, corpus in CORPORA.items():
            if not corpus.is_dir():
                print(f"{label}: skipped, {corpus} is missing (see benchmarks/fixer_identity.py)", flush=True)
                continue
            runs: dict[str, list[float]] = {"before": [], "after": []}
            for rep in range(args.reps):
                order = list(trees) if rep % 2 == 0 else list(reversed(trees))
                for name in order:
                    runs[name].append(time_run(trees[name], corpus))
            before, after = statistics.median(runs["before"]), statistics.median(runs["after"])
            shown = {name: ", ".join(f"{s:.2f}" for s in values) for name, values in runs.items()}
            print(
                f"{label}: before {before:.2f} s, after {after:.2f} s, after/before {after / before:.3f} "
                f"(runs {shown['before']} / {shown['after']})",
                flush=True,
            )
    except RuntimeError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
