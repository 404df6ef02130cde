"""In a scratch copy of our tree, renaming ``atft.train.train`` makes ``python -m health_checks`` fail.

Before the probe, the ML checks reached atft by string lookup and a rename turned them into skips: the
run exited 0, "healthy", with the training gone. Now the import is direct and a check that cannot run
fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".nox", ".venv", "_logs", "runs", ".atft_cache")


def scratch_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    for name in ("atft", "health_checks", "configs"):
        shutil.copytree(REPO / name, root / name, ignore=IGNORE)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def run_health(root: Path, *args: str) -> tuple[int, dict[str, dict]]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-m", "health_checks", "--no-progress", "--json-dir", "_logs/hc", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    (path,) = sorted((root / "_logs" / "hc").glob("*.json"))
    return proc.returncode, {c["code"]: c for c in json.loads(path.read_text())["checks"]}


def test_renaming_the_trainer_fails_the_health_check(tmp_path: Path) -> None:
    root = scratch_tree(tmp_path)
    source = root / "atft" / "train.py"
    text = source.read_text()
    assert text.count("\ndef train(") == 1
    source.write_text(text.replace("\ndef train(", "\ndef run_training("))
    code, results = run_health(
        root, "--only", "HC020,HC021,HC022,HC023", "--markdown-dir", str(tmp_path / "md")
    )
    assert code == 2
    assert results["HC020"]["status"] == "fail"
    assert "cannot import name 'train'" in results["HC020"]["message"]
    assert {results[c]["status"] for c in ("HC021", "HC022", "HC023")} == {"skip"}
    assert all("HC020" in results[c]["message"] for c in ("HC021", "HC022", "HC023"))
