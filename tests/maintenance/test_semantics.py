"""Semantics are preserved on real projects: three pure-Python libraries from PyPI whose sdists ship their
tests give the same per-test outcomes before and after `maintenance.fix --apply`, after
`--unsafe-fixes --apply --verify`, and with every ruff fix allowed plus `--verify` (which must revert what
breaks). The runs live in `benchmarks.fixer_semantics` (also a script); these slow tests assert on them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks.fixer_semantics import LIBRARIES, MODES, Library, run_library


@pytest.mark.slow
@pytest.mark.parametrize("library", LIBRARIES, ids=lambda lib: lib.spec)
def test_library_tests_give_the_same_outcomes_in_every_mode(library: Library, tmp_path: Path) -> None:
    try:
        row = run_library(library, tmp_path, MODES, None)
    except subprocess.CalledProcessError as err:
        pytest.skip(f"cannot download the sdist {library.spec} from PyPI: {err.stderr!r:.300}")
    assert int(row["tests"]) > 100, "the library's test suite did not run"
    modes = {m["mode"]: m for m in row["modes"]}
    print(f"\n{library.spec}: {row['tests']} tests, {row['passed_before']} passed before; {modes}")
    for mode in MODES:
        assert modes[mode]["same_outcomes"], (mode, modes[mode]["differing"])
    # the shipped policy may find nothing to fix in a clean library; every ruff fix allowed always does
    assert modes["all-ruff-verify"]["files_changed"] > 0, "nothing was changed, so nothing was tested"
    assert modes["all-ruff-verify"]["fixed"] >= modes["default"]["fixed"]
