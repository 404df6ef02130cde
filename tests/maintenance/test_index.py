"""The project index: module names, classes, functions, import bindings, resolution and its cache."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest

from maintenance.cache import content_hash
from maintenance.index import (
    ClassInfo,
    FunctionInfo,
    IndexCache,
    ModuleInfo,
    ProjectIndex,
    build_index,
    module_names,
)

PROJECT = {
    "src/pkg/__init__.py": "from .features.params import FeatureParams as FeatureParams\n__all__ = ['FeatureParams']\n",
    "src/pkg/features/__init__.py": "",
    "src/pkg/features/params.py": (
        "from dataclasses import dataclass\n\n\n@dataclass\nclass FeatureParams:\n    n: int = 1\n\n\n"
        "@dataclass(frozen=True)\nclass Frozen:\n    n: int = 1\n\n\n"
        "class Point:\n    def __eq__(self, other):\n        return True\n"
    ),
    "src/pkg/utils.py": "import sys\n\n\ndef die(msg):\n    print(msg)\n    sys.exit(1)\n\n\ndef maybe(msg):\n    if msg:\n        sys.exit(1)\n",
    "src/pkg/cli.py": (
        "from .utils import die\nfrom pkg import FeatureParams\n\ntry:\n    from pkg.model import Net\n"
        "except ImportError:\n    Net = None\n\nif TYPE_CHECKING:\n    from pkg.model import Base\n\n\n"
        "def fail():\n    die('x')\n"
    ),
    "src/pkg/model.py": (
        "import torch.nn as nn\n\n\nclass Base(nn.Module):\n    def forward(self, batch):\n        return batch\n\n\n"
        "class Net(Base):\n    def __init__(self, cfg):\n        super().__init__()\n        self.head = Base()\n"
    ),
    "scripts/train.py": "import sys\n\nsys.path.insert(0, 'src')\nfrom pkg.model import Net\nimport pkg.utils as u\n",
    "scripts/patcher.py": "import pkg.utils\n\npkg.utils.maybe = print\n",
    "scripts/standalone.py": "import json\n\n\ndef load(p):\n    return json.load(p)\n",
}


def _index(root: Path, files: dict[str, str], cache: IndexCache | None = None) -> ProjectIndex:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    sources = [(root / n, n, t, content_hash(t.encode())) for n, t in files.items()]
    return build_index(sources, root, cache)


@pytest.fixture
def index(tmp_path: Path) -> ProjectIndex:
    return _index(tmp_path, PROJECT)


def test_module_names_follow_packages_src_layout_and_scripts(tmp_path: Path) -> None:
    _index(tmp_path, PROJECT)
    assert module_names(tmp_path / "src/pkg/cli.py", tmp_path) == ["pkg.cli", "src.pkg.cli"]
    assert module_names(tmp_path / "src/pkg/__init__.py", tmp_path) == ["pkg", "src.pkg"]
    assert module_names(tmp_path / "scripts/train.py", tmp_path) == ["train", "scripts.train"]


def test_classes_carry_dataclass_flags_bases_and_methods(index: ProjectIndex) -> None:
    params = index.modules["pkg.features.params"]
    assert params.classes["FeatureParams"].dataclass and not params.classes["FeatureParams"].frozen
    assert index.unhashable(params.classes["FeatureParams"])
    assert not index.unhashable(params.classes["Frozen"])
    assert index.unhashable(params.classes["Point"])  # __eq__ without __hash__
    net = index.modules["pkg.model"].classes["Net"]
    assert net.bases == ["pkg.model.Base"]
    assert index.is_nn_module(net)
    forward = index.method(net, "forward")
    assert forward is not None and forward.signature.positional == ("batch",)
    assert net.instance_attributes == {"head": "pkg.model.Base"}


def test_imports_resolve_through_relative_reexports_try_and_type_checking(index: ProjectIndex) -> None:
    cli = index.modules["pkg.cli"]
    assert [b.target for b in cli.imports["die"]] == ["pkg.utils.die"]
    assert cli.imports["die"][0].level == 1
    assert cli.imports["Base"][0].type_checking and cli.imports["Base"][0].conditional
    # re-exported through pkg/__init__.py
    resolved = index.resolve("pkg.cli", "FeatureParams")
    assert isinstance(resolved, ClassInfo) and resolved.qualname == "pkg.features.params.FeatureParams"
    # try/except ImportError with a None fallback resolves for classes, not for never-returning inference
    assert isinstance(index.resolve("pkg.cli", "Net"), ClassInfo)
    assert index.resolve("pkg.cli", "Net", optional=False) is None
    # `import a.b as c` and scripts importing by the package name
    assert isinstance(index.resolve("train", "u"), ModuleInfo)
    assert isinstance(index.resolve_in("train", "u.die"), FunctionInfo)
    assert isinstance(index.resolve("scripts.train", "Net"), ClassInfo)
    assert index.modules["pkg"].all_names == ["FeatureParams"]


def test_never_returning_inference_crosses_modules_and_respects_rebinding(index: ProjectIndex) -> None:
    assert index.never_returns("pkg.utils.die")
    assert index.modules["pkg.cli"].functions["fail"].never_returns  # calls die() from another module
    assert not index.never_returns("pkg.utils.maybe")  # one path returns (and it is patched elsewhere)
    assert ("pkg.utils", "maybe") in index.modules["scripts.patcher"].external_rebinds


def test_a_patched_function_is_not_never_returning(tmp_path: Path) -> None:
    files = dict(PROJECT)
    files["tests/test_cli.py"] = (
        "from unittest import mock\n\n\nwith mock.patch('pkg.utils.die'):\n    pass\n"
    )
    index = _index(tmp_path, files)
    assert not index.never_returns("pkg.utils.die")
    assert not index.modules["pkg.cli"].functions["fail"].never_returns


@pytest.mark.parametrize(
    "utils",
    [
        "import sys\n\n\ndef die():\n    sys.exit(1)\n\n\ndef install():\n    global die\n    die = print\n",
        "import sys\n\n\ndef die():\n    sys.exit(1)\n\n\ndie = print\n",
        "import sys\n\n\ndef die():\n    sys.exit(1)\n\n\ndel die\n",
        "import sys, functools\n\n\n@functools.cache\ndef die():\n    sys.exit(1)\n",
        "import sys\n\n\ndef die():\n    sys.exit(1)\n\n\nglobals()['die'] = print\n",
        "import sys\n\n\ndef die():\n    sys.exit(1)\n\n\nsetattr(sys.modules[__name__], 'die', print)\n",
        "import sys\n\n\ndef die():\n    sys.exit(1)\n\n\ndef __getattr__(name):\n    return print\n",
        "import sys\n\n\ndef die():\n    sys.exit(1)\n\n\nfrom os import die\n",
        "import sys\n\ntry:\n    pass\nfinally:\n    def die():\n        sys.exit(1)\n",
    ],
)
def test_rebindable_functions_never_count_as_never_returning(tmp_path: Path, utils: str) -> None:
    index = _index(tmp_path, {"pkg/__init__.py": "", "pkg/utils.py": utils})
    assert not index.never_returns("pkg.utils.die")


def test_dependents_are_what_a_change_invalidates(index: ProjectIndex) -> None:
    assert "pkg.utils" in index.dependencies(index.modules["pkg.cli"])
    assert "pkg.features.params" in index.dependencies(index.modules["pkg.cli"])  # through the re-export
    assert index.dependents("pkg.utils") >= {"pkg.cli", "train", "patcher"}
    assert "standalone" not in index.dependents("pkg.utils")
    # importing pkg.model runs pkg/__init__.py, which re-exports pkg.features.params
    assert index.dependencies(index.modules["pkg.model"]) == {"pkg", "pkg.features", "pkg.features.params"}


def test_context_digest_changes_when_a_dependency_changes(tmp_path: Path) -> None:
    before = _index(tmp_path, PROJECT)
    digest = before.context_digest(before.modules["pkg.cli"])
    changed = dict(PROJECT)
    changed["src/pkg/features/params.py"] = PROJECT["src/pkg/features/params.py"].replace(
        "@dataclass\nclass FeatureParams", "@dataclass(frozen=True)\nclass FeatureParams"
    )
    after = _index(tmp_path, changed)
    assert after.context_digest(after.modules["pkg.cli"]) != digest
    assert after.context_digest(after.modules["pkg.utils"]) != before.context_digest(
        before.modules["pkg.utils"]
    )
    assert after.context_digest(after.modules["standalone"]) == before.context_digest(
        before.modules["standalone"]
    )


def test_the_cache_reuses_unchanged_summaries(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    first = _index(tmp_path / "p", PROJECT, IndexCache(cache_dir, "v"))
    cache = IndexCache(cache_dir, "v")
    assert len([k for k in cache.entries if not k.startswith("cross:")]) == len(PROJECT)
    assert any(k.startswith("cross:") for k in cache.entries)  # cross-module inference results
    with mock.patch("maintenance.index.build.parse", side_effect=AssertionError("re-parsed")):
        second = _index(tmp_path / "p", PROJECT, cache)  # nothing is parsed on a warm run
    assert not cache.dirty  # every summary came from the cache
    for name, info in first.modules.items():
        assert second.modules[name].to_dict() == info.to_dict()
    assert second.never_returns("pkg.utils.die")
    assert second.modules["pkg.cli"].functions["fail"].never_returns
