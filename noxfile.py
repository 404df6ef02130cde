"""Sessions for atft. CI only calls these, so CI equals a laptop.

`nox --list` documents every session. Virtual environments are reused, and the install step is skipped
when pyproject.toml and this file have not changed since the venv was built, so a second run starts in
seconds.
"""

from __future__ import annotations

import hashlib
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import nox

nox.options.reuse_venv = "yes"
nox.options.default_venv_backend = "venv"
nox.options.sessions = ["health", "tests", "gate", "lint", "fix"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")

# The CPU wheel of torch lies on these machines' disk; a bare `torch` would pull a multi-GB CUDA build.
# Elsewhere set ATFT_TORCH_SPEC: pip arguments, e.g. "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
# on a runner without the wheel, or "" to keep the torch (CUDA build) a GPU user already installed.
TORCH_SPEC = os.environ.get("ATFT_TORCH_SPEC", "torch==2.13.0")
# Real market data ships inside these PyPI packages; --no-deps keeps their web stacks out.
DATA_PACKAGES = ["fastquant==0.1.8.1", "skfolio==1.12.2"]


def _install(session: nox.Session, *groups: str) -> None:
    """Install the project, the CPU torch pin, the data packages and dependency groups (once per change)."""
    stamp_text = (ROOT / "pyproject.toml").read_bytes() + (ROOT / "noxfile.py").read_bytes()
    stamp_text += TORCH_SPEC.encode() + ",".join(groups).encode()
    digest = hashlib.sha256(stamp_text).hexdigest()
    stamp = Path(session.virtualenv.location) / ".atft-install-stamp"
    if stamp.exists() and stamp.read_text() == digest:
        session.log("environment up to date; skipping install (delete .nox to force)")
        return
    session.install("--upgrade", "pip")
    if TORCH_SPEC:
        session.install(*TORCH_SPEC.split())
    session.install("-e", ".")
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))
    session.install("--no-deps", *DATA_PACKAGES)
    stamp.write_text(digest)


def _pytest(session: nox.Session, *args: str) -> None:
    """Run pytest and fail loudly when it collected no test at all (pytest exit 5)."""
    report = ROOT / "_logs" / f"pytest-{session.name}.xml"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    session.run("pytest", f"--junitxml={report}", *args, *session.posargs, success_codes=[0, 5])
    suites = ET.parse(report).getroot() if report.exists() else None
    ran = sum(int(s.get("tests", 0)) for s in suites.iter("testsuite")) if suites is not None else 0
    if ran == 0:
        session.error("pytest collected no tests: the suite is broken (a rename or a bad marker?)")


@nox.session
def health(session: nox.Session) -> None:
    """The main job: run every health check on the embedded PSE data and write the dated reports."""
    _install(session)
    session.run("python", "-m", "health_checks", *session.posargs, success_codes=[0, 1])


@nox.session
def tests(session: nox.Session) -> None:
    """All CPU tests (not `slow`, not `gpu`), the CI gate markers included."""
    _install(session, "dev")
    _pytest(session, "-m", "not slow and not gpu", "-n", "2", "--dist", "loadgroup")


@nox.session
def gate(session: nox.Session) -> None:
    """The CI gate: the forward-contract signature, prediction variance and checkpoint tests."""
    _install(session, "dev")
    _pytest(session, "-m", "(signature or variance or checkpoint) and not gpu")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, the import-linter contracts, and action.yml and every workflow
    against GitHub's schemas (check-jsonschema's vendored copies: no network)."""
    _install(session, "dev")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    workflows += sorted(str(p) for p in (ROOT / "docs" / "examples").glob("*.yml"))
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-actions", str(ROOT / "action.yml"))


@nox.session
def fix(session: nox.Session) -> None:
    """Dry run of `python -m maintenance.fix` on our own tree; fails when any finding is left."""
    _install(session)
    session.run("python", "-m", "maintenance.fix", ".", *session.posargs)


# the project's own test command, which `maintain` runs before and after the fixes (-x: bisection needs
# only pass/fail, and stops at the first failing test)
VERIFY_COMMAND = 'python -m pytest -x -q -p no:randomly -m "not slow and not gpu" -n 2'


@nox.session(default=False)
def maintain(session: nox.Session) -> None:
    """Autonomous maintenance: apply the safe fixes proven by the test suite (--verify), rerun the checks, report."""
    _install(session, "dev")
    session.run(
        "python",
        "-m",
        "health_checks",
        "--apply-fixes",
        "--verify",
        VERIFY_COMMAND,
        *session.posargs,
        success_codes=[0, 1],
    )


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks (slow): fixer vs fixit and ruff, dataset build, model throughput. Prints ratios."""
    # not the dev group: fixit pins click<8.2 while import-linter needs click>=8.2
    _install(session, "bench")
    session.run("python", "-m", "benchmarks", *session.posargs)
