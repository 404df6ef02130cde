"""The command line on a tiny tree: report files, --only, --format json, same-day markdown, exit codes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from health_checks.cli import main
from health_checks.report import DIGEST_RE

FAST = "imports,lint,hygiene"


def run(root: Path, *args: str) -> int:
    return main(["--root", str(root), "--no-progress", *args])


def test_reports_are_written_and_a_second_run_updates_the_same_markdown(
    tiny_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tiny_tree, "--only", FAST) == 0
    jsons = sorted((tiny_tree / "_logs" / "health-checks").glob("health-check-*.json"))
    markdowns = sorted((tiny_tree / "reports").glob("*.md"))
    assert len(jsons) == 1 and len(markdowns) == 1
    report = json.loads(jsons[0].read_text())
    assert report["schema_version"] == 1
    assert report["summary"]["total"] == 3 and report["summary"]["exit_code"] == 0
    assert {c["code"] for c in report["checks"]} == {"HC001", "HC002", "HC005"}
    assert all(
        {"code", "name", "title", "status", "message", "details", "duration"} <= set(c)
        for c in report["checks"]
    )
    first_md = markdowns[0].read_text()
    assert "No previous report was found" in first_md

    (tiny_tree / "tiny" / "extra.py").write_text("import os\n")  # F401: a lint finding appears
    time.sleep(1.1)  # JSON reports are named by the second
    assert run(tiny_tree, "--only", FAST) == 1
    jsons = sorted((tiny_tree / "_logs" / "health-checks").glob("health-check-*.json"))
    markdowns = sorted((tiny_tree / "reports").glob("*.md"))
    assert len(markdowns) == 1, "the same day's markdown is rewritten, not duplicated"
    assert len(jsons) == 2, "every run writes its own JSON"
    second_md = markdowns[0].read_text()
    assert second_md != first_md
    assert "Previous report" in second_md and "`HC002` Lint counts by rule" in second_md
    assert "pass → warn (regressed)" in second_md
    assert "| `F401` |" in second_md
    digest = json.loads(DIGEST_RE.search(second_md)[1])
    assert digest["lint"] == {"F401": 1}


def test_previous_report_comes_from_the_markdown_digest_on_a_fresh_clone(tiny_tree: Path) -> None:
    assert run(tiny_tree, "--only", FAST) == 0
    # a fresh clone has no _logs/: remove the JSON, keep the committed markdown
    for path in (tiny_tree / "_logs" / "health-checks").glob("*.json"):
        path.unlink()
    (tiny_tree / "tiny" / "extra.py").write_text("import os\n")
    time.sleep(1.1)
    assert run(tiny_tree, "--only", FAST) == 1
    (json_path,) = (tiny_tree / "_logs" / "health-checks").glob("*.json")
    report = json.loads(json_path.read_text())
    assert report["previous_report"] and report["previous_report"].endswith(".md")
    lint = next(c for c in report["checks"] if c["code"] == "HC002")
    assert lint["details"]["previous_total"] == 0 and lint["details"]["delta"] == 1


def test_format_json_prints_the_report_and_no_report_writes_nothing(
    tiny_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tiny_tree, "--only", "HC001", "--format", "json", "--no-report") == 0
    printed = json.loads(capsys.readouterr().out)
    assert [c["code"] for c in printed["checks"]] == ["HC001"]
    assert printed["checks"][0]["status"] == "pass"
    assert not (tiny_tree / "_logs").exists() and not (tiny_tree / "reports").exists()


def test_unknown_only_and_missing_root_exit_2(tiny_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tiny_tree, "--only", "nope") == 2
    assert "unknown check" in capsys.readouterr().err
    assert main(["--root", str(tiny_tree / "missing"), "--no-progress"]) == 2


def test_json_and_markdown_dirs_can_be_overridden(tiny_tree: Path, tmp_path: Path) -> None:
    out_json, out_md = tmp_path / "j", tmp_path / "m"
    assert run(tiny_tree, "--only", "lint", "--json-dir", str(out_json), "--markdown-dir", str(out_md)) == 0
    assert len(list(out_json.glob("*.json"))) == 1 and len(list(out_md.glob("*.md"))) == 1
    assert not (tiny_tree / "reports").exists()


def test_list_prints_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "HC001" in out and "HC021" in out and "prediction-spread" in out


def test_hygiene_flags_copies_and_uncommitted_changes_and_the_report_lists_commits(tiny_tree: Path) -> None:
    import git

    repo = git.Repo.init(tiny_tree)
    with repo.config_writer() as config:
        config.set_value("user", "name", "tester")
        config.set_value("user", "email", "tester@example.com")
    (tiny_tree / ".gitignore").write_text("_logs/\nreports/\n")
    repo.index.add([".gitignore", "pyproject.toml", "tiny/__init__.py", "tiny/core.py"])
    repo.index.commit("Add the tiny package")
    assert run(tiny_tree, "--only", "hygiene") == 0

    (tiny_tree / "tiny" / "core.py").write_text(
        '"""Core."""\n\n\ndef add(a: int, b: int) -> int:\n    return b + a\n'
    )
    (tiny_tree / "tiny" / "core_fixed.py").write_text('"""A copy."""\n')
    time.sleep(1.1)
    assert run(tiny_tree, "--only", "hygiene") == 1
    (json_path,) = sorted((tiny_tree / "_logs" / "health-checks").glob("*.json"))[-1:]
    report = json.loads(json_path.read_text())
    (hygiene,) = report["checks"]
    assert hygiene["status"] == "warn"
    assert hygiene["details"]["uncommitted"] == ["tiny/core.py"]
    assert hygiene["details"]["copies"] == ["tiny/core_fixed.py"]
    assert report["git"]["dirty"] is True and len(report["git"]["commit"]) == 40
    markdown = next((tiny_tree / "reports").glob("*.md")).read_text()
    assert "tiny/core_fixed.py" in markdown


def test_commits_since_the_previous_report_come_from_git(tiny_tree: Path) -> None:
    import git

    repo = git.Repo.init(tiny_tree)
    with repo.config_writer() as config:
        config.set_value("user", "name", "tester")
        config.set_value("user", "email", "tester@example.com")
    (tiny_tree / ".gitignore").write_text("_logs/\nreports/\n")
    repo.index.add([".gitignore", "pyproject.toml", "tiny/__init__.py", "tiny/core.py"])
    repo.index.commit("First commit")
    assert run(tiny_tree, "--only", "lint") == 0
    (tiny_tree / "tiny" / "more.py").write_text('"""More."""\n\nVALUE = 1\n')
    repo.index.add(["tiny/more.py"])
    repo.index.commit("Add more")
    time.sleep(1.1)
    assert run(tiny_tree, "--only", "lint") == 0
    (json_path,) = sorted((tiny_tree / "_logs" / "health-checks").glob("*.json"))[-1:]
    history = json.loads(json_path.read_text())["commits"]
    assert [c["message"] for c in history["commits"]] == ["Add more"]
    assert history["commits"][0]["files"] == {"tiny/more.py": {"insertions": 3, "deletions": 0}}
    markdown = next((tiny_tree / "reports").glob("*.md")).read_text()
    assert "| Add more | `tiny/more.py` | +3, -0 |" in markdown
    assert "1 commit since the previous report (+3, -0 lines)" in markdown
