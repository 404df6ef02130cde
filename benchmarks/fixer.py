"""Fixer benchmark: `maintenance.fix` against `ruff check --select ALL`, corpus by corpus, in one run.

The corpora, two sizes of project:
- repositories of a few hundred files, where users are: qlib 0.9.7 (a quant ML library; its wheel is
  fetched once with `pip download --no-deps --only-binary :all: pyqlib==0.9.7` into a cache folder, or
  given with `--qlib`) and the installed lightning (a training library);
- large corpora: the installed numpy sources (many mid-sized files), the Django 5.2 sdist (thousands of
  small files; fetched once with `pip download --no-deps --no-binary :all: Django==5.2`, or given with
  `--django`), and the 30 largest `.py` files of the installed torch (the large files ML repositories
  have); `--corpus site-packages=PATH` adds any folder (for example a 10,000-file tree of installed
  packages, for the peak memory).

Each corpus is copied to a temporary directory, then timed, one tool after the other, `--repeat` times
alternating (the median is reported):
- `maintenance.fix` cold, MNT codes only (`--no-ruff --no-cache`);
- `maintenance.fix` cold with ruff (empty cache), then warm (the cache that run left);
- `ruff check --select ALL --no-cache`, the baseline of the goals (issue #22's command), and the same with
  `--output-format concise`: ruff's default output renders a code frame for every diagnostic, which is
  most of its time where `--select ALL` finds many (2.6-3.7x the concise run on these corpora, measured
  2026-12-07), so the concise run is ruff's checking alone, the harder baseline;
- `ast.parse` of every file (in one process), the floor of any `ast`-based tool;
- the engine on each file of 1,000 lines or more alone (in one process): the slowest in seconds per
  10,000 lines (below 1,000 lines the fixed cost of a file dominates any per-line rate).

Prints wall time, files/s, peak memory (the largest process among the run's: max RSS of the children)
and the ratios against the goals of issue #22: cold with ruff within 3x of ruff on a repository of a
few hundred files, within 2x on a large corpus; at most 1.5 GB in any process; no single file slower
than 1 s per 10,000 lines. Goals missed are reported, not failed: exit 0 when every tool ran, 2 when
one failed.

    python -m benchmarks fixer
    python -m benchmarks.fixer --corpus qlib --corpus lightning --repeat 5
    python -m benchmarks.fixer --corpus site-packages=/path/to/tree --repeat 1 --json figures.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ruff.__main__ import find_ruff_bin

# Runs a command and prints its wall time and the peak RSS of all its descendants (getrusage of children, in
# KiB on Linux): timed here, so the wrapper's own start-up is in neither tool's figure.
_RSS_WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "seconds = time.perf_counter() - start\n"
    "sys.stderr.write(proc.stderr.decode(errors='replace')[-2000:])\n"
    "print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(proc.returncode)\n"
)
# Times `ast.parse` of every file, and the engine on every file alone, in one process; prints JSON.
_PER_FILE = (
    "import ast, json, sys, time, warnings\n"
    "from pathlib import Path\n"
    "from maintenance.engine import analyze_file\n"
    "root = Path(sys.argv[1])\n"
    "files = sorted(root.rglob('*.py'))\n"
    "warnings.simplefilter('ignore')\n"
    "start = time.perf_counter()\n"
    "for p in files:\n"
    "    try:\n"
    "        ast.parse(p.read_bytes())\n"
    "    except (SyntaxError, ValueError):\n"
    "        pass\n"
    "parse = time.perf_counter() - start\n"
    "worst = []\n"
    "for p in files:\n"
    "    lines = max(1, p.read_bytes().count(b'\\n'))\n"
    "    if lines < 1000:\n"
    "        continue\n"
    "    t = time.perf_counter()\n"
    "    analyze_file(p, p.name, None, False)\n"
    "    worst.append((time.perf_counter() - t, lines, str(p.relative_to(root))))\n"
    "worst.sort(key=lambda w: -w[0] / w[1] * 1e4)\n"
    "print(json.dumps({'parse': parse, 'worst': worst[:3]}))\n"
)
DJANGO = "Django==5.2"
QLIB = "pyqlib==0.9.7"
SMALL = ("qlib", "lightning")  # repositories of a few hundred files: within 3x of ruff
FEW_HUNDRED_GOAL, LARGE_GOAL, MEMORY_GOAL_MIB = 3.0, 2.0, 1536
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "atft-benchmarks"


@dataclass
class Timing:
    """One timed command."""

    name: str
    seconds: float
    peak_mib: float
    returncode: int
    files: int

    @property
    def files_per_second(self) -> float:
        """Files per second of wall time."""
        return self.files / self.seconds if self.seconds > 0 else float("inf")


def installed_package(name: str) -> Path:
    """The source folder of an installed package."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{name} is not installed in this environment")
    return Path(next(iter(spec.submodule_search_locations)))


