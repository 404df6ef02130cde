"""Fixture *projects* shaped like an ML training repository: findings that need the whole project.

`src/` layout with a package, a model package, a scripts folder with a train script of thousands of
lines, and the cross-module shapes of issue #9: a dataclass default defined in another module (MNT002), a
model whose `forward(self, batch)` is called with 4 positional arguments through every resolution path
(MNT004), a never-returning `die()` imported from another module (MNT001). Each finding is reported (and
fixed where a fix exists) and each VALID twin is left alone.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from maintenance.fix import run_fix

INIT = ""
PARAMS = """\
from dataclasses import dataclass


@dataclass
class FeatureParams:
    window: int = 20


@dataclass(frozen=True)
class FrozenParams:
    window: int = 20
"""
TRAINER = """\
from dataclasses import dataclass

from mlrepo.features.params import FeatureParams, FrozenParams
from thirdparty import Opaque


@dataclass
class TrainerConfig:
    features: FeatureParams = FeatureParams()
    frozen: FrozenParams = FrozenParams()
    opaque: Opaque = Opaque()
"""
MODEL = """\
import torch
from torch import nn


class ATFT_GAT_FAN(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config

    def forward(self, batch):
        return batch


class Other(nn.Module):
    def forward(self, a, b, c, d):
        return a
"""
MODELS_INIT = "from .architectures.atft_gat_fan import ATFT_GAT_FAN, Other\n"
UTILS = """\
import sys


def die(message):
    print(message, file=sys.stderr)
    sys.exit(2)


def warn(message):
    if message:
        sys.exit(2)
    print(message)
"""
CLI = """\
from .utils import die, warn


def main(args):
    if not args:
        die("no arguments")
        print("dead: after die")
    if args == ["warn"]:
        warn("maybe")
        print("live: warn can return")
    return 0
"""
SCRIPT_HEAD = """\
import torch
from torch.nn.parallel import DistributedDataParallel

try:
    from mlrepo.models import ATFT_GAT_FAN, Other
except ImportError:
    ATFT_GAT_FAN = None
    Other = None


class Exporter:
    def __init__(self, config):
        self.model = ATFT_GAT_FAN(config)

    def export(self, a, b, c, d):
        return self.model(a, b, c, d)


def by_constructor(config, a, b, c, d):
    model = ATFT_GAT_FAN(config)
    return model(a, b, c, d)


def by_to(config, device, a, b, c, d):
    model = ATFT_GAT_FAN(config).to(device)
    model.eval()
    return model(a, b, c, d)


def by_compile(config, a, b, c, d):
    model = torch.compile(ATFT_GAT_FAN(config).cuda())
    return model(a, b, c, d)


def by_ddp(config, a, b, c, d):
    model = DistributedDataParallel(ATFT_GAT_FAN(config))
    return model(a, b, c, d)


def by_annotation(model: ATFT_GAT_FAN, a, b, c, d):
    return model(a, b, c, d)


def every_path(config, flag, a, b, c, d):
    if flag:
        model = ATFT_GAT_FAN(config)
    else:
        model = ATFT_GAT_FAN(config).float()
    return model(a, b, c, d)


def valid_correct_call(config, batch):
    model = ATFT_GAT_FAN(config)
    return model(batch)


def two_classes_one_fails(config, flag, a, b, c, d):
    if flag:
        model = ATFT_GAT_FAN(config)
    else:
        model = Other()
    return model(a, b, c, d)
"""
N_FILLER = 500  # ~3,100 lines: a train script of thousands of lines


def _script() -> str:
    filler = "".join(
        f"\n\ndef step_{i}(batch, lr={i}):\n    loss = batch * lr\n    loss = loss + {i}\n    return loss\n"
        for i in range(N_FILLER)
    )
    return SCRIPT_HEAD + filler


def _project() -> dict[str, str]:
    return {
        "src/mlrepo/__init__.py": INIT,
        "src/mlrepo/features/__init__.py": INIT,
        "src/mlrepo/features/params.py": PARAMS,
        "src/mlrepo/training/__init__.py": INIT,
        "src/mlrepo/training/trainer.py": TRAINER,
        "src/mlrepo/models/__init__.py": MODELS_INIT,
        "src/mlrepo/models/architectures/__init__.py": INIT,
        "src/mlrepo/models/architectures/atft_gat_fan.py": MODEL,
        "src/mlrepo/utils.py": UTILS,
        "src/mlrepo/cli.py": CLI,
        "scripts/train_atft.py": _script(),
    }


@pytest.fixture
def project(make_repo: Callable[..., Path]) -> Path:
    return make_repo(_project(), select=["MNT"])


def _by_file(root: Path, **kwargs: object) -> dict[str, list]:
    report = run_fix([root], root=root, use_ruff=False, use_cache=False, jobs=1, **kwargs)  # type: ignore[arg-type]
    out: dict[str, list] = {}
    for finding in report.findings:
        out.setdefault(finding.path, []).append(finding)
    return out


def test_the_script_is_thousands_of_lines(project: Path) -> None:
    assert len((project / "scripts/train_atft.py").read_text().splitlines()) > 3000


def test_mnt002_sees_a_dataclass_defined_in_another_module(project: Path) -> None:
    found = _by_file(project)["src/mlrepo/training/trainer.py"]
    assert [(f.code, f.line) for f in found] == [("MNT002", 9)]
    assert "FeatureParams()" in found[0].message and found[0].fixable


def test_mnt002_fix_makes_the_module_importable(project: Path) -> None:
    (project / "src/thirdparty.py").write_text("class Opaque:\n    pass\n")
    command = [sys.executable, "-c", "import mlrepo.training.trainer"]
    before = subprocess.run(command, cwd=project / "src", capture_output=True, text=True)
    assert "ValueError" in before.stderr and "default_factory" in before.stderr
    run_fix([project], root=project, use_ruff=False, use_cache=False, jobs=1, apply=True)
    text = (project / "src/mlrepo/training/trainer.py").read_text()
    assert "features: FeatureParams = field(default_factory=FeatureParams)" in text
    assert "frozen: FrozenParams = FrozenParams()" in text  # the VALID twin: frozen is hashable
    assert "opaque: Opaque = Opaque()" in text  # a class the index cannot see is left alone
    after = subprocess.run(command, cwd=project / "src", capture_output=True, text=True)
    assert after.returncode == 0, after.stderr


def test_mnt004_follows_every_resolution_path_across_modules(project: Path) -> None:
    found = [f for f in _by_file(project)["scripts/train_atft.py"] if f.code == "MNT004"]
    lines = (project / "scripts/train_atft.py").read_text().splitlines()
    functions = {}
    for finding in found:
        enclosing = next(
            line for line in reversed(lines[: finding.line]) if line.startswith(("def ", "class "))
        )
        functions[enclosing.split("(")[0].split()[1].rstrip(":")] = finding.message
    assert set(functions) == {
        "Exporter",
        "by_constructor",
        "by_to",
        "by_compile",
        "by_ddp",
        "by_annotation",
        "every_path",
        "two_classes_one_fails",
    }, functions
    assert functions["two_classes_one_fails"].endswith(
        "when `model` is ATFT_GAT_FAN (bound at line 59); binds when it is Other (line 61)"
    )
    for message in functions.values():
        assert "passes 4 positional arguments but `ATFT_GAT_FAN.forward(batch)` takes 1" in message
        assert not any(f.fixable for f in found)  # report only


def test_mnt001_uses_a_never_returning_function_of_another_module(project: Path) -> None:
    found = _by_file(project)["src/mlrepo/cli.py"]
    assert [(f.code, f.line) for f in found] == [("MNT001", 7)]
    assert "`die()` (line 6), which never returns" in found[0].message
    run_fix([project], root=project, use_ruff=False, use_cache=False, jobs=1, apply=True)
    text = (project / "src/mlrepo/cli.py").read_text()
    assert "dead: after die" not in text
    assert "live: warn can return" in text  # the VALID twin: warn() can return


def test_a_patched_die_is_not_trusted(project: Path) -> None:
    (project / "tests").mkdir()
    (project / "tests/test_cli.py").write_text(
        "from unittest import mock\n\nfrom mlrepo import cli\n\n\ndef test_main():\n"
        "    with mock.patch('mlrepo.utils.die'):\n        cli.main([])\n"
    )
    found = _by_file(project).get("src/mlrepo/cli.py", [])
    assert [f.code for f in found] == []


def test_a_change_in_one_module_invalidates_its_dependents_cached_results(project: Path) -> None:
    first = run_fix([project], root=project, use_ruff=False, jobs=1)
    assert any(f.path == "src/mlrepo/training/trainer.py" and f.code == "MNT002" for f in first.findings)
    params = project / "src/mlrepo/features/params.py"
    params.write_text(
        PARAMS.replace("@dataclass\nclass FeatureParams", "@dataclass(frozen=True)\nclass FeatureParams")
    )
    second = run_fix([project], root=project, use_ruff=False, jobs=1)  # trainer.py itself is unchanged
    assert not any(f.path == "src/mlrepo/training/trainer.py" for f in second.findings)
    utils = project / "src/mlrepo/utils.py"
    utils.write_text(UTILS.replace("    sys.exit(2)\n\n\ndef warn", "    return 2\n\n\ndef warn"))
    third = run_fix([project], root=project, use_ruff=False, jobs=1)
    assert not any(f.path == "src/mlrepo/cli.py" for f in third.findings)
