"""HC004 fails on calls that crash when reached, lists acknowledged ones apart, and ignores tests of the error."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from health_checks.cli import main

needs_fixer = pytest.mark.skipif(
    importlib.util.find_spec("maintenance.fix") is None, reason="maintenance.fix is not importable"
)

SCALE = "def scale(x, factor):\n    return x * factor\n"
ACKNOWLEDGED = "from scale import scale\n\nhalf = scale(1)  # type: ignore[call-arg]\n"
TEST_OF_THE_ERROR = (
    "import pytest\n\nfrom scale import scale\n\n\ndef test_needs_factor():\n"
    "    with pytest.raises(TypeError):\n        scale(1)\n"
)


def _call_arity(root: Path) -> tuple[dict[str, Any], str]:
    main(["--root", str(root), "--no-progress", "--only", "call-arity"])
    (json_path,) = sorted((root / "_logs" / "health-checks").glob("*.json"))[-1:]
    (md_path,) = sorted((root / "docs" / "improvements").glob("*.md"))[-1:]
    checks = {c["code"]: c for c in json.loads(json_path.read_text())["checks"]}
    return checks["HC004"], md_path.read_text()


@needs_fixer
def test_acknowledged_calls_and_tests_of_the_error_pass(tmp_path: Path) -> None:
    (tmp_path / "scale.py").write_text(SCALE)
    (tmp_path / "use.py").write_text(ACKNOWLEDGED)
    (tmp_path / "test_scale.py").write_text(TEST_OF_THE_ERROR)
    check, markdown = _call_arity(tmp_path)
    assert check["status"] == "pass", check["message"]
    assert check["details"]["calls"] == []
    assert [(c["file"], c["line"]) for c in check["details"]["acknowledged"]] == [("use.py", 3)]
    assert "1 acknowledged" in check["message"]
    assert "calls that crash when reached: 0 (acknowledged: 1)" in markdown


@needs_fixer
def test_a_call_that_crashes_when_reached_fails(tmp_path: Path) -> None:
    (tmp_path / "scale.py").write_text(SCALE)
    (tmp_path / "use.py").write_text(ACKNOWLEDGED + "double = scale(2)\n")
    check, markdown = _call_arity(tmp_path)
    assert check["status"] == "fail"
    assert [(c["file"], c["line"]) for c in check["details"]["calls"]] == [("use.py", 4)]
    assert [(c["file"], c["line"]) for c in check["details"]["acknowledged"]] == [("use.py", 3)]
    assert "Crashes when reached: 1" in markdown and "`use.py:4`" in markdown