def _pip_download(requirement: str, binary: bool) -> None:
    """`pip download --no-deps` of one requirement into the cache folder: its sdist, or its wheel."""
    CACHE.mkdir(parents=True, exist_ok=True)
    kind = "--only-binary" if binary else "--no-binary"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", kind, ":all:", requirement, "-d", str(CACHE)],
        check=True,
        capture_output=True,
    )


def django_sources(given: Path | None) -> Path:
    """The Django 5.2 sources: `given`, or the sdist downloaded once into the cache folder and unpacked."""
    if given is not None:
        return given
    unpacked = CACHE / "Django-5.2"
    if not unpacked.is_dir():
        _pip_download(DJANGO, binary=False)
        archive = next(CACHE.glob("[Dd]jango-5.2.tar.gz"))
        with tarfile.open(archive) as tar:
            tar.extractall(CACHE, filter="data")
    return unpacked


def qlib_sources(given: Path | None) -> Path:
    """qlib's package from its wheel (`given`, or downloaded once into the cache folder and unpacked)."""
    if given is not None:
        return given
    unpacked = CACHE / "pyqlib-0.9.7" / "qlib"
    if not unpacked.is_dir():
        _pip_download(QLIB, binary=True)
        wheel = next(CACHE.glob("pyqlib-0.9.7-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(unpacked.parent)
    return unpacked


def largest_files(root: Path, count: int, into: Path) -> None:
    """Copy the `count` largest `.py` files under `root` into the flat folder `into`."""
    files = sorted(
        (p for p in root.rglob("*.py") if "__pycache__" not in p.parts), key=lambda p: -p.stat().st_size
    )[:count]
    into.mkdir(parents=True)
    for path in files:
        shutil.copy2(path, into / path.relative_to(root).as_posix().replace("/", "__"))


def timed(name: str, command: list[str], cwd: Path, files: int, ok_codes: Sequence[int] = (0, 1)) -> Timing:
    """Run `command` under the RSS wrapper and time it."""
    proc = subprocess.run(
        [sys.executable, "-c", _RSS_WRAPPER, *command], cwd=cwd, capture_output=True, text=True, check=False
    )
    lines = proc.stdout.strip().splitlines()
    try:
        seconds, peak_kib = (float(x) for x in lines[-1].split())
    except (IndexError, ValueError):
        seconds = peak_kib = float("nan")
    if proc.returncode not in ok_codes:
        sys.stderr.write(f"{name} exited {proc.returncode}: {proc.stderr[-1000:]}\n")
    return Timing(name, seconds, peak_kib / 1024, proc.returncode, files)


def _drop_caches(root: Path) -> None:
    """Remove every result cache under `root`, ours and ruff's own (a corpus with its own pyproject.toml,
    like Django's sdist, keeps its caches beside it, not at `root`): the next run is cold on both sides,
    as the baseline is with `--no-cache`."""
    for cache in [*root.rglob(".maintenance_cache"), *root.rglob(".ruff_cache")]:
        shutil.rmtree(cache, ignore_errors=True)


def _median(timings: list[Timing]) -> Timing:
    """The median wall time of one tool's runs (with the largest peak memory and the worst exit)."""
    first = timings[0]
    return Timing(
        first.name,
        statistics.median(t.seconds for t in timings),
        max(t.peak_mib for t in timings),
        max(t.returncode for t in timings),
        first.files,
    )


def bench_corpus(label: str, source: Path, tmp: Path, jobs: list[str], repeat: int = 1) -> dict[str, object]:
    """Copy one corpus and time every tool on it (`repeat` alternating rounds, medians); returns its figures."""
    work = tmp / label / source.name
    shutil.copytree(
        source, work, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc", "*.a", "*.dll")
    )
    root = work.parent
    (root / "pyproject.toml").write_text('[tool.maintenance]\nselect = ["MNT", "ruff"]\n')
    paths = list(work.rglob("*.py"))
    files = len(paths)
    lines = sum(p.read_bytes().count(b"\n") for p in paths)
    print(f"\n== {label}: {files} files, {lines} lines ({source})", flush=True)
    fixer = [sys.executable, "-m", "maintenance.fix", str(work), "--format", "json", *jobs]
    ruff = [
        find_ruff_bin(),  # the binary itself: `python -m ruff` would add an interpreter's start-up to ruff's time
        "check",
        "--select",
        "ALL",
        "--no-cache",
        "--exit-zero",
        "-q",
        str(work),
    ]
    rounds: list[list[Timing]] = []
    for _ in range(max(1, repeat)):  # alternating, so a slow spell of the machine hits every tool
        one = [timed("fix cold, MNT only", [*fixer, "--no-ruff", "--no-cache"], root, files)]
        _drop_caches(root)
        one.append(timed("fix cold, with ruff", fixer, root, files))
        one.append(timed("fix warm, with ruff", fixer, root, files))
        _drop_caches(root)
        one.append(timed("ruff --select ALL", ruff, root, files))
        one.append(timed("ruff ALL, concise", [*ruff, "--output-format", "concise"], root, files))
        rounds.append(one)
    results = [_median([r[i] for r in rounds]) for i in range(len(rounds[0]))]
    per_file = subprocess.run(
        [sys.executable, "-c", _PER_FILE, str(work)], capture_output=True, text=True, check=False
    )
    try:
        measured = json.loads(per_file.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        sys.stderr.write(f"per-file timing failed: {per_file.stderr[-1000:]}\n")
        measured = {"parse": float("nan"), "worst": []}
    print(f"{'tool':<22}{'wall s':>9}{'files/s':>10}{'peak MiB':>10}{'exit':>6}")
    for r in results:
        print(f"{r.name:<22}{r.seconds:>9.2f}{r.files_per_second:>10.1f}{r.peak_mib:>10.0f}{r.returncode:>6}")
    print(
        f"{'ast.parse, 1 process':<22}{measured['parse']:>9.2f}{files / max(measured['parse'], 1e-9):>10.1f}"
    )
    by = {r.name: r for r in results}
    ruff_s = by["ruff --select ALL"].seconds
    ratios = {
        "cold MNT-only / ruff": by["fix cold, MNT only"].seconds / ruff_s,
        "cold with ruff / ruff": by["fix cold, with ruff"].seconds / ruff_s,
        "warm / ruff": by["fix warm, with ruff"].seconds / ruff_s,
        "cold with ruff / warm": by["fix cold, with ruff"].seconds / by["fix warm, with ruff"].seconds,
        "cold with ruff / ruff concise": by["fix cold, with ruff"].seconds / by["ruff ALL, concise"].seconds,
    }
    for key, value in ratios.items():
        print(f"{key:<30}{value:>7.2f}x")
    limit = FEW_HUNDRED_GOAL if label in SMALL else LARGE_GOAL
    goal = ratios["cold with ruff / ruff"] <= limit
    print(
        f"goal cold with ruff within {limit:g}x of ruff: {'met' if goal else 'MISSED'} "
        f"(of ruff's concise run: {ratios['cold with ruff / ruff concise']:.2f}x)"
    )
    peak = max(r.peak_mib for r in results if r.name.startswith("fix"))
    print(
        f"goal at most {MEMORY_GOAL_MIB} MiB in any process: {'met' if peak <= MEMORY_GOAL_MIB else 'MISSED'} ({peak:.0f} MiB)"
    )
    worst = measured["worst"]
    if worst:
        seconds, n_lines, name = worst[0]
        per_10k = seconds / n_lines * 1e4
        print(
            f"slowest file per line: {name} ({n_lines} lines) {seconds:.2f} s = {per_10k:.2f} s per 10,000 lines "
            f"(goal <= 1 s: {'met' if per_10k <= 1 else 'MISSED'})"
        )
    return {
        "files": files,
        "lines": lines,
        "seconds": {r.name: r.seconds for r in results},
        "peak_mib": {r.name: r.peak_mib for r in results},
        "exit": {r.name: r.returncode for r in results},
        "ast_parse_s": measured["parse"],
        "ratios": ratios,
        "goal_ratio": limit,
        "repeat": max(1, repeat),
        "slowest_files": worst,
        "failed": [r.name for r in results if r.returncode not in (0, 1)],
    }


CORPORA = ("qlib", "lightning", "numpy", "django", "torch-30-largest")


def _corpus(text: str) -> str:
    """A `--corpus` value: a named corpus, or site-packages=PATH of an existing folder."""
    if text in CORPORA:
        return text
    if text.startswith("site-packages="):
        folder = Path(text.partition("=")[2]).expanduser()
        if folder.is_dir():
            return text
        raise argparse.ArgumentTypeError(f"{folder} is not a folder")
    raise argparse.ArgumentTypeError(
        f"unknown corpus {text!r}; choose from {', '.join(CORPORA)} or site-packages=PATH"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark on the corpora and print a table per corpus."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fixer", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--django", type=Path, default=None, help="unpacked Django 5.2 sdist (default: fetch once)"
    )
    parser.add_argument(
        "--qlib", type=Path, default=None, help="qlib's package folder (default: fetch the wheel once)"
    )
    parser.add_argument(
        "--corpus",
        action="append",
        default=None,
        metavar="NAME",
        type=_corpus,
        help=f"run only these corpora (repeatable): {', '.join(CORPORA)}, or site-packages=PATH for any "
        "folder (default: the five named)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="alternating rounds per corpus, medians reported (default 3)"
    )
    parser.add_argument("--jobs", type=int, default=None, help="worker processes for maintenance.fix")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    wanted = args.corpus or list(CORPORA)
    repo_root = Path(__file__).resolve().parents[1]
    os.environ["PYTHONPATH"] = str(repo_root) + os.pathsep + os.environ.get("PYTHONPATH", "")
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    print(f"PYTHONPATH={repo_root}; {os.cpu_count()} CPUs; maintenance.fix jobs: {args.jobs or 'all CPUs'}")
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="fixer-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for label in wanted:
            if label.startswith("site-packages="):
                source = Path(label.partition("=")[2]).expanduser().resolve()
                label = "site-packages"
            elif label == "qlib":
                source = qlib_sources(args.qlib)
            elif label == "lightning":
                source = installed_package("lightning")
            elif label == "numpy":
                source = installed_package("numpy")
            elif label == "django":
                source = django_sources(args.django)  # the whole sdist: the package and its tests
            else:
                source = tmp / "sources" / "torch-30-largest"
                largest_files(installed_package("torch"), 30, source)
            figures[label] = bench_corpus(label, source, tmp, jobs, args.repeat)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    failed = [name for f in figures.values() for name in f["failed"]]  # type: ignore[index]
    return 2 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
