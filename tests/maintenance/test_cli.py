"""The fixer end to end: CLI exit codes and formats, dry run, atomic apply, MNT000, noqa, config, cache, ruff."""

from __future__ import annotations

import codecs
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from maintenance import fix as fix_module
from maintenance.codemods import REGISTRY
from maintenance.findings import FixReport
from maintenance.fix import main, run_fix
from maintenance.fix import workers as fix_workers

DEAD = "def f():\n    return 1\n    print('dead')\n"
DEAD_FIXED = "def f():\n    return 1\n"
SEED_MNT004 = """\
import torch
from torch import nn


class SomeModule(nn.Module):
    def forward(self, batch):
        return batch["features"]


def export(feats, static, edge_index, edge_attr):
    model = SomeModule()
    return model(feats, static, edge_index, edge_attr)
"""
MakeRepo = Callable[..., Path]


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, list[dict]]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def test_dry_run_prints_diff_writes_nothing_and_exits_1(make_repo: MakeRepo, capsys) -> None:
    root = make_repo({"pkg/a.py": DEAD})
    before = (root / "pkg/a.py").read_bytes()
    assert main([str(root), "--no-ruff", "--no-cache"]) == 1
    out = capsys.readouterr().out
    assert "-    print('dead')" in out
    assert "MNT001" in out
    assert (root / "pkg/a.py").read_bytes() == before
    assert not (root / ".maintenance_cache").exists()


def test_apply_fixes_then_clean_run_exits_0(make_repo: MakeRepo, capsys) -> None:
    root = make_repo({"a.py": DEAD, "clean.py": "x = 1\n"})
    clean_stat = (root / "clean.py").stat()
    assert main([str(root), "--no-ruff", "--apply"]) == 0
    assert (root / "a.py").read_text() == DEAD_FIXED
    assert (root / "clean.py").stat().st_mtime_ns == clean_stat.st_mtime_ns  # never rewritten
    capsys.readouterr()
    assert main([str(root), "--no-ruff"]) == 0
    assert "no findings" in capsys.readouterr().out


def test_apply_keeps_bom_crlf_and_mode(make_repo: MakeRepo) -> None:
    source = codecs.BOM_UTF8 + DEAD.replace("\n", "\r\n").encode() + "s = 'é'\r\n".encode()
    root = make_repo({"win.py": source})
    path = root / "win.py"
    path.chmod(0o755)
    run_fix([path], apply=True, use_ruff=False)
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    assert data.count(b"\r\n") == data.count(b"\n") == 3
    assert data == codecs.BOM_UTF8 + (DEAD_FIXED + "s = 'é'\n").replace("\n", "\r\n").encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_apply_keeps_a_latin1_coding_cookie(make_repo: MakeRepo) -> None:
    text = "# -*- coding: latin-1 -*-\nNAME = 'café'\n" + DEAD
    root = make_repo({"old.py": text.encode("latin-1")})
    run_fix([root], apply=True, use_ruff=False)
    assert (root / "old.py").read_bytes() == (
        "# -*- coding: latin-1 -*-\nNAME = 'café'\n" + DEAD_FIXED
    ).encode("latin-1")


def test_broken_file_is_mnt000_untouched_and_the_run_goes_on(make_repo: MakeRepo, capsys) -> None:
    broken = "def f(:\n    pass\n"
    root = make_repo({"broken.py": broken, "good.py": DEAD})
    code, findings = _json(capsys, [str(root), "--no-ruff", "--apply", "--format", "json"])
    assert code == 1
    by_code = {f["code"]: f for f in findings}
    assert by_code["MNT000"]["path"] == "broken.py"
    assert "untouched" in by_code["MNT000"]["message"]
    assert by_code["MNT001"]["fixed"] is True
    assert (root / "broken.py").read_text() == broken
    assert (root / "good.py").read_text() == DEAD_FIXED


def test_noqa_suppresses_only_the_named_code(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "a.py": "def f():\n    return 1\n    print('dead')  # noqa: MNT001\n",
            "b.py": "def f():\n    return 1\n    print('dead')  # noqa: MNT003\n",
            "c.py": "def f():\n    return 1\n    print('dead')  # noqa\n",
        }
    )
    report = run_fix([root], use_ruff=False, use_cache=False)
    assert [(f.path, f.code) for f in report.findings] == [("b.py", "MNT001")]


