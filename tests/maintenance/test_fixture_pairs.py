"""Fixture pairs (torchfix style) for long rewrites: `fixtures/NAME.in.py` becomes `fixtures/NAME.out.py`.

`seed_train` condenses the train script of the seed maintenance report: a mutable dataclass default, an
unsafe `torch.load`, an export that calls `model(a, b, c, d)` on a `forward(self, batch)` model, and dead
code (partly parked in a string) after a `main()` that always calls `sys.exit`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from maintenance.fix import run_fix

FIXTURES = Path(__file__).parent / "fixtures"
PAIRS = sorted(p.name.removesuffix(".in.py") for p in FIXTURES.glob("*.in.py"))
EXPECTED_CODES = {"seed_train": {"MNT001", "MNT002", "MNT003", "MNT004", "MNT005"}}


@pytest.mark.parametrize("name", PAIRS)
def test_fixture_pair(name: str, tmp_path: Path) -> None:
    target = tmp_path / f"{name}.py"
    shutil.copy(FIXTURES / f"{name}.in.py", target)
    report = run_fix([target], apply=True, use_ruff=False, root=tmp_path)
    assert target.read_text() == (FIXTURES / f"{name}.out.py").read_text()
    assert {f.code for f in report.findings} >= EXPECTED_CODES.get(name, set())
    assert report.changed_files == [target.resolve()]
    again = run_fix([target], apply=True, use_ruff=False, root=tmp_path)
    assert again.changed_files == []  # idempotent
    assert {f.code for f in again.findings} <= {"MNT004"}  # only the report-only finding is left


def test_seed_pair_exists() -> None:
    assert "seed_train" in PAIRS
