"""`--verify` with coverage: each kept fix is proven (a test ran it), unexercised (none did) or reverted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maintenance.config import ConfigError
from maintenance.fix import main, run_fix
from maintenance.verify import OUTSIDE_TESTS, FixSite, changed_statements, classify
from tests.maintenance.scratch import TEST_COMMAND, make_scratch


def test_a_deletion_is_judged_by_the_statement_it_relies_on() -> None:
    before = "def f():\n    return 1\n    print('x')\n\n\ndef g():\n    pass\n"
    after = "def f():\n    return 1\n\n\ndef g():\n    pass\n"
    assert changed_statements(before, after, 3, 3) == (2,)  # the `return` that made it unreachable


def test_a_changed_continuation_line_maps_to_its_statement() -> None:
    before = "x = call(\n    1,\n    f'a',\n)\n"
    after = "x = call(\n    1,\n    'a',\n)\n"
    assert changed_statements(before, after, 3, 3) == (1,)


def test_a_decorated_definition_is_looked_up_at_its_decorators_too() -> None:
    before = "@dec\ndef f(x=f'a'):\n    pass\n"
    after = "@dec\ndef f(x='a'):\n    pass\n"
    assert changed_statements(before, after, 2, 2) == (1, 2)


def test_classify_reads_the_tests_that_executed_the_changed_statements(tmp_path: Path) -> None:
    path = str(tmp_path / "m.py")
    original = b"def f():\n    return f'a'\n\n\ndef g():\n    return f'b'\n\n\nimport os\n"
    final = b"def f():\n    return 'a'\n\n\ndef g():\n    return 'b'\n\n\n"
    sites = [FixSite(path, "F541", 2, 2), FixSite(path, "F541", 6, 6), FixSite(path, "F401", 9, 9)]
    executed = {path: {1: ("",), 2: ("t.test_f", "t.test_f2"), 5: ("",), 8: ("",)}}
    got = classify(sites, {path: original}, {path: final}, executed)
    assert [(e.status, e.tests) for e in got] == [
        ("proven", ("t.test_f", "t.test_f2")),
        ("unexercised", ()),
        ("unexercised", ()),  # the deleted last import leaves no statement before it in its block
    ]
    assert [e.status for e in classify(sites, {path: original}, {path: final}, None)] == ["unmeasured"] * 3
    at_import = classify([FixSite(path, "F541", 2, 2)], {path: original}, {path: final}, {path: {2: ("",)}})
    assert at_import[0].tests == (OUTSIDE_TESTS,)


def _run(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict]:
    args = [str(root), "--root", str(root), "--apply", "--no-cache", "--format", "json", *extra]
    code = main([*args, "--verify", TEST_COMMAND])
    assert code == 1  # the reverted F401 is left
    return json.loads(capsys.readouterr().out)


def test_each_fix_lands_in_its_group(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_scratch(tmp_path / "repo")
    findings = _run(root, capsys)
    groups = {(f["path"], f["code"]): f["verification"] for f in findings}
    assert groups == {
        ("pkg/core.py", "F541"): {"status": "proven", "tests": ["test_pkg.test_name"], "kept": True},
        ("pkg/core.py", "MNT001"): {"status": "unexercised", "tests": [], "kept": True},
        ("pkg/paths.py", "F401"): {
            "status": "reverted",
            "tests": ["tests.test_pkg::test_os_through_paths"],
            "kept": False,
        },
    }
    core = (root / "pkg" / "core.py").read_text()
    assert 'return "core"' in core and "never reached" not in core
    assert "import os" in (root / "pkg" / "paths.py").read_text()


def test_drop_unexercised_keeps_only_fixes_a_test_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_scratch(tmp_path / "repo")
    findings = _run(root, capsys, "--drop-unexercised")
    kept = {f["code"]: (f["fixed"], f["verification"]["kept"]) for f in findings}
    assert kept == {"F541": (True, True), "MNT001": (False, False), "F401": (False, False)}
    core = (root / "pkg" / "core.py").read_text()
    assert 'return "core"' in core and "never reached" in core


def test_a_command_without_coverage_leaves_fixes_unmeasured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_scratch(tmp_path / "repo")
    (root / "tests" / "test_pkg.py").write_text("def test_nothing():\n    pass\n")
    # python -S skips site-packages' .pth files, so coverage.py cannot start in the command's process
    command = TEST_COMMAND.replace(" -m pytest", " -S -c 'raise SystemExit(0)' #")
    code = main(
        [str(root), "--root", str(root), "--apply", "--no-cache", "--format", "json", "--verify", command]
    )
    findings = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {f["verification"]["status"] for f in findings} == {"unmeasured"}


def test_drop_unexercised_needs_verify(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([".", "--apply", "--drop-unexercised"]) == 2
    assert "error: --drop-unexercised needs --verify" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="needs --verify"):
        run_fix(["."], apply=True, drop_unexercised=True)
