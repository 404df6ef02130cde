"""`--apply --verify CMD`: bisection finds exactly the breaking fixes, reverts them and names the failing test;
files survive errors and interrupted runs (write-ahead backup)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from maintenance import verify
from maintenance.fix import main, run_fix
from maintenance.verify import Backup, Outcome, bisect, restore_interrupted

PASS = Outcome(True, 0)


def _oracle(bad: set[int], together: frozenset[int] = frozenset()):
    """A fake test: fails when any unit of `bad` is applied, or all of `together`."""
    state: dict[str, frozenset[int]] = {"applied": frozenset()}
    runs: list[frozenset[int]] = []

    def apply(chosen: frozenset[int]) -> None:
        state["applied"] = chosen

    def test() -> Outcome:
        applied = state["applied"]
        runs.append(applied)
        broken = sorted(applied & bad)
        if together and together <= applied:
            broken.append(-1)
        return Outcome(not broken, 1 if broken else 0, tuple(f"t{u}" for u in broken))

    return apply, test, runs


@pytest.mark.parametrize("bad", [{3}, {0, 7}, {1, 2, 3}, set(range(8))])
def test_bisect_finds_exactly_the_breaking_units(bad: set[int]) -> None:
    units = list(range(8))
    apply, test, runs = _oracle(bad)
    apply(frozenset(units))
    guilty = bisect(units, apply, test, test())
    assert sorted(u for u, _ in guilty) == sorted(bad)
    for unit, evidence in guilty:
        assert f"t{unit}" in evidence.failures  # the evidence names the unit's own failing test
    apply(frozenset(units) - {u for u, _ in guilty})
    assert test().passed
    if len(bad) == 1:
        assert len(runs) <= 2 * 3 + 1  # log2(8) levels, at most two runs each


def test_bisect_handles_fixes_that_break_only_together() -> None:
    units = list(range(6))
    apply, test, _ = _oracle(set(), together=frozenset({1, 4}))
    apply(frozenset(units))
    guilty = {u for u, _ in bisect(units, apply, test, test())}
    assert len(guilty) == 1 and guilty <= {1, 4}
    apply(frozenset(units) - guilty)
    assert test().passed


def test_junit_failures_are_named(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text("def test_ok():\n    pass\n\ndef test_bad():\n    assert False\n")
    outcome = verify.Runner(f"{sys.executable} -m pytest -q -p no:cacheprovider test_x.py", tmp_path)()
    assert not outcome.passed
    assert outcome.failures == ("test_x::test_bad",)
    plain = verify.Runner(f"{sys.executable} -c 'raise SystemExit(3)'", tmp_path)()
    assert (plain.passed, plain.describe()) == (False, "exit status 3")


def test_backup_restores_and_an_interrupted_run_is_recovered(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("a = 1\n")
    b.write_text("b = 1\n")
    Backup.create(tmp_path, {str(a): a.read_bytes(), str(b): b.read_bytes()})
    a.write_text("a = 2\n")  # the run is killed here: the manifest stays behind
    manifest = tmp_path / verify.BACKUP_DIR / verify.MANIFEST
    assert json.loads(manifest.read_text())
    assert restore_interrupted(tmp_path) == [str(a)]
    assert a.read_text() == "a = 1\n" and b.read_text() == "b = 1\n"
    assert not manifest.exists()
    assert restore_interrupted(tmp_path) == []


LIB_WITH_BREAKS = {
    # F401 removes `os` (on the allow-list); a test reads `lib.os`: a planted break
    "lib.py": "import os\nimport json\n\ndef name():\n    return f'lib'\n",
    # SIM201 (added to the allow-list in this repo's config) is wrong for a class that overrides only
    # __eq__ while its base defines __ne__ (int.__ne__ compares the numbers)
    "eq.py": (
        "class Same(int):\n    def __eq__(self, other):\n        return True\n\n    __hash__ = int.__hash__\n\n\n"
        "def differ(a, b):\n    return not (a == b)\n"
    ),
    "other.py": "def shout():\n    return f'hey'\n",
    "test_lib.py": (
        "import eq\nimport lib\nimport other\n\n\n"
        "def test_os_is_reachable_through_lib():\n    assert lib.os.sep\n\n\n"
        "def test_name():\n    assert lib.name() == 'lib'\n\n\n"
        "def test_same_objects_do_not_differ():\n    assert eq.differ(eq.Same(1), eq.Same(2)) is False\n\n\n"
        "def test_shout():\n    assert other.shout() == 'hey'\n"
    ),
}
PYPROJECT = (
    '[tool.maintenance]\nselect = ["ruff"]\nextend-ruff-fixable = ["SIM201"]\n'
    '[tool.ruff.lint]\nselect = ["F", "SIM"]\n'
)


def _planted(root: Path) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    for name, text in LIB_WITH_BREAKS.items():
        (root / name).write_text(text)
    return root


def test_planted_breaks_are_reverted_and_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _planted(tmp_path / "repo")
    # plugin autoload off: each of the ~10 runs of the bisection then starts in a fraction of the time
    command = f"env PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {sys.executable} -m pytest -x -q -p no:cacheprovider test_lib.py"
    code = main([str(root), "--apply", "--unsafe-fixes", "--no-cache", "--verify", command])
    out = capsys.readouterr().out
    assert code == 1
    assert (
        "reverted by --verify: F401 fix in lib.py (it broke test_lib::test_os_is_reachable_through_lib)"
        in out
    )
    assert (
        "reverted by --verify: SIM201 fix in eq.py (it broke test_lib::test_same_objects_do_not_differ)"
        in out
    )
    lib = (root / "lib.py").read_text()
    assert "import os" in lib and "import json" in lib  # --verify reverts F401 per file: both stay
    assert "return 'lib'" in lib  # F541 in the same file is kept
    assert "not (a == b)" in (root / "eq.py").read_text()
    assert "return 'hey'" in (root / "other.py").read_text()
    assert not (root / verify.BACKUP_DIR).exists()
    # the tree as left passes, and a rerun reports exactly what this run left
    assert verify.Runner(command, root)().passed
    report = run_fix([root], use_cache=False)
    assert len(report.findings) == int(out.rsplit("; ", 1)[1].split()[0])


def test_verify_refuses_a_command_that_fails_before(tmp_path: Path, capsys) -> None:
    root = _planted(tmp_path / "repo")
    before = {p: p.read_bytes() for p in root.glob("*.py")}
    code = main([str(root), "--apply", "--verify", f"{sys.executable} -c 'raise SystemExit(1)'"])
    assert code == 2
    assert "fails before any fix" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in root.glob("*.py")} == before


def test_verify_needs_apply(capsys) -> None:
    assert main([".", "--verify", "pytest"]) == 2
    assert "--verify needs --apply" in capsys.readouterr().err


def test_an_interrupt_during_verify_restores_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _planted(tmp_path / "repo")
    before = {p: p.read_bytes() for p in root.glob("*.py")}
    calls = {"n": 0}
    real = verify.Runner.__call__

    def interrupted(self: verify.Runner, measure=()) -> Outcome:
        calls["n"] += 1
        if calls["n"] == 2:  # after the fixes were written
            raise KeyboardInterrupt
        return real(self, measure)

    monkeypatch.setattr(verify.Runner, "__call__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_fix([root], apply=True, use_cache=False, verify=f"{sys.executable} -c 'pass'")
    assert {p: p.read_bytes() for p in root.glob("*.py")} == before
    assert not (root / verify.BACKUP_DIR).exists()
