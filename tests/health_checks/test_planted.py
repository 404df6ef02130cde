"""The planted-bug tree: each bug is flagged by the right check with its file and line or stage, and the
fixer repairs the import error.

(a) planted/settings.py: a mutable dataclass default raises at import        -> HC001, file:line
(b) planted/model.py:   export_predictions calls model(features, static, edge_index, edge_attr) -> HC004
(c) planted/model.py:   a head whose output ignores its input (a constant)    -> HC021 / HC022, the stage
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from health_checks.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "planted"
HAS_FIXER = importlib.util.find_spec("maintenance.fix") is not None
needs_fixer = pytest.mark.skipif(not HAS_FIXER, reason="maintenance.fix is not importable in this checkout")


def run_tree(root: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["--root", str(root), "--no-progress", *args])
    (json_path,) = sorted((root / "_logs" / "health-checks").glob("*.json"))[-1:]
    (md_path,) = sorted((root / "reports").glob("*.md"))
    return code, json.loads(json_path.read_text()), md_path.read_text()


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, dict[str, Any]], str]:
    root = tmp_path_factory.mktemp("planted") / "tree"
    shutil.copytree(FIXTURE, root)
    code, report, markdown = run_tree(root, "--only", "imports,call-arity,prediction-spread,diagnostics")
    return code, {c["code"]: c for c in report["checks"]}, markdown


def test_the_run_is_critical(planted_run: tuple[int, dict, str]) -> None:
    code, checks, _ = planted_run
    assert code == 2
    assert set(checks) == {"HC001", "HC004", "HC021", "HC022"}


def test_a_mutable_default_is_reported_with_file_and_line(planted_run: tuple[int, dict, str]) -> None:
    _, checks, markdown = planted_run
    imports = checks["HC001"]
    assert imports["status"] == "fail"
    (failure,) = imports["details"]["failures"]
    assert failure["file"] == "planted/settings.py"
    assert failure["line"] == 15  # the `features: FeatureParams = FeatureParams()` line
    assert "mutable default" in failure["error"] and "default_factory" in failure["error"]
    assert "planted/settings.py:15" in imports["message"]
    assert "planted/settings.py:15" in markdown


@needs_fixer
def test_a_positional_forward_call_is_reported_with_file_and_line(planted_run: tuple[int, dict, str]) -> None:
    _, checks, markdown = planted_run
    arity = checks["HC004"]
    assert arity["status"] == "fail", arity["message"]
    calls = arity["details"]["calls"]
    assert any(c["file"] == "planted/model.py" and c["line"] == 45 and c["code"] == "MNT004" for c in calls)
    assert "planted/model.py:45" in markdown


def test_a_constant_head_is_reported_with_its_stage(planted_run: tuple[int, dict, str]) -> None:
    _, checks, markdown = planted_run
    spread, diagnostics = checks["HC021"], checks["HC022"]
    assert spread["status"] == "fail"
    assert all(h["scale_ratio"] == 0.0 for h in spread["details"]["horizons"])
    assert diagnostics["status"] == "fail"
    stage = diagnostics["details"]["collapse_stage"]
    assert stage.startswith("head"), stage  # the encoder still has spread; the head is where it dies
    assert f"`{stage}`" in spread["message"]
    assert f"**Collapse stage**: `{stage}`" in markdown


@needs_fixer
def test_after_the_fixer_the_import_check_passes(planted_tree: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "maintenance.fix", "--apply", str(planted_tree)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    assert "field(default_factory=" in (planted_tree / "planted" / "settings.py").read_text()
    _, report, _ = run_tree(planted_tree, "--only", "imports")
    (imports,) = report["checks"]
    assert imports["status"] == "pass", imports["message"]


@needs_fixer
def test_apply_fixes_lists_every_fix_and_reruns_the_checks(planted_tree: Path) -> None:
    _, report, markdown = run_tree(planted_tree, "--apply-fixes", "--only", "imports")
    applied = report["maintenance_fixes"]["applied"]
    mnt002 = [f for f in applied if f["code"] == "MNT002"]
    assert mnt002 and mnt002[0]["path"] == "planted/settings.py" and mnt002[0]["line"] == 15
    assert "FeatureParams()" in mnt002[0]["before"] and "default_factory" in mnt002[0]["after"]
    assert report["checks"][0]["status"] == "pass"
    # without --verify no test proves anything: the fixes are listed as applied, unverified
    assert "#### Applied without --verify" in markdown
    assert "- `MNT002` `planted/settings.py:15`" in markdown
