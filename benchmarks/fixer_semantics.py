"""`python -m benchmarks.fixer_semantics`: do the fixes keep real libraries' behaviour? Their own tests say.

For each pure-Python library (sdist from PyPI, which ships its tests) the test suite runs on the pristine
tree, then on a fresh copy after each mode:

- `default`: `--apply` (our safe fixes, ruff's fixes within the shipped fix policy);
- `unsafe-verify`: `--unsafe-fixes --apply --verify "<the library's test command>"`;
- `all-ruff-verify`: as `unsafe-verify` with every ruff rule allowed to fix (`ruff-fixable = ["ALL"]`),
  the setting that broke libraries before the policy existed: `--verify` must revert what breaks.

Per-test outcomes (junit XML) must be identical to the pristine run in every mode. ruff runs with a broad
rule selection (a `ruff.toml` written into each copy), so that there is something to fix. Prints a table
and, with `--json PATH`, writes the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from maintenance.fix import run_fix


@dataclass(frozen=True)
class Library:
    """A library whose sdist ships its tests, and where they are."""

    spec: str
    tests: str
    why: str  # what it has that the policy must respect


LIBRARIES = (
    Library("more-itertools==10.5.0", "tests", "the library the issue names; 600+ tests"),
    Library("toolz==1.2.0", "toolz/tests", "public re-exports in __init__.py, tlz's cytoolz probe"),
    Library("tabulate==0.10.0", "test", "availability probe `try: import wcwidth except ImportError`"),
)
RUFF_TOML = (
    '[lint]\nselect = ["F", "E", "W", "UP", "SIM", "PLC", "PIE", "RUF100", "B", "C4", "I", "RET", "PERF"]\n'
)
MODES = ("default", "unsafe-verify", "all-ruff-verify")


@dataclass
class ModeResult:
    """What one mode did to one library."""

    mode: str
    findings: int
    fixed: int
    files_changed: int
    reverted: list[dict[str, str]] = field(default_factory=list)
    same_outcomes: bool = False
    differing: list[str] = field(default_factory=list)


def pytest_command(tests: str) -> list[str]:
    """The library's test command: its test directory, random order and the cache off."""
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", tests]


def outcomes(project: Path, tests: str, report: Path) -> dict[str, str]:
    """Run the library's tests; test id -> passed/failure/error/skipped from the junit XML."""
    subprocess.run(
        [*pytest_command(tests), f"--junitxml={report}"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    result = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in {"failure", "error", "skipped"}]
        result[f"{case.get('classname')}::{case.get('name')}"] = kinds[0] if kinds else "passed"
    return result


def fetch(spec: str, into: Path, cache: Path | None) -> Path:
    """Download (or take from `cache`) the sdist of `spec` and extract it; returns the project directory."""
    name, version = spec.split("==")
    archives = sorted(cache.glob(f"{name.replace('-', '[-_]')}-{version}.tar.gz")) if cache else []
    if not archives:
        download = into / "sdist"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                str(download),
                spec,
            ],
            check=True,
            capture_output=True,
        )
        archives = sorted(download.glob("*.tar.gz"))
    with tarfile.open(archives[0]) as archive:
        archive.extractall(into / "src", filter="data")
    project = next((into / "src").iterdir())
    shutil.rmtree(project / "docs", ignore_errors=True)  # sphinx conf.py is not the library
    (project / "ruff.toml").write_text(RUFF_TOML)
    return project


def run_mode(mode: str, pristine: Path, library: Library, work: Path, before: dict[str, str]) -> ModeResult:
    """Apply one mode to a fresh copy of the library and compare its tests with the pristine run."""
    project = work / mode / pristine.name
    shutil.copytree(pristine, project)
    verify = None
    if mode != "default":
        verify = " ".join(pytest_command(library.tests)[:-1]) + f" -x {library.tests}"
    if mode == "all-ruff-verify":
        with (project / "pyproject.toml").open("a", encoding="utf-8") as handle:
            handle.write('\n[tool.maintenance]\nruff-fixable = ["ALL"]\n')
    report = run_fix([project], apply=True, root=project, unsafe_fixes=mode != "default", verify=verify)
    after = outcomes(project, library.tests, work / f"{mode}.xml")
    differing = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return ModeResult(
        mode=mode,
        findings=len(report.findings),
        fixed=sum(f.fixed for f in report.findings),
        files_changed=len(report.changed_files),
        reverted=[{"path": r.path, "code": r.code, "tests": r.tests} for r in report.reverted],
        same_outcomes=not differing,
        differing=differing[:20],
    )


def run_library(
    library: Library, work: Path, modes: tuple[str, ...], cache: Path | None
) -> dict[str, object]:
    """All modes on one library."""
    pristine = fetch(library.spec, work, cache)
    before = outcomes(pristine, library.tests, work / "before.xml")
    results = [run_mode(mode, pristine, library, work, before) for mode in modes]
    return {
        "library": library.spec,
        "why": library.why,
        "tests": len(before),
        "passed_before": sum(v == "passed" for v in before.values()),
        "modes": [vars(r) for r in results],
    }


def main(argv: list[str] | None = None) -> int:
    """Run every library in every mode; exit 1 when any mode changed any test's outcome."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fixer_semantics", description=__doc__)
    parser.add_argument("--library", action="append", help="only these specs (default: all three)")
    parser.add_argument("--mode", action="append", choices=MODES, help="only these modes (default: all)")
    parser.add_argument("--sdists", type=Path, help="a directory holding the sdists (else pip download)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    libraries = [lib for lib in LIBRARIES if not args.library or lib.spec in args.library]
    modes = tuple(args.mode or MODES)
    rows = []
    with tempfile.TemporaryDirectory(prefix="fixer-semantics-") as tmp:
        for library in libraries:
            rows.append(run_library(library, Path(tmp) / library.spec.split("==")[0], modes, args.sdists))
    from rich.console import Console
    from rich.table import Table

    table = Table(title="fixer semantics: the libraries' own tests before and after")
    for column in (
        "library",
        "tests (passed)",
        "mode",
        "findings",
        "fixed",
        "files",
        "reverted",
        "same outcomes",
    ):
        table.add_column(column)
    for row in rows:
        for mode in row["modes"]:
            reverted = "; ".join(f"{r['code']} {r['path']} ({r['tests']})" for r in mode["reverted"]) or "-"
            table.add_row(
                str(row["library"]),
                f"{row['tests']} ({row['passed_before']})",
                mode["mode"],
                str(mode["findings"]),
                str(mode["fixed"]),
                str(mode["files_changed"]),
                reverted,
                "yes" if mode["same_outcomes"] else f"NO: {mode['differing']}",
            )
    Console(width=200).print(table)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0 if all(m["same_outcomes"] for row in rows for m in row["modes"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
