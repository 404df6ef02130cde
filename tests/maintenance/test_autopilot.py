"""`python -m maintenance.autopilot` end to end on a scratch repository: a real bare remote stands in for
GitHub's git server and a recording `gh` on PATH for GitHub's API; torch is shadowed so it cannot import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.maintenance.scratch import TEST_COMMAND, make_scratch

REPO_ROOT = Path(__file__).resolve().parents[2]
FAKE_GH = """\
#!{python}
# records each call (with the body file's text) and answers `pr list` from the state file
import json, pathlib, sys
home = pathlib.Path({home!r})
args = sys.argv[1:]
call = {{"args": args}}
if "--body-file" in args:
    call["body"] = pathlib.Path(args[args.index("--body-file") + 1]).read_text()
with open(home / "calls.jsonl", "a") as log:
    log.write(json.dumps(call) + "\\n")
state = home / "prs.json"
if args[:2] == ["pr", "list"]:
    print(state.read_text() if state.exists() else "[]")
elif args[:2] == ["pr", "create"]:
    state.write_text(json.dumps([{{"number": 7, "url": "https://example.invalid/pull/7"}}]))
    print("https://example.invalid/pull/7")
"""


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def github(tmp_path: Path) -> dict[str, Path]:
    """A scratch repository whose origin is a local bare repository, a fake `gh`, and a torch that fails."""
    repo = make_scratch(tmp_path / "repo", git=True)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    _git(repo, "remote", "add", "origin", str(remote))
    _git(repo, "push", "-q", "origin", "main")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH.format(python=sys.executable, home=str(tmp_path)))
    gh.chmod(0o755)
    shadow = tmp_path / "shadow" / "torch"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('torch is not installed here')\n")
    return {"repo": repo, "remote": remote, "bin": bin_dir, "home": tmp_path, "shadow": shadow.parent}


def _autopilot(github: dict[str, Path], *extra: str, torch: bool = False) -> subprocess.CompletedProcess[str]:
    path = [str(REPO_ROOT)] if torch else [str(github["shadow"]), str(REPO_ROOT)]
    env = {
        **os.environ,
        "PATH": f"{github['bin']}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join(path),
        "GITHUB_OUTPUT": str(github["home"] / "outputs.txt"),
    }
    argv = [sys.executable, "-m", "maintenance.autopilot", "--root", str(github["repo"])]
    return subprocess.run(
        [*argv, "--test-command", TEST_COMMAND, *extra], env=env, capture_output=True, text=True, check=False
    )


def _calls(github: dict[str, Path]) -> list[dict]:
    return [json.loads(line) for line in (github["home"] / "calls.jsonl").read_text().splitlines()]


def test_the_loop_opens_one_pull_request_of_the_kept_fixes(github: dict[str, Path]) -> None:
    proc = _autopilot(github)
    assert proc.returncode == 0, proc.stderr
    date = datetime.now(UTC).date().isoformat()
    outputs = dict(line.split("=", 1) for line in (github["home"] / "outputs.txt").read_text().splitlines())
    assert (outputs["proven"], outputs["unexercised"], outputs["reverted"]) == ("1", "1", "1")
    assert outputs["health-exit"] == "" and outputs["pull-request"] == "https://example.invalid/pull/7"

    # one commit on the branch, on top of main, with the kept fixes and the report
    remote = github["remote"]
    assert _git(remote, "rev-list", "--count", "main..maintenance/autonomous") == "1"
    files = _git(remote, "diff", "--name-only", "main", "maintenance/autonomous").splitlines()
    assert files == [f"docs/improvements/{date}.md", "pkg/core.py"]
    core = _git(remote, "show", "maintenance/autonomous:pkg/core.py")
    assert 'return "core"' in core and "never reached" not in core

    # the report puts each fix in its group, with the tests behind it
    report = _git(remote, "show", f"maintenance/autonomous:docs/improvements/{date}.md")
    proven = report.index("#### ✅ Proven (1)")
    unexercised = report.index("#### ⚠️ Unexercised (1)")
    reverted = report.index("#### ❌ Reverted (1)")
    assert proven < report.index("`F541` `pkg/core.py:2`") < unexercised
    assert report.index("run by `test_pkg.test_name`") < unexercised
    assert unexercised < report.index("`MNT001` `pkg/core.py:7`") < reverted
    assert report.index("`F401` `pkg/paths.py`: broke tests.test_pkg::test_os_through_paths") > reverted

    calls = _calls(github)
    create = next(c for c in calls if c["args"][:2] == ["pr", "create"])
    args = create["args"]
    assert args[args.index("--base") + 1] == "main"
    assert args[args.index("--head") + 1] == "maintenance/autonomous"
    assert "health checks off" in args[args.index("--title") + 1]
    assert create["body"].rstrip() == report.rstrip()
    labelled = [c["args"] for c in calls if "--add-label" in c["args"]]
    assert labelled == [
        ["pr", "edit", "https://example.invalid/pull/7", "--add-label", "maintenance,automated"]
    ]


def test_a_second_run_updates_the_same_pull_request(github: dict[str, Path]) -> None:
    assert _autopilot(github).returncode == 0
    _git(github["repo"], "checkout", "-q", "main")
    proc = _autopilot(github, "--drop-unexercised")
    assert proc.returncode == 0, proc.stderr
    calls = _calls(github)
    assert sum(c["args"][:2] == ["pr", "create"] for c in calls) == 1
    edit = [c for c in calls if c["args"][:2] == ["pr", "edit"] and "--body-file" in c["args"]]
    assert len(edit) == 1 and edit[0]["args"][2] == "7"
    assert "#### ⏸️ Withheld (1)" in edit[0]["body"]
    core = _git(github["remote"], "show", "maintenance/autonomous:pkg/core.py")
    assert 'return "core"' in core and "never reached" in core  # the unexercised fix stayed out


def test_a_dirty_tree_is_refused(github: dict[str, Path]) -> None:
    (github["repo"] / "pkg" / "core.py").write_text("x = 1\n")
    proc = _autopilot(github)
    assert proc.returncode == 2
    assert "error: the tree has uncommitted changes" in proc.stderr
    assert not (github["home"] / "calls.jsonl").exists()


TINYREPO = REPO_ROOT / "tests" / "health_checks" / "fixtures" / "tinyrepo"


def test_the_loop_with_health_checks_on_a_tiny_torch_program(github: dict[str, Path]) -> None:
    repo = github["repo"]
    shutil.copytree(TINYREPO / "tinyrepo", repo / "tinyrepo")
    with open(repo / "pyproject.toml", "a", encoding="utf-8") as handle:
        handle.write('\n[tool.health_checks]\nprobe = "tinyrepo.probe:probe"\nimport_preload = ["torch"]\n')
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "a torch program")
    _git(repo, "push", "-q", "origin", "main")
    proc = _autopilot(
        github,
        "--paths",
        "pkg tests",
        "--health-checks",
        "--health-args",
        "--only HC001,HC040,HC041,HC042,HC051",
        torch=True,
    )
    assert proc.returncode == 0, proc.stderr
    outputs = dict(line.split("=", 1) for line in (github["home"] / "outputs.txt").read_text().splitlines())
    health_exit = outputs["health-exit"]
    assert health_exit in {"0", "1"}
    date = datetime.now(UTC).date().isoformat()
    report = _git(github["remote"], "show", f"maintenance/autonomous:docs/improvements/{date}.md")
    assert report.startswith(f"# Autonomous Improvements - {date}")
    fixes = report.split("## Fixes Since the Previous Report")[1].split("## Issues Identified")[0]
    assert "#### ✅ Proven (1)" in fixes and "run by `test_pkg.test_name`" in fixes
    assert "#### ⚠️ Unexercised (1)" in fixes and "`F401` `pkg/paths.py`: broke" in fixes
    assert "`HC040`" in report and "`HC051`" in report
    files = _git(github["remote"], "diff", "--name-only", "main", "maintenance/autonomous").splitlines()
    assert files == [f"docs/improvements/{date}.md", "pkg/core.py"]  # tinyrepo/ was not in --paths
    create = next(c for c in _calls(github) if c["args"][:2] == ["pr", "create"])
    assert f"health exit {health_exit}" in create["args"][create["args"].index("--title") + 1]
