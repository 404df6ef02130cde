"""Fixer benchmark: `maintenance.fix` cold and warm against `fixit lint` and `ruff check --select ALL`.

All four run in the same process tree, one after the other, on the same copy of one real corpus (by default
the installed numpy sources, copied to a temporary directory so that no cache from elsewhere applies).
Prints wall time, files/s and peak memory (max RSS of the child processes) for each, and the ratios against
the goals of the issue: cold at least 3x faster than fixit, warm at least 20x faster than cold, peak memory
under 1 GiB. Returns 0 when every tool ran (goals missed are reported, not failed), 2 when a tool failed.

    python -m benchmarks fixer
    python -m benchmarks.fixer --corpus path/to/src --skip-fixit
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Runs a command and prints the peak RSS of all its descendants (getrusage of children, in KiB on Linux).
_RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "sys.stderr.write(proc.stderr.decode(errors='replace')[-2000:])\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(proc.returncode)\n"
)


@dataclass
class Timing:
    name: str
    seconds: float
    peak_mib: float
    returncode: int
    files: int

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else float("inf")


def default_corpus() -> Path:
    """The installed numpy package's sources."""
    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("numpy is not installed: pass --corpus PATH")
    return Path(next(iter(spec.submodule_search_locations)))


def timed(name: str, command: list[str], cwd: Path, files: int, ok_codes: Sequence[int] = (0, 1)) -> Timing:
    """Run `command` under the RSS wrapper and time it."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _RSS_WRAPPER, *command], cwd=cwd, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines()
    peak_kib = float(lines[-1]) if lines and lines[-1].isdigit() else float("nan")
    if proc.returncode not in ok_codes:
        sys.stderr.write(f"{name} exited {proc.returncode}: {proc.stderr[-1000:]}\n")
    return Timing(name, seconds, peak_kib / 1024, proc.returncode, files)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table and ratios."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fixer", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=None, help="directory of Python sources (default: numpy)"
    )
    parser.add_argument(
        "--skip-fixit", action="store_true", help="do not run fixit (it is by far the slowest)"
    )
    parser.add_argument("--jobs", type=int, default=None, help="worker processes for maintenance.fix")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    corpus = (args.corpus or default_corpus()).resolve()
    repo_root = Path(__file__).resolve().parents[1]
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    with tempfile.TemporaryDirectory(prefix="fixer-bench-") as tmp:
        work = Path(tmp) / corpus.name
        shutil.copytree(
            corpus, work, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc", "*.a", "*.dll")
        )
        (Path(tmp) / "pyproject.toml").write_text('[tool.maintenance]\nselect = ["MNT", "ruff"]\n')
        files = sum(1 for _ in work.rglob("*.py"))
        lines = sum(p.read_bytes().count(b"\n") for p in work.rglob("*.py"))
        print(f"corpus: {corpus} ({files} files, {lines} lines), copied to {work}")
        fixer = [sys.executable, "-m", "maintenance.fix", str(work), "--format", "json", *jobs]
        env_note = f"PYTHONPATH={repo_root}"
        os.environ["PYTHONPATH"] = str(repo_root) + os.pathsep + os.environ.get("PYTHONPATH", "")
        results = [timed("maintenance.fix cold", fixer, Path(tmp), files)]
        results.append(timed("maintenance.fix warm", fixer, Path(tmp), files))
        ruff = [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--select",
            "ALL",
            "--no-cache",
            "--exit-zero",
            "-q",
            str(work),
        ]
        results.append(timed("ruff check --select ALL", ruff, Path(tmp), files))
        if not args.skip_fixit:
            fixit = shutil.which("fixit", path=str(Path(sys.executable).parent)) or "fixit"
            results.append(
                timed("fixit lint", [fixit, "lint", str(work)], Path(tmp), files, ok_codes=(0, 1, 2, 3))
            )
    print(f"\n({env_note}; {os.cpu_count()} CPUs)")
    print(f"{'tool':<26}{'wall s':>10}{'files/s':>10}{'peak MiB':>10}{'exit':>6}")
    for r in results:
        print(
            f"{r.name:<26}{r.seconds:>10.2f}{r.files_per_second:>10.1f}{r.peak_mib:>10.0f}{r.returncode:>6}"
        )
    by_name = {r.name: r for r in results}
    cold, warm = by_name["maintenance.fix cold"], by_name["maintenance.fix warm"]
    figures: dict[str, float] = {f"{r.name} s": r.seconds for r in results}
    warm_ratio = cold.seconds / warm.seconds
    figures["cold/warm"] = warm_ratio
    print(
        f"\nwarm vs cold: {warm_ratio:.1f}x faster (goal >= 20x: {'met' if warm_ratio >= 20 else 'MISSED'})"
    )
    if "fixit lint" in by_name:
        fixit_ratio = by_name["fixit lint"].seconds / cold.seconds
        figures["fixit/cold"] = fixit_ratio
        print(
            f"cold vs fixit: {fixit_ratio:.1f}x faster (goal >= 3x: {'met' if fixit_ratio >= 3 else 'MISSED'})"
        )
    ruff_ratio = cold.seconds / by_name["ruff check --select ALL"].seconds
    print(f"cold vs ruff --select ALL: ruff is {ruff_ratio:.1f}x faster")
    peak = max(cold.peak_mib, warm.peak_mib)
    print(
        f"peak memory of maintenance.fix: {peak:.0f} MiB (goal < 1024 MiB: {'met' if peak < 1024 else 'MISSED'})"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    failed = [r.name for r in results if r.returncode not in (0, 1) and r.name != "fixit lint"]
    return 2 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
