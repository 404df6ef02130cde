"""Install benchmark: the standalone `maintenance-fix` distribution against the whole atft project.

Each is installed into its own fresh venv (`python -m venv`), one after the other, with the same pip and
the same pip cache: the standalone package from its local path (`pip install ./distributions/maintenance-fix`),
the whole project as its CPU environments install it (the torch pin first, then `pip install .`). Prints the
install time (pip only, not the venv creation), the venv's size on disk, the number of distributions and
whether torch is importable, and the ratios full/standalone. In the standalone venv it then runs
`maintenance-fix --help` and a dry run on a small fixture project (one unreachable statement, one mutable
dataclass default), which must report MNT001 and MNT002 and exit 1. Returns 0 when everything ran and the
standalone venv has no torch, 2 otherwise.

    python -m benchmarks.install
    python -m benchmarks.install --skip-full --json _logs/install.json
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STANDALONE = ROOT / "distributions" / "maintenance-fix"
FIXTURE = {
    "pyproject.toml": '[project]\nname = "fixture"\nversion = "0"\n',
    "pkg/__init__.py": "",
    "pkg/core.py": (
        "from dataclasses import dataclass\n\n\n"
        "@dataclass\nclass Options:\n    names: list = []\n\n\n"
        "def answer():\n    return 42\n    print('never')\n"
    ),
}


@dataclass
class Install:
    name: str
    seconds: float
    bytes: int
    distributions: int
    has_torch: bool


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / "python"


def tree_bytes(path: Path) -> int:
    """Bytes of every regular file under `path` (links not followed)."""
    total = 0
    for current, _, files in os.walk(path):
        for name in files:
            file = Path(current) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def run(command: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), cwd=cwd, capture_output=True, text=True, check=False)


def install(name: str, venv: Path, steps: Sequence[Sequence[str]]) -> Install:
    """Create `venv`, run the pip `steps` in it (timed) and measure what they left."""
    made = run([sys.executable, "-m", "venv", str(venv)])
    if made.returncode:
        raise SystemExit(f"python -m venv {venv} failed: {made.stderr.strip()[-500:]}")
    python = str(venv_python(venv))
    start = time.perf_counter()
    for step in steps:
        proc = run([python, "-m", "pip", "install", "--disable-pip-version-check", *step], cwd=ROOT)
        if proc.returncode:
            raise SystemExit(f"{name}: pip install {shlex.join(step)} failed:\n{proc.stderr.strip()[-2000:]}")
    seconds = time.perf_counter() - start
    listed = run([python, "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"])
    probe = run([python, "-c", "import importlib.util as u; print(u.find_spec('torch') is not None)"])
    return Install(
        name=name,
        seconds=seconds,
        bytes=tree_bytes(venv),
        distributions=len(json.loads(listed.stdout or "[]")),
        has_torch=probe.stdout.strip() == "True",
    )


def exercise(venv: Path, work: Path) -> list[str]:
    """Run `maintenance-fix --help` and a dry run on the fixture in the standalone venv; the problems found."""
    problems = []
    script = venv_python(venv).parent / ("maintenance-fix.exe" if os.name == "nt" else "maintenance-fix")
    helped = run([str(script), "--help"])
    if helped.returncode != 0 or "--apply" not in helped.stdout:
        problems.append(f"maintenance-fix --help exited {helped.returncode}: {helped.stderr.strip()[-300:]}")
    project = work / "fixture"
    for relpath, text in FIXTURE.items():
        (project / relpath).parent.mkdir(parents=True, exist_ok=True)
        (project / relpath).write_text(text, encoding="utf-8")
    dry = run([str(script), "--no-cache", "--format", "json", "."], cwd=project)
    try:
        codes = {finding["code"] for finding in json.loads(dry.stdout)}
    except (ValueError, TypeError, KeyError):
        codes = set()
    if dry.returncode != 1 or not {"MNT001", "MNT002"} <= codes:
        problems.append(f"dry run exited {dry.returncode} with codes {sorted(codes)}: {dry.stderr[-300:]}")
    if (project / "pkg/core.py").read_text(encoding="utf-8") != FIXTURE["pkg/core.py"]:
        problems.append("the dry run changed the fixture")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.install", description=__doc__.split("\n")[0])
    parser.add_argument("--skip-full", action="store_true", help="only the standalone package")
    parser.add_argument(
        "--torch-spec",
        default=os.environ.get("ATFT_TORCH_SPEC", "torch==2.13.0"),
        help="pip arguments for torch, installed before the whole project (default: $ATFT_TORCH_SPEC or "
        "torch==2.13.0, the CPU wheel where pip's find-links has it)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="atft-install-") as tmp:
        work = Path(tmp)
        results = [install("maintenance-fix (standalone)", work / "standalone", [[str(STANDALONE)]])]
        problems = exercise(work / "standalone", work)
        if results[0].has_torch:
            problems.append("the standalone venv has torch")
        if not args.skip_full:
            results.append(install("atft (whole project)", work / "full", [args.torch_spec.split(), ["."]]))

    print(f"{'environment':32} {'install s':>10} {'size MiB':>10} {'dists':>6} {'torch':>6}")
    for r in results:
        print(
            f"{r.name:32} {r.seconds:10.1f} {r.bytes / 2**20:10.1f} {r.distributions:6d} {r.has_torch!s:>6}"
        )
    if len(results) == 2:
        small, full = results
        print(
            f"full/standalone: install time x{full.seconds / small.seconds:.1f}, size x{full.bytes / small.bytes:.1f}"
        )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n", encoding="utf-8")
    return 2 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
