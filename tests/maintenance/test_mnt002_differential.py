"""MNT002 went ast-first; its libcst predecessor is the oracle: same findings, messages and fixed bytes.

`mnt002_libcst_oracle.py` holds the codemod as it was (a libcst visitor over `QualifiedNameProvider`).
Both run through the same engine (`analyze_text`, MNT002 only) on generated modules that combine the
shapes where qualified names are subtle (import aliases, `import dataclasses as dc`, `field` shadowed in
the module or the class, builtins shadowed before or after the class, imports inside functions, nested
and function-local dataclasses, `ClassVar` by alias and in a string, parenthesized defaults, local
unhashable classes defined before or after use) and, in the slow test, on every `.py` file with
a `@...dataclass` decorator line in the installed torch and numpy and in the standard library.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path
from unittest import mock

import libcst as cst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import maintenance.engine as engine
from maintenance.codemods.mutable_dataclass_default import MutableDataclassDefault
from maintenance.index import parse

sys.path.insert(0, str(Path(__file__).parent))
from mnt002_libcst_oracle import LibcstMutableDataclassDefault

DECORATED = re.compile(r"^[ \t]*@[\w.]*dataclass", re.MULTILINE)
HEADERS = [
    "from dataclasses import dataclass\n",
    "from dataclasses import dataclass, field\n",
    "import dataclasses\n",
    "import dataclasses as dc\ndataclass = dc.dataclass\n",
    "from dataclasses import dataclass as dc, field as f\ndataclass = dc\n",
    "from dataclasses import field, dataclass\nimport dataclasses\n",
    "from pydantic.dataclasses import dataclass\n",
    "from . import dataclasses\nfrom .dataclasses import dataclass\n",
]
EXTRAS = [
    "",
    "from typing import ClassVar\n",
    "import typing as t\nClassVar = t.ClassVar\n",
    "from collections import defaultdict, OrderedDict\n",
    "import collections\n",
    "field = 3\n",
    "list = tuple\n",
    "def field():\n    return 1\n",
    "class Key:\n    def __eq__(self, other):\n        return True\n",
    "@dataclass(frozen=True)\nclass Frozen:\n    a: int = 0\n",
    "@dataclass\nclass Loose:\n    a: int = 0\n",
]
DECORATORS = ["@dataclass", "@dataclass()", "@dataclass(eq=False)", "@dataclasses.dataclass", "@dc.dataclass"]
FIELDS = [
    "xs: list = []",
    "xs: list[int] = [1, 2]",
    "d: dict = {}",
    "d: dict = {**{}}",
    "s: set = {1}",
    "q: list = ([ 1 ])",
    "q: list = (\n        []\n    )",
    "c: list = [i for i in range(3)]",
    "n: list = list()",
    "n: dict = dict(a=1)",
    "dd: dict = defaultdict(list)",
    "od: dict = collections.OrderedDict()",
    "k: Key = Key()",
    "fr: Frozen = Frozen()",
    "lo: Loose = Loose(a=1)",
    "r: ClassVar[list] = []",
    "r2: 'ClassVar[list]' = []",
    "r3: t.ClassVar[list] = []",
    "f1: list = field(default=[])",
    "f2: list = f(default=[], repr=False)",
    "f3: list = dataclasses.field(default=([]))",
    "f4: list = field(default_factory=list)",
    "field: int = 0",
    "ok: tuple = (1, 2)",
    "b: bytearray = bytearray()",
]
PLACES = ["module", "function", "nested", "function_import"]


def _module(header: str, extras: list[str], decorator: str, fields: list[str], place: str, tail: str) -> str:
    body = "".join(f"    {f}\n" for f in fields)
    cls = f"{decorator}\nclass C:\n{body}"
    if place == "function":
        cls = "def make():\n" + "".join(f"    {line}\n" if line else "\n" for line in cls.splitlines())
    elif place == "nested":
        cls = "class Outer:\n" + "".join(f"    {line}\n" if line else "\n" for line in cls.splitlines())
    elif place == "function_import":
        cls = "def make():\n    from dataclasses import dataclass, field\n" + "".join(
            f"    {line}\n" for line in cls.splitlines()
        )
    return header + "".join(extras) + "\n\n" + cls + "\n\n" + tail


def _run(codemod: type, source: str) -> tuple[list[tuple], str | None]:
    with mock.patch.object(engine, "REGISTRY", (codemod,)):
        result = engine.analyze_text(source, "pkg/mod.py", ["MNT002"])
    findings = [(f.line, f.column, f.code, f.message, f.fixable, f.before, f.after) for f in result.findings]
    return findings, result.new_source


def _assert_same(source: str) -> list[tuple]:
    try:
        parse(source)
        cst.parse_module(source)
    except (SyntaxError, cst.ParserSyntaxError):
        # libcst cannot parse some valid Python (`(x): int = 0`): the oracle reports MNT000 on it, the
        # ast-first codemod only when it has a fix to write there
        return []
    old = _run(LibcstMutableDataclassDefault, source)
    new = _run(MutableDataclassDefault, source)
    assert new == old, source
    return old[0]


@settings(max_examples=100, deadline=None)
@given(
    header=st.sampled_from(HEADERS),
    extras=st.lists(st.sampled_from(EXTRAS), max_size=3, unique=True),
    decorator=st.sampled_from(DECORATORS),
    fields=st.lists(st.sampled_from(FIELDS), min_size=1, max_size=5, unique=True),
    place=st.sampled_from(PLACES),
    tail=st.sampled_from(["", "field = None\n", "from dataclasses import field\n", "list = dict\n"]),
)
def test_generated_modules_match_the_libcst_oracle(
    header: str, extras: list[str], decorator: str, fields: list[str], place: str, tail: str
) -> None:
    _assert_same(_module(header, extras, decorator, fields, place, tail))


def test_the_generated_shapes_produce_findings_and_fixes() -> None:
    """The differential test is not vacuous: the shapes it combines are found and fixed."""
    source = _module(HEADERS[1], [EXTRAS[3], EXTRAS[8]], "@dataclass", FIELDS[:14], "module", "")
    found = _assert_same(source)
    assert len(found) >= 10
    assert all(f[4] for f in found)  # fixable


def _real_files() -> list[Path]:
    roots = [Path(__import__(name).__file__).parent for name in ("torch", "numpy")]
    roots.append(Path(warnings.__file__).parent)
    return [p for root in roots for p in sorted(root.rglob("*.py")) if DECORATED.search(_read(p))]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


@pytest.mark.slow
def test_real_files_match_the_libcst_oracle() -> None:
    files = _real_files()
    assert len(files) > 200
    for path in files:
        _assert_same(_read(path))
