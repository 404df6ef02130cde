"""Fixer identity check: `maintenance.fix` output on three corpora, compared byte for byte with a baseline.

A restructuring of `maintenance` must not change what the fixer reports or the diffs it proposes. This
script runs `python -m maintenance.fix --no-ruff --no-cache` from the root of each corpus (paths are
given as `.`, so every path in the output is relative to the corpus) in three formats:

- `text`: the default dry run (findings, unified diff, counts by code);
- `json`: `--format json`;
- `unsafe`: `--unsafe-fixes`, text with diffs.

Each run's stdout goes to `<out>/<corpus>.<format>.out` and its exit status to `<corpus>.<format>.rc`.
With `--compare BASELINE`, the files are compared byte for byte with the same names in `BASELINE` and the
ones that differ are listed; exit 1 if any differ (or are missing), 0 if all are identical.

The corpora are folders given on the command line (default: the three under `/work/corpora`): the
installed numpy sources, the Django 5.2 sdist unpacked, and the 30 largest `.py` files of the installed
torch with their relative paths kept. `benchmarks/fixer.py` describes how to fetch them.

    python -m benchmarks.fixer_identity --out /work/corpora/baseline
    python -m benchmarks.fixer_identity --out /tmp/after --compare /work/corpora/baseline
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

CORPORA = {
    "numpy": Path("/work/corpora/numpy"),
    "django": Path("/work/corpora/django-5.2"),
    "torch30": Path("/work/corpora/torch30"),
}
FORMATS: dict[str, list[str]] = {
    "text": [],
    "json": ["--format", "json"],
    "unsafe": ["--unsafe-fixes"],
}


def run_corpus(label: str, root: Path, out: Path, jobs: int | None) -> None:
    """Run the fixer on one corpus in every format; write stdout and exit status under `out`."""
    repo_root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(repo_root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    base = [sys.executable, "-m", "maintenance.fix", ".", "--root", ".", "--no-ruff", "--no-cache"]
    if jobs:
        base += ["--jobs", str(jobs)]
    for name, flags in FORMATS.items():
        proc = subprocess.run([*base, *flags], cwd=root, env=env, capture_output=True, check=False)
        (out / f"{label}.{name}.out").write_bytes(proc.stdout)
        (out / f"{label}.{name}.rc").write_text(f"{proc.returncode}\n")
        if proc.returncode not in (0, 1):
            sys.stderr.write(
                f"{label} {name}: exit {proc.returncode}: {proc.stderr.decode(errors='replace')[-800:]}\n"
            )
        print(f"{label} {name}: exit {proc.returncode}, {len(proc.stdout)} bytes", flush=True)


def compare(out: Path, baseline: Path, labels: Sequence[str]) -> list[str]:
    """The names of the outputs that differ from (or are missing in) the baseline."""
    differ = []
    for label in labels:
        for name in FORMATS:
            for suffix in ("out", "rc"):
                file = f"{label}.{name}.{suffix}"
                before, after = baseline / file, out / file
                if not before.is_file() or not after.is_file() or before.read_bytes() != after.read_bytes():
                    differ.append(file)
    return differ


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fixer on the corpora, then compare with the baseline when one is given."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.fixer_identity", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the outputs (created)")
    parser.add_argument(
        "--compare", type=Path, default=None, metavar="BASELINE", help="baseline folder to compare with"
    )
    parser.add_argument(
        "--corpus",
        action="append",
        default=None,
        metavar="NAME=PATH",
        help="a corpus as NAME=PATH (repeatable; default: numpy, django and torch30 under /work/corpora)",
    )
    parser.add_argument("--jobs", type=int, default=None, help="worker processes for maintenance.fix")
    args = parser.parse_args(argv)
    corpora = dict(CORPORA)
    if args.corpus:
        corpora = {}
        for item in args.corpus:
            label, sep, path = item.partition("=")
            if not sep:
                parser.error(f"--corpus {item!r}: expected NAME=PATH")
            corpora[label] = Path(path)
    missing = [f"{label} ({path})" for label, path in corpora.items() if not path.is_dir()]
    if missing:
        parser.error(f"corpus folder not found: {', '.join(missing)}; see benchmarks/fixer.py to fetch them")
    args.out.mkdir(parents=True, exist_ok=True)
    for label, root in corpora.items():
        run_corpus(label, root.resolve(), args.out, args.jobs)
    if args.compare is None:
        return 0
    differ = compare(args.out, args.compare, list(corpora))
    total = len(corpora) * len(FORMATS)
    if differ:
        print(f"differ from {args.compare}: {', '.join(differ)}")
        return 1
    print(f"all {total} outputs (and exit statuses) byte-identical to {args.compare}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
