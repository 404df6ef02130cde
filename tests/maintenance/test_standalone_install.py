"""The standalone install for real (slow: pip and pre-commit build environments, about a minute each).

A fresh venv gets `maintenance-fix` from its local path and has no torch; `pre-commit try-repo` of this
repository passes on a clean file, fails on one with a finding, and its hook environment has no torch.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLEAN = "import os\nimport sys\n\nprint(os.sep, sys.argv)\n"
DEAD = "def f():\n    return 1\n    print('dead')\n"
NO_TORCH = "import importlib.util as u, sys; sys.exit(u.find_spec('torch') is not None or u.find_spec('atft') is not None)"

pytestmark = pytest.mark.slow


def _run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, env=env)


def test_a_fresh_venv_installs_the_standalone_package_without_torch_and_runs_it(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], tmp_path).returncode == 0
    python = venv / "bin" / "python"
    installed = _run(
        [str(python), "-m", "pip", "install", str(ROOT / "distributions" / "maintenance-fix")], tmp_path
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert _run([str(python), "-c", NO_TORCH], tmp_path).returncode == 0
    listed = _run([str(python), "-m", "pip", "list", "--format", "json"], tmp_path)
    names = {d["name"].lower() for d in json.loads(listed.stdout)}
    assert {"maintenance-fix", "libcst", "ruff", "gitpython", "rich"} <= names
    assert not names & {"torch", "atft", "torch-geometric", "pandas", "scipy", "lightgbm", "matplotlib"}

    script = venv / "bin" / "maintenance-fix"
    helped = _run([str(script), "--help"], tmp_path)
    assert helped.returncode == 0 and "--apply" in helped.stdout
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\n')
    (project / "dead.py").write_text(DEAD)
    dry = _run([str(script), "--no-cache", "--format", "json", "."], project)
    assert dry.returncode == 1, dry.stderr
    assert "MNT001" in {f["code"] for f in json.loads(dry.stdout)}
    assert (project / "dead.py").read_text() == DEAD  # a dry run writes nothing


@pytest.fixture
def pre_commit() -> str:
    exe = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    if exe is None:
        pytest.skip("pre-commit is not installed (it is in the dev dependency group)")
    return exe


def _scratch_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir()
    for args in (["init", "-q"], ["config", "user.email", "t@example.com"], ["config", "user.name", "t"]):
        assert _run(["git", *args], path).returncode == 0
    for name, text in files.items():
        (path / name).write_text(text)
    assert _run(["git", "add", "-A"], path).returncode == 0
    return path


def test_pre_commit_try_repo_passes_on_clean_code_and_fails_on_a_finding(
    tmp_path: Path, pre_commit: str
) -> None:
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "store")}
    command = [pre_commit, "try-repo", str(ROOT), "maintenance-check", "--all-files"]
    clean = _run(command, _scratch_repo(tmp_path / "clean", {"a.py": CLEAN}), env)
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-2000:]
    assert "Passed" in clean.stdout
    dirty = _run(command, _scratch_repo(tmp_path / "dirty", {"a.py": CLEAN, "dead.py": DEAD}), env)
    assert dirty.returncode == 1, dirty.stdout[-3000:] + dirty.stderr[-2000:]
    assert "Failed" in dirty.stdout and "MNT001" in dirty.stdout


def test_the_hook_environment_has_no_torch(tmp_path: Path, pre_commit: str) -> None:
    store = tmp_path / "store"
    env = {**os.environ, "PRE_COMMIT_HOME": str(store)}
    rev = _run(["git", "rev-parse", "HEAD"], ROOT).stdout.strip()
    config = f"repos:\n  - repo: {ROOT}\n    rev: {rev}\n    hooks:\n      - id: maintenance-check\n"
    repo = _scratch_repo(tmp_path / "repo", {"a.py": CLEAN, ".pre-commit-config.yaml": config})
    installed = _run([pre_commit, "install-hooks"], repo, env)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-2000:]
    (env_dir,) = store.glob("repo*/py_env-*")
    assert _run([str(env_dir / "bin" / "python"), "-c", NO_TORCH], repo).returncode == 0
    listed = _run([str(env_dir / "bin" / "python"), "-m", "pip", "list", "--format", "json"], repo)
    assert "maintenance-fix" in {d["name"].lower() for d in json.loads(listed.stdout)}


def test_the_autopilot_runs_from_the_standalone_install_without_torch(tmp_path: Path) -> None:
    """What the action does without health checks: the standalone wheel and the repository's test runner
    in one fresh venv (no torch, no atft), then the loop up to the commit on the branch."""
    from tests.maintenance.scratch import make_scratch

    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], tmp_path).returncode == 0
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", str(ROOT / "distributions" / "maintenance-fix"), "pytest"]
    installed = _run(install, tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert _run([str(python), "-c", NO_TORCH], tmp_path).returncode == 0
    repo = make_scratch(tmp_path / "repo", git=True)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    test = f"{python} -m pytest -q -p no:cacheprovider tests"
    argv = [str(python), "-P", "-m", "maintenance.autopilot", "--root", str(repo), "--test-command", test]
    done = _run([*argv, "--no-pull-request"], tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert (outputs["proven"], outputs["unexercised"], outputs["reverted"]) == ("1", "1", "1")
    log = _run(["git", "log", "--format=%s", "-1", "maintenance/autonomous"], repo).stdout
    assert log.startswith("Autonomous maintenance ") and "health checks off" in log
