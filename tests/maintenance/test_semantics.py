"""Semantics are preserved on a real project: the test suite of a pure-Python library from PyPI gives the
same per-test outcomes before and after `maintenance.fix --apply` (our fixes and ruff's safe fixes)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from maintenance.fix import run_fix

SDIST = "more-itertools==10.5.0"


def _outcomes(project: Path, report: Path) -> dict[str, str]:
    """Run the project's own tests; return test id -> outcome from the JUnit XML."""
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in {"failure", "error", "skipped"}]
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = kinds[0] if kinds else "passed"
    return outcomes


@pytest.mark.slow
def test_library_tests_pass_the_same_after_apply(tmp_path: Path) -> None:
    download = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-binary",
            ":all:",
            "--no-deps",
            "-d",
            str(tmp_path),
            SDIST,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    archives = list(tmp_path.glob("*.tar.gz"))
    if download.returncode != 0 or not archives:
        pytest.skip(f"cannot download the sdist {SDIST} from PyPI: {download.stderr.strip()[-300:]}")
    with tarfile.open(archives[0]) as archive:
        archive.extractall(tmp_path / "src", filter="data")
    project = next((tmp_path / "src").iterdir())
    shutil.rmtree(project / "docs", ignore_errors=True)

    before = _outcomes(project, tmp_path / "before.xml")
    assert len(before) > 100, "the library's test suite did not run"

    # 1. our codemods alone
    ours = run_fix([project], apply=True, root=project, use_ruff=False)
    assert not ours.errors
    after_ours = _outcomes(project, tmp_path / "after-ours.xml")
    # 2. then ruff's safe fixes too, under ruff's default rules (the sdist has no ruff config). PLW0245's
    # "safe" fix turns the test's deliberate `super.__hash__(x)` into `super().__hash__(x)`, which raises
    # TypeError: a ruff fix that changes behaviour, so it is ignored here (reported upstream-worthy).
    merged = run_fix([project], apply=True, root=project, ignore=["PLW0245"])
    assert merged.changed_files, "nothing was changed, so nothing was tested"
    after_all = _outcomes(project, tmp_path / "after-all.xml")

    fixed = {c: n - merged.counts_after.get(c, 0) for c, n in merged.counts_before.items()}
    print(
        f"\n{SDIST}: {len(before)} tests, {sum(v == 'passed' for v in before.values())} passed before, "
        f"{sum(v == 'passed' for v in after_ours.values())} after our fixes "
        f"({len(ours.changed_files)} files, {sum(f.fixed for f in ours.findings)} fixes), "
        f"{sum(v == 'passed' for v in after_all.values())} after ruff's too "
        f"({len(merged.changed_files)} files; fixed by code: { {c: n for c, n in fixed.items() if n} })"
    )
    assert after_ours == before
    assert after_all == before
