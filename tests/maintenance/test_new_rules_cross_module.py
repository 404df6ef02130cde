"""MNT006 / MNT007 / MNT008 across modules: a fixture project whose classes and parsers live in other files.

The project index (`maintenance.index.build_index`) resolves `from .base import BaseDataset` to the class
in `data/base.py`, and the rules follow it: a Dataset through a project base is found, a project base with
`__getstate__` clears its subclasses, a project base that is not an `nn.Module` clears a `*Loss` class.
"""

from __future__ import annotations

import ast
from pathlib import Path

from maintenance.cache import content_hash
from maintenance.codemods.class_hierarchy import ProjectLookup
from maintenance.codemods.loss_without_graph import find_graphless_returns
from maintenance.codemods.unpicklable_dataset import find_unpicklable_datasets
from maintenance.engine import analyze_text
from maintenance.index import ProjectIndex, build_index

PROJECT = {
    "proj/__init__.py": "",
    "proj/data/__init__.py": "from .base import BaseDataset as BaseDataset\n",
    "proj/data/base.py": (
        "from torch.utils.data import Dataset\n\n\nclass BaseDataset(Dataset):\n    pass\n\n\n"
        "class PickleSafeBase(Dataset):\n    def __getstate__(self):\n        return {}\n"
    ),
    "proj/data/panel.py": (
        "import threading\n\nfrom proj.data import BaseDataset\nfrom .base import PickleSafeBase\n"
        "from proj.utils import Helper\n\n\n"
        "class Panel(BaseDataset):\n    def __init__(self):\n        self._lock = threading.Lock()\n\n\n"
        "class SafePanel(PickleSafeBase):\n    def __init__(self):\n        self._lock = threading.Lock()\n\n\n"
        "class NotADataset(Helper):\n    def __init__(self):\n        self._lock = threading.Lock()\n"
    ),
    "proj/utils.py": "class Helper:\n    pass\n",
    "proj/losses/__init__.py": "",
    "proj/losses/base.py": (
        "from torch import nn\n\n\nclass BaseLoss(nn.Module):\n    pass\n\n\nclass NotAModule:\n    pass\n"
    ),
    "proj/losses/rank.py": (
        "import torch\n\nfrom .base import BaseLoss, NotAModule\n\n\n"
        "class RankLoss(BaseLoss):\n    def forward(self, s, y):\n        if s.numel() < 2:\n"
        "            return torch.tensor(0.0, device=s.device)\n        return (s - y).abs().mean()\n\n\n"
        "class ScoreLoss(NotAModule):\n    def forward(self, s, y):\n        if s.numel() < 2:\n"
        "            return torch.tensor(0.0)\n        return (s - y).abs().mean()\n"
    ),
    "proj/cli/__init__.py": "",
    "proj/cli/common.py": (
        "def add_common(parser):\n    parser.add_argument('--amp', action='store_true', default=True)\n"
    ),
    "proj/cli/main.py": (
        "import argparse\n\nfrom proj.cli.common import add_common\n\n\ndef main():\n"
        "    parser = argparse.ArgumentParser()\n    add_common(parser)\n    return parser.parse_args()\n"
    ),
}


def _project(root: Path) -> ProjectIndex:
    for name, text in PROJECT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return build_index([(root / n, n, t, content_hash(t.encode())) for n, t in PROJECT.items()], root)


def _lookup(index: ProjectIndex, path: str) -> ProjectLookup:
    info = index.module_for_path(path)
    assert info is not None
    return ProjectLookup(index, info.name)


def test_a_dataset_through_a_project_base_in_another_module(tmp_path: Path) -> None:
    index = _project(tmp_path)
    tree = ast.parse(PROJECT["proj/data/panel.py"])
    findings = find_unpicklable_datasets(tree, _lookup(index, "proj/data/panel.py"))
    assert [message.split("`")[1] for _node, message in findings] == ["Panel"]
    # without the index the base is unknown: nothing is claimed (no false positive either)
    assert find_unpicklable_datasets(tree) == []


def test_a_loss_through_a_project_base_and_a_base_that_is_not_a_module(tmp_path: Path) -> None:
    index = _project(tmp_path)
    tree = ast.parse(PROJECT["proj/losses/rank.py"])
    with_index = find_graphless_returns(tree, _lookup(index, "proj/losses/rank.py"))
    assert [message.split("`")[1] for _node, message in with_index] == ["RankLoss.forward"]
    # alone, both project bases get the benefit of the doubt; the index tells NotAModule apart
    alone = find_graphless_returns(tree)
    assert sorted(message.split("`")[1] for _node, message in alone) == [
        "RankLoss.forward",
        "ScoreLoss.forward",
    ]


def test_a_flag_added_to_a_parser_created_in_another_module() -> None:
    result = analyze_text(PROJECT["proj/cli/common.py"], "proj/cli/common.py", ["MNT007"], unsafe_fixes=True)
    assert [f.code for f in result.findings] == ["MNT007"]
    assert result.new_source is not None and "argparse.BooleanOptionalAction" in result.new_source
    assert result.new_source.startswith("import argparse\n")


def test_a_loss_in_a_metrics_module_only_evaluates() -> None:
    source = PROJECT["proj/losses/rank.py"].replace(
        "from .base import BaseLoss, NotAModule", "from torch import nn"
    )
    source = source.replace("(BaseLoss)", "(nn.Module)")  # ScoreLoss's base is now undefined: not a loss
    assert [f.code for f in analyze_text(source, "proj/losses/rank.py", ["MNT006"]).findings] == ["MNT006"]
    assert analyze_text(source, "torchmetrics/functional/ranking.py", ["MNT006"]).findings == []
    assert analyze_text(source, "proj/metrics.py", ["MNT006"]).findings == []


def test_run_fix_follows_project_bases_across_modules(make_repo) -> None:
    from maintenance.fix import run_fix

    files = {name: text for name, text in PROJECT.items() if not name.startswith("proj/cli/")}
    root = make_repo(files, select=["MNT006", "MNT008"])
    report = run_fix([root], use_ruff=False, use_cache=False)
    found = sorted((f.path, f.code, f.message.split("`")[1]) for f in report.findings)
    assert found == [
        ("proj/data/panel.py", "MNT008", "Panel"),
        ("proj/losses/rank.py", "MNT006", "RankLoss.forward"),
    ]