def test_config_select_ignore_exclude_and_per_file_ignores(make_repo: MakeRepo) -> None:
    load = "import torch\n\nsd = torch.load(p)\n"
    root = make_repo(
        {"a.py": DEAD + load, "skipme/b.py": DEAD, "tests/test_c.py": DEAD + load},
        ignore=["MNT003"],
        exclude=["skipme"],
        per_file='{ "tests/*" = ["MNT001"] }',
    )
    report = run_fix([root], use_ruff=False, use_cache=False)
    assert sorted((f.path, f.code) for f in report.findings) == [("a.py", "MNT001")]
    # `ignore` adds to the configured ignores, so MNT003 stays ignored even when selected
    assert run_fix([root], use_ruff=False, use_cache=False, select=["MNT003"]).findings == []
    assert run_fix([root], use_ruff=False, use_cache=False, ignore=["MNT001"]).findings == []


def test_per_file_ignore_also_blocks_the_fix(make_repo: MakeRepo) -> None:
    root = make_repo({"tests/test_c.py": DEAD}, per_file='{ "tests/*" = ["MNT001"] }')
    report = run_fix([root], apply=True, use_ruff=False, use_cache=False)
    assert report.changed_files == []
    assert (root / "tests/test_c.py").read_text() == DEAD


def test_json_sarif_and_github_formats(make_repo: MakeRepo, capsys) -> None:
    root = make_repo({"a.py": DEAD})
    code, findings = _json(capsys, [str(root), "--no-ruff", "--format", "json"])
    assert code == 1
    assert set(findings[0]) >= {"path", "line", "column", "code", "message", "fixable", "fixed"}
    assert (findings[0]["path"], findings[0]["line"], findings[0]["code"]) == ("a.py", 3, "MNT001")
    assert findings[0]["before"] == "    print('dead')" and findings[0]["after"] == ""

    assert main([str(root), "--no-ruff", "--format", "sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    assert sarif["version"] == "2.1.0"
    result = sarif["runs"][0]["results"][0]
    assert result["ruleId"] == "MNT001"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert sarif["runs"][0]["tool"]["driver"]["rules"][0]["id"] == "MNT001"

    assert main([str(root), "--no-ruff", "--format", "github"]) == 1
    assert capsys.readouterr().out.startswith("::error file=a.py,line=3,col=5,title=MNT001::")


def test_usage_errors_exit_2(make_repo: MakeRepo, capsys) -> None:
    root = make_repo({"a.py": "x = 1\n"})
    assert main([str(root), "--format", "xml"]) == 2
    assert main([str(root / "missing.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    (root / "pyproject.toml").write_text("[tool.maintenance]\nselcet = ['MNT']\n")
    assert main([str(root), "--no-ruff"]) == 2
    assert "unknown keys" in capsys.readouterr().err


def test_help_and_list_document_everything(capsys) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--apply", "--select", "--ignore", "--unsafe-fixes", "--format", "--no-ruff", "--list"):
        assert flag in text
    assert main(["--list"]) == 0
    listing = capsys.readouterr().out
    for codemod in REGISTRY:
        assert f"# {codemod.CODE} {codemod.NAME}" in listing
    assert listing.count("## Why is this bad?") == len(REGISTRY)


def test_unsafe_fix_needs_the_flag(make_repo: MakeRepo) -> None:
    parked = "main()\n'''\np = sub.add_parser('x')\np.add_argument('--y')\np.set_defaults(f=g)\n'''\n"
    root = make_repo({"a.py": parked})
    safe = run_fix([root], apply=True, use_ruff=False)
    assert [(f.code, f.fixable, f.fixed) for f in safe.findings] == [("MNT005", False, False)]
    assert (root / "a.py").read_text() == parked
    unsafe = run_fix([root], apply=True, use_ruff=False, unsafe_fixes=True)
    assert [(f.code, f.fixed) for f in unsafe.findings] == [("MNT005", True)]
    assert (root / "a.py").read_text() == "main()\n"


def test_seed_report_forward_call_is_mnt004(make_repo: MakeRepo) -> None:
    root = make_repo({"export.py": SEED_MNT004})
    report = run_fix([root], use_ruff=False)
    assert [(f.code, f.line) for f in report.findings] == [("MNT004", 12)]
    message = report.findings[0].message
    assert "4 positional arguments" in message and "SomeModule.forward(batch)" in message
    assert report.findings[0].fixable is False


def test_warm_run_uses_the_cache(make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo({"a.py": DEAD, "b.py": "x = 1\n"})
    cold = run_fix([root], use_ruff=False)
    assert (root / ".maintenance_cache" / ".gitignore").read_text().strip().endswith("*")
    calls: list[str] = []
    original = fix_workers.analyze_task
    monkeypatch.setattr(fix_workers, "analyze_task", lambda task: calls.append(task[0]) or original(task))
    warm = run_fix([root], use_ruff=False)
    assert calls == []
    assert warm.findings == cold.findings and warm.diff == cold.diff
    (root / "b.py").write_text("y = 2\n")
    run_fix([root], use_ruff=False)
    assert [Path(c).name for c in calls] == ["b.py"]


def test_parallel_and_serial_runs_agree(make_repo: MakeRepo) -> None:
    files = {
        f"m{i}.py": (DEAD if i % 3 == 0 else f"x = {i}\n") for i in range(fix_module.PARALLEL_MIN_FILES + 6)
    }
    root = make_repo(files)
    serial = run_fix([root], use_ruff=False, jobs=1, use_cache=False)
    parallel = run_fix([root], use_ruff=False, jobs=2, use_cache=False)
    assert serial.findings == parallel.findings
    assert len(serial.findings) == sum(1 for content in files.values() if content == DEAD)


def test_ruff_findings_are_merged_and_fixed(make_repo: MakeRepo) -> None:
    root = make_repo({"a.py": "import os\n" + DEAD}, select=["MNT", "ruff"])
    dry = run_fix([root], use_cache=False)
    assert isinstance(dry, FixReport)
    assert dry.counts_before == {"F401": 1, "MNT001": 1}
    assert dry.counts_after == {}
    assert "-import os" in dry.diff and "-    print('dead')" in dry.diff
    applied = run_fix([root], apply=True, use_cache=False)
    assert all(f.fixed for f in applied.findings)
    assert applied.counts_after == {}
    assert (root / "a.py").read_text() == DEAD_FIXED
    assert applied.changed_files == [root.resolve() / "a.py"]


def test_module_entry_point_runs_as_a_subprocess(make_repo: MakeRepo) -> None:
    root = make_repo({"a.py": DEAD})
    repo_root = Path(fix_module.__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    proc = subprocess.run(
        [sys.executable, "-m", "maintenance.fix", str(root), "--no-ruff", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)[0]["code"] == "MNT001"


@pytest.mark.parametrize("dead", [True, False], ids=["findings", "clean"])
def test_the_command_line_ends_with_its_whole_output_and_status(make_repo: MakeRepo, dead: bool) -> None:
    # `python -m maintenance.fix` ends the process without freeing the run's objects (`exit_fast`): its
    # output must still arrive whole through a pipe (here past the pipe's 64 KiB buffer, from a run with
    # worker processes) and its exit status must be the run's
    files = {f"m{i:03d}.py": DEAD if dead else DEAD_FIXED for i in range(300)}
    root = make_repo(files)
    repo_root = Path(fix_module.__file__).resolve().parents[2]
    # (stdout buffered as it is by default: PYTHONUNBUFFERED would hide a missing flush)
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}, "PYTHONPATH": str(repo_root)}
    proc = subprocess.run(
        [sys.executable, "-m", "maintenance.fix", str(root), "--no-ruff", "--no-cache", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == (1 if dead else 0), proc.stderr
    findings = json.loads(proc.stdout)
    assert len(findings) == (300 if dead else 0)
    if dead:
        assert len(proc.stdout) > 65536


def test_module_entry_point_in_a_tree_that_shadows_the_standard_library(make_repo: MakeRepo) -> None:
    # optuna's package root holds its own logging.py: `python -m maintenance.fix .` run there must not import it
    shadow = "raise RuntimeError('the checked tree was imported')\n"
    root = make_repo({"a.py": DEAD, "logging.py": shadow, "ast.py": shadow})
    repo_root = Path(fix_module.__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    proc = subprocess.run(
        [sys.executable, "-m", "maintenance.fix", ".", "--no-ruff", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert [f["code"] for f in json.loads(proc.stdout)] == ["MNT001"]


def test_ignored_ruff_code_is_not_fixed_by_ruff(make_repo: MakeRepo) -> None:
    root = make_repo({"a.py": "import os\n"}, select=["MNT", "ruff"])
    report = run_fix([root], apply=True, use_cache=False, ignore=["F401"])
    assert report.findings == []
    assert (root / "a.py").read_text() == "import os\n"


DEAD_WITH_FINDING_INSIDE = """\
import sys


def main():
    sys.exit(0)


main()
print(f"unreachable")
"""


def test_every_count_agrees_after_apply(make_repo: MakeRepo, capsys) -> None:
    """Summary line, table, JSON and a rerun give the same number; findings in deleted code are fixed."""
    root = make_repo(
        {"a.py": DEAD_WITH_FINDING_INSIDE, "b.py": "import os\nimport json\nX = f'x'\n"},
        select=["MNT", "ruff"],
    )
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text().replace('["F"]', '["F", "E"]'))
    code, findings = _json(capsys, [str(root), "--apply", "--no-cache", "--format", "json"])
    left_json = [f for f in findings if not f["fixed"]]
    inside = [f for f in findings if f["path"] == "a.py" and f["code"] == "F541"]
    assert inside and all(f["fixed"] for f in inside)  # F541 sat in the code MNT001 deleted
    rerun = run_fix([root], use_cache=False)
    assert len(rerun.findings) == len(left_json)
    assert sum(rerun.counts_before.values()) == len(left_json)
    assert code == (1 if left_json else 0)
    (root / "a.py").write_text(DEAD_WITH_FINDING_INSIDE)
    assert main([str(root), "--apply", "--no-cache"]) in (0, 1)
    out = capsys.readouterr().out
    table_total = int(out.split("│ total")[1].split("│")[2].strip())
    summary = int(out.rsplit("; ", 1)[1].split()[0])
    assert table_total == summary == len(run_fix([root], use_cache=False).findings)


def test_verbose_logs_each_phase_with_time_and_counts(make_repo: MakeRepo) -> None:
    root = make_repo({"a.py": DEAD, "b.py": "x = 1\n"})
    proc = subprocess.run(
        [sys.executable, "-m", "maintenance.fix", str(root), "--no-ruff", "--no-cache", "--apply", "-v"],
        capture_output=True,
        text=True,
        check=False,
    )
    err = proc.stderr
    for phase in ("discover", "analyse (MNT codemods)", "write fixes", "re-check after the fixes"):
        line = next(line for line in err.splitlines() if f"{phase}:" in line)
        assert " s" in line and "(" in line, line


def test_unreadable_files_are_one_mnt000_each_and_the_run_goes_on(make_repo: MakeRepo, capsys) -> None:
    root = make_repo({"ok.py": DEAD, "bad.py": b"# -*- coding: utf-8 -*-\nx = '\xff'\n"})
    (root / "loop.py").symlink_to("loop.py")
    (root / "dangling.py").symlink_to("missing_target.py")
    code, findings = _json(capsys, [str(root), "--no-ruff", "--no-cache", "--apply", "--format", "json"])
    assert code == 1
    mnt000 = {f["path"]: f["message"] for f in findings if f["code"] == "MNT000"}
    assert set(mnt000) == {"bad.py", "loop.py", "dangling.py"}
    assert "cannot decode" in mnt000["bad.py"] and "syntax error" not in mnt000["bad.py"]
    assert "UTF-8" in mnt000["bad.py"]
    assert "symlink loop" in mnt000["loop.py"]
    assert "dangling symlink to missing_target.py" in mnt000["dangling.py"]
    assert (root / "ok.py").read_text() == DEAD_FIXED  # the run went on


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_permission_is_mnt000(make_repo: MakeRepo) -> None:
    root = make_repo({"secret.py": "x = 1\n"})
    (root / "secret.py").chmod(0)
    try:
        report = run_fix([root], use_ruff=False, use_cache=False)
    finally:
        (root / "secret.py").chmod(0o644)
    assert [f.code for f in report.findings] == ["MNT000"]
    assert "permissions" in report.findings[0].message
