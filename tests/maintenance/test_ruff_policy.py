"""The ruff fix policy: only allow-listed rules are fixed, and F401 keeps probes and re-exports.

The differential tests build small programs out of the cases that broke real libraries (availability
probes, re-exports, `assert not (a == b)` on a class with only `__eq__`), run them, apply every fix the
tool would make (`--unsafe-fixes` included) and run them again: the output must be the same.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maintenance.config import ConfigError, load_config
from maintenance.fix import main, run_fix
from maintenance.ruff_policy import RUFF_FIX_ALLOWLIST, fixable_selectors, kept_imports

RUFF_ALL = '[tool.ruff.lint]\nselect = ["F", "E", "W", "UP", "SIM", "PLC", "PIE", "RUF100"]\n'


def _repo(root: Path, files: dict[str, str], maintenance: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(f'[tool.maintenance]\nselect = ["ruff"]\n{maintenance}\n{RUFF_ALL}')
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_every_allow_list_entry_says_why_its_fix_keeps_behaviour() -> None:
    assert len(RUFF_FIX_ALLOWLIST) >= 10
    for code, why in RUFF_FIX_ALLOWLIST.items():
        assert code[0].isupper() and any(ch.isdigit() for ch in code), code
        assert len(why.split()) >= 5, code
    for never in ("SIM201", "PLC0414", "F841", "E711", "E712", "I001"):
        assert never not in RUFF_FIX_ALLOWLIST


def test_fixable_selectors_intersect_the_allow_list_with_the_selection() -> None:
    allow = ["F401", "F541", "UP004", "W291"]
    assert fixable_selectors(allow, ["ruff"], []) == allow
    assert fixable_selectors(allow, ["F"], []) == ["F401", "F541"]
    assert fixable_selectors(allow, ["F401", "MNT"], []) == ["F401"]
    assert fixable_selectors(["UP"], ["UP004"], []) == ["UP004"]
    assert fixable_selectors(allow, ["ALL"], ["F5", "W"]) == ["F401", "UP004"]
    assert fixable_selectors(allow, ["E"], []) == []


@pytest.mark.parametrize(
    ("name", "source", "row", "reason"),
    [
        ("m.py", "try:\n    import readline\nexcept Exception:\n    pass\n", 2, "try"),
        ("m.py", "import sys\nif sys.platform == 'win32':\n    import msvcrt\n", 3, "if"),
        ("m.py", "import warnings\nwith warnings.catch_warnings():\n    import imp\n", 3, "with"),
        ("__init__.py", "import os\n", 1, "__init__"),
        ("m.py", "from functools import total_ordering as total_ordering\n", 1, "re-export"),
        ("m.py", "import os.path as path\n", 1, "re-export"),
        ("m.py", "from os import sep\n__all__ = ['sep']\n", 1, "__all__"),
        ("m.py", "from os import sep\n__all__ = []\n__all__ += ['sep']\n", 1, "__all__"),
    ],
)
def test_kept_imports_name_the_reason(name: str, source: str, row: int, reason: str) -> None:
    kept = kept_imports(Path(name), source, [row])
    assert list(kept) == [row]
    assert reason in kept[row]


def test_plain_unused_imports_are_not_kept() -> None:
    source = "import os\nfrom json import loads as parse\n__all__ = ['other']\ndef f():\n    import re\n"
    assert kept_imports(Path("m.py"), source, [1, 2]) == {}


def test_config_replaces_and_extends_the_allow_list(tmp_path: Path) -> None:
    _repo(tmp_path / "a", {}, 'extend-ruff-fixable = ["SIM201"]')
    extended = load_config(tmp_path / "a").ruff_fixable
    assert "SIM201" in extended and "F401" in extended
    _repo(tmp_path / "b", {}, 'ruff-fixable = ["F541"]')
    assert load_config(tmp_path / "b").ruff_fixable == {"F541": RUFF_FIX_ALLOWLIST["F541"]}
    _repo(tmp_path / "c", {}, "ruff-fixable = 3")
    with pytest.raises(ConfigError, match="ruff-fixable"):
        load_config(tmp_path / "c")


def test_apply_keeps_probes_and_re_exports_and_reports_them(tmp_path: Path) -> None:
    root = _repo(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "from pkg.impl import helper\n",
            "pkg/impl.py": "def helper():\n    return 1\n",
            "pkg/probe.py": "try:\n    import readline\n    HAVE = True\nexcept ImportError:\n    HAVE = False\n",
            "pkg/export.py": "from functools import total_ordering as total_ordering\nfrom os import sep\n__all__ = ['sep']\n",
            "pkg/plain.py": "import json\nX = f'x'\n",
            "pkg/eq.py": "def same(a, b):\n    assert not (a == b)\n",
        },
    )
    originals = {p: p.read_text() for p in root.rglob("*.py")}
    report = run_fix([root], apply=True, unsafe_fixes=True, use_cache=False)
    changed = {p.name for p in report.changed_files}
    assert changed == {"plain.py"}
    assert (root / "pkg/plain.py").read_text() == "X = 'x'\n"
    for path, text in originals.items():
        if path.name != "plain.py":
            assert path.read_text() == text, path
    by_code = {(f.path, f.code): f for f in report.findings}
    assert "availability probe" in by_code[("pkg/probe.py", "F401")].message
    assert "__init__" in by_code[("pkg/__init__.py", "F401")].message
    assert not by_code[("pkg/eq.py", "SIM201")].fixed  # off the allow-list, even with --unsafe-fixes
    assert by_code[("pkg/plain.py", "F401")].fixed


def test_list_and_help_document_the_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "ruff fix policy" in out
    for code, why in RUFF_FIX_ALLOWLIST.items():
        assert f"{code}" in out and why in out
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--verify" in out and "fix policy" in out


# -- differential: programs built from the cases that broke libraries behave the same after --apply --

PROBES = st.sampled_from(["json", "no_such_module_xyz", "csv"])
PIECES = {
    "probe": (
        "try:\n    import {mod}\n    HAVE_{n} = True\nexcept ImportError:\n    HAVE_{n} = False\n"
        "print('have {mod}', HAVE_{n})\n"
    ),
    "re_export": "from functools import total_ordering as total_ordering\n",
    "dunder_all": "from os import sep\n__all__ = ['sep', 'total_ordering']\n",
    "eq_only": (
        "class Same(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n"
        "try:\n    assert not (Same(1) == Same(2))\n    print('assert passed')\n"
        "except AssertionError:\n    print('assert failed')\n"
    ),
    "fstring": "print(f'plain text')\n",
    "unused": "import textwrap\n",
}
# the client uses lib's public names: __all__ when it has one, and the re-export (a module's other
# attributes, such as an unused `textwrap`, are not its API: F401 removes them, see RUFF_FIX_ALLOWLIST)
CLIENT = (
    "import sys\nsys.path.insert(0, '.')\nimport lib\nfrom lib import total_ordering\n"
    "names = sorted(getattr(lib, '__all__', []))\nprint(names, [getattr(lib, n) is not None for n in names])\n"
    "print(total_ordering.__name__)\n"
)


def _run(root: Path) -> tuple[int, str, str]:
    """Exit status, stdout and the last line of stderr (the exception) of `client.py`."""
    proc = subprocess.run(
        [sys.executable, "client.py"], cwd=root, capture_output=True, text=True, check=False, timeout=60
    )
    last_error_line = proc.stderr.splitlines()[-1] if proc.stderr.strip() else ""
    return proc.returncode, proc.stdout, last_error_line


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(st.sampled_from(sorted(PIECES)), min_size=2, max_size=6),
    mods=st.lists(PROBES, min_size=6, max_size=6),
)
def test_programs_behave_the_same_after_apply_with_unsafe_fixes(
    tmp_path_factory: pytest.TempPathFactory, pieces: list[str], mods: list[str]
) -> None:
    root = tmp_path_factory.mktemp("diff")
    body = "".join(PIECES[p].format(mod=mods[i], n=i) for i, p in enumerate(pieces))
    body = PIECES["re_export"] + body  # the client imports total_ordering from lib
    _repo(root, {"lib.py": body, "client.py": CLIENT})
    before = _run(root)
    run_fix([root / "lib.py"], apply=True, unsafe_fixes=True, use_cache=False, root=root)
    assert _run(root) == before


def test_ruff_fixable_all_lets_ruff_fix_every_rule(tmp_path: Path) -> None:
    root = _repo(
        tmp_path / "repo", {"m.py": "def f(a, b):\n    return not (a == b)\n"}, 'ruff-fixable = ["ALL"]'
    )
    report = run_fix([root], apply=True, unsafe_fixes=True, use_cache=False)
    assert [f.code for f in report.findings if f.fixed] == ["SIM201"]
    assert "a != b" in (root / "m.py").read_text()


def test_ruf100_keeps_other_linters_codes_and_removes_unused_ruff_codes(tmp_path: Path) -> None:
    # ruff knows N802/N803 (pep8-naming) but this configuration does not enable them: flake8 may check them
    source = (
        "x = 1  # noqa: N802\n"  # another linter's code: kept
        "y = 2  # noqa: F841\n"  # an enabled ruff code that suppresses nothing: removed
        "w = 4  # noqa: F841, N802\n"  # the unused ruff code goes, the other linter's stays
        "z = 3  # noqa: X999\n"  # a code ruff does not know: kept (ruff's own rule)
        "u = 6  # noqa: N803\n"  # listed in the configured `lint.external`: kept
    )
    root = _repo(tmp_path / "r", {"a.py": source})
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'external = ["N803"]\n')
    dry = run_fix([root], use_cache=False)
    by_line = {f.line: f for f in dry.findings if f.code == "RUF100"}
    assert sorted(by_line) == [1, 2, 3]
    assert not by_line[1].fixable and "N802 not enabled for ruff here" in by_line[1].message
    assert by_line[2].fixable and by_line[3].fixable
    run_fix([root], apply=True, use_cache=False)
    assert (root / "a.py").read_text() == (
        "x = 1  # noqa: N802\ny = 2\nw = 4  # noqa: N802\nz = 3  # noqa: X999\nu = 6  # noqa: N803\n"
    )
