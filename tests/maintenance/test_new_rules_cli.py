"""MNT006, MNT007 and MNT008 through the fixer's CLI: findings, `--apply`, noqa, `[tool.maintenance]`, SARIF."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from maintenance.fix import main, run_fix

MakeRepo = Callable[..., Path]

FILES = {
    "losses.py": (
        "import torch\n\n\ndef rank_loss(s, y):\n    if s.numel() < 2:\n        return torch.tensor(0.0)\n"
        "    return (s - y).abs().mean()\n"
    ),
    "cli.py": (
        "import argparse\n\n\ndef build():\n    parser = argparse.ArgumentParser()\n"
        "    parser.add_argument('--rescale', action='store_true', default=True)\n    return parser\n"
    ),
    "data.py": (
        "import threading\n\nfrom torch.utils.data import Dataset\n\n\nclass Panel(Dataset):\n"
        "    def __init__(self):\n        self._lock = threading.Lock()\n"
    ),
}


def _codes(report) -> list[tuple[str, str, bool]]:
    return sorted((f.path, f.code, f.fixed) for f in report.findings)


def test_each_rule_is_found_and_only_mnt007_is_fixed(make_repo: MakeRepo) -> None:
    root = make_repo(FILES)
    dry = run_fix([root], use_ruff=False, use_cache=False)
    assert _codes(dry) == [
        ("cli.py", "MNT007", False),
        ("data.py", "MNT008", False),
        ("losses.py", "MNT006", False),
    ]
    assert [f.fixable for f in sorted(dry.findings, key=lambda f: f.path)] == [True, False, False]
    applied = run_fix([root], apply=True, use_ruff=False, use_cache=False)
    assert _codes(applied) == [
        ("cli.py", "MNT007", True),
        ("data.py", "MNT008", False),
        ("losses.py", "MNT006", False),
    ]
    assert "action=argparse.BooleanOptionalAction, default=True" in (root / "cli.py").read_text()
    again = run_fix([root], use_ruff=False, use_cache=False)
    assert _codes(again) == [("data.py", "MNT008", False), ("losses.py", "MNT006", False)]


def test_noqa_and_config_ignore(make_repo: MakeRepo) -> None:
    files = dict(FILES)
    files["data.py"] = files["data.py"].replace(
        "threading.Lock()\n", "threading.Lock()  # noqa: MNT008 (only ever used with num_workers=0)\n"
    )
    root = make_repo(files, ignore=["MNT006"])
    report = run_fix([root], use_ruff=False, use_cache=False)
    assert _codes(report) == [("cli.py", "MNT007", False)]
    assert run_fix([root], use_ruff=False, use_cache=False, select=["MNT008"]).findings == []


def test_sarif_names_the_new_rules(make_repo: MakeRepo, capsys) -> None:
    root = make_repo(FILES)
    assert main([str(root), "--no-ruff", "--no-cache", "--format", "sarif"]) == 1
    driver = json.loads(capsys.readouterr().out)["runs"][0]["tool"]["driver"]
    rules = {rule["id"]: rule["name"] for rule in driver["rules"]}
    assert rules == {
        "MNT006": "LossWithoutGraph",
        "MNT007": "StuckBooleanFlag",
        "MNT008": "UnpicklableDataset",
    }
