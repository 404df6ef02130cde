"""Expression and argument fixes are rendered, and applied, from their own statement, not a whole-file libcst
parse, and fixes given as text insertions (MNT003's keyword) without libcst at all: the same findings,
`before` and `after` text and fixed text as the whole-file rendering (on these fixtures, on call layouts
chosen to break the insertions, and on real files of installed packages)."""

from __future__ import annotations

import sysconfig
import textwrap
from pathlib import Path

import pytest

from maintenance import engine

# torch.load inside `try/except Exception` is an unsafe MNT003 fix (the handler would hide the new error)
NESTED = textwrap.dedent(
    '''
    import torch


    class Trainer:
        """A long class: the snippet must be the statement, not the class."""

        def restore(self, path):
            try:
                state = torch.load(
                    path,
                    map_location="cpu",
                )  # a comment after the call
            except Exception:
                state = None
            return state

        def other(self):
            return 1


    def top(path):
        try:
            return torch.load(path)
        except Exception:
            return None


    try:
        MODEL = torch.load("m.pt"); FLAG = True
    except Exception:
        MODEL = None
    '''
)


def _rendered(
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    how: str,
    codes: tuple[str, ...] = ("MNT003",),
    *,
    unsafe: bool = False,
    path: str = "nested.py",
) -> engine.FileResult:
    """`analyze_text` with the fixes rendered `how`: "text" (any path), "statement" (no text insertions)
    or "whole" (neither: the whole-file libcst parse)."""
    with monkeypatch.context() as patch:
        if how in ("statement", "whole"):
            patch.setattr(engine, "_render_by_text", lambda *args, **kwargs: None)
        if how == "whole":
            patch.setattr(engine, "_render_by_statement", lambda *args, **kwargs: None)
        return engine.analyze_text(source, path, list(codes), unsafe_fixes=unsafe)


def _whole_file(monkeypatch: pytest.MonkeyPatch, source: str) -> engine.FileResult:
    return _rendered(monkeypatch, source, "whole")


@pytest.mark.parametrize("source", [NESTED, NESTED.replace("    ", "\t")], ids=["spaces", "tabs"])
def test_unapplied_fixes_render_as_the_whole_file_does(monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    fast = engine.analyze_text(source, "nested.py", ["MNT003"])
    slow = _whole_file(monkeypatch, source)
    assert slow.libcst_parsed and not fast.libcst_parsed
    assert len(fast.findings) == 3
    assert all(f.code == "MNT003" and not f.fixable and f.after for f in fast.findings)
    assert fast.findings == slow.findings
    assert fast.new_source is None and slow.new_source is None


def test_applied_fixes_are_spliced_as_the_whole_file_writes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = engine.analyze_text(NESTED, "nested.py", ["MNT003"], unsafe_fixes=True)
    slow = _rendered(monkeypatch, NESTED, "whole", unsafe=True)
    assert slow.libcst_parsed and not fast.libcst_parsed
    assert fast.new_source is not None and fast.new_source.count("weights_only=True") == 3
    assert fast.new_source == slow.new_source
    assert fast.findings == slow.findings and all(f.fixable for f in fast.findings)


@pytest.mark.parametrize(
    "source",
    [
        # two fixes in one statement: the whole file renders them
        "import torch\n\nA, B = torch.load('a'), torch.load('b')\n",
        # a form feed: `str.splitlines` and the tokenizer count lines differently
        "import torch\n\x0c\nA = torch.load('a')\n",
    ],
    ids=["one-statement", "form-feed"],
)
def test_what_does_not_qualify_parses_the_whole_file(source: str) -> None:
    result = engine.analyze_text(source, "odd.py", ["MNT003"], unsafe_fixes=True)
    assert result.libcst_parsed
    assert result.new_source is not None and result.new_source.count("weights_only=True") == 2 - (
        "\x0c" in source
    )


def _real_files() -> list[Path]:
    """Installed packages' files with `torch.load` calls (MNT003 fixes) or dataclasses (MNT002), by path:
    lightning's and torch_geometric's (dependencies of the test environment) hold a dozen such fixes."""
    site = Path(sysconfig.get_paths()["purelib"])
    found: list[Path] = []
    for package in ("lightning", "torch_geometric"):
        for path in sorted((site / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8", errors="replace")
            if "torch.load(" in text or ("@dataclass" in text and "= []" in text):
                found.append(path)
    return found


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_real_files_render_and_fix_as_the_whole_file_does(
    monkeypatch: pytest.MonkeyPatch, unsafe: bool
) -> None:
    files = _real_files()
    assert len(files) >= 20, "the test needs torch's sources installed"
    fixed = rendered = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        codes = ("MNT002", "MNT003")
        fast = _rendered(monkeypatch, source, "text", codes, unsafe=unsafe, path=path.name)
        for how in ("statement", "whole"):
            slow = _rendered(monkeypatch, source, how, codes, unsafe=unsafe, path=path.name)
            assert fast.findings == slow.findings, (path, how)
            assert fast.new_source == slow.new_source, (path, how)
        fixed += fast.new_source is not None
        rendered += sum(bool(f.after) for f in fast.findings)
    # the comparison covered rendered fixes, and written ones when unsafe fixes are switched on
    assert rendered >= 5
    assert fixed >= 3 or not unsafe


# call layouts around the place the keyword goes (each module alone: one fix per file)
LAYOUTS = [
    "torch.load(p)",
    "torch.load()",
    "torch.load( )",
    "torch.load(\n)",
    "torch.load(  # no path yet\n)",
    "torch.load(p, map_location='cpu')",
    "torch.load(p,)",
    "torch.load(p ,)",
    "torch.load(p, )",
    "torch.load(p,  # the path\n)",
    "torch.load(\n    p,\n)",
    "torch.load(\n    p,\n    map_location='cpu',\n)",
    "torch.load(\n    p\n)",
    "torch.load(\n    p\n    )",
    "torch.load(p  # the path\n)",
    "torch.load((p))",
    "torch.load(*args)",
    "torch.load(p, *rest)",
    "torch.load(p, map_location=m, *rest)",
    "torch.load(p, \\\n    map_location=m)",
    "torch.load (p)",
    "(torch.load(p))",
    "( torch.load(p) )",
    "f(torch.load(p))",
    "x = (\n    torch.load(p)\n)",
    "torch.load('ü', map_location='cpu')",
    "y = 'é'; torch.load(p)",
    "torch.load(p, mmap=True) if c else None",
    "torch.load(torch.load(p))",
    "torch.load(x for x in y)",
    "torch.load(p)[0]",
    "torch.load(p).eval()",
    "torch.load(p)  # noqa: MNT003",
    "torch.load(\n    '''a\nb''',\n)",  # `after` from the fix applied alone (the string's lines are not indented)
]


def _in_function(layout: str) -> str:
    """A module whose function body holds `layout` (one of LAYOUTS), after a first statement."""
    return f"import torch\n\n\ndef restore(p, m, c, rest, args, f):\n    x = 1\n{textwrap.indent(layout, '    ')}\n"


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_text_insertions_render_as_libcst_does(
    monkeypatch: pytest.MonkeyPatch, layout: str, unsafe: bool
) -> None:
    source = _in_function(layout)
    results = {
        how: _rendered(monkeypatch, source, how, unsafe=unsafe) for how in ("text", "statement", "whole")
    }
    for how in ("statement", "whole"):
        assert results["text"].findings == results[how].findings, how
        assert results["text"].new_source == results[how].new_source, how
    if "noqa" not in layout:
        assert results["text"].findings, "every layout is a finding"


@pytest.mark.parametrize("how", ["text", "statement", "whole"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_before_and_after_are_the_lines_of_the_file_before_and_after_the_fix(
    monkeypatch: pytest.MonkeyPatch, layout: str, how: str
) -> None:
    # the report shows `before` and `after`: they must be the file's own lines (multi-line and parenthesized
    # calls once lost their block's indentation and doubled their parentheses in `after`)
    source = _in_function(layout)
    result = _rendered(monkeypatch, source, how, unsafe=True)
    fixed = [f for f in result.findings if f.fixable]
    if len(fixed) != 1 or result.new_source is None:
        pytest.skip("one fix per file is compared")
    (finding,) = fixed
    old, new = source.split("\n"), result.new_source.split("\n")
    assert finding.before is not None and finding.after is not None
    first = next(i for i, line in enumerate(old) if line == finding.before.split("\n")[0])
    assert old[first : first + finding.before.count("\n") + 1] == finding.before.split("\n")
    assert new[first : first + finding.after.count("\n") + 1] == finding.after.split("\n")
    assert finding.after != finding.before


def test_plain_calls_need_no_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    """The insertions cover the usual layouts (a call on one line): those files are fixed without a libcst
    parse of any kind."""
    calls: list[int] = []
    real = engine._render_by_statement
    monkeypatch.setattr(
        engine, "_render_by_statement", lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs)
    )
    for layout in (
        "torch.load(p)",
        "torch.load(p, map_location='cpu')",
        "torch.load(p,)",
        "f(torch.load(p))",
        "m.load_state_dict(torch.load(p, map_location='cpu'))",
    ):
        source = f"import torch\n\n\ndef restore(p, f, m):\n    return {layout}\n"
        result = engine.analyze_text(source, "plain.py", ["MNT003"], unsafe_fixes=True)
        assert result.new_source is not None and "weights_only=True" in result.new_source, layout
        assert not result.libcst_parsed, layout
    assert not calls


# dead code after a terminator, laid out to break a line deletion (each module alone)
DEAD = [
    "    return 1\n    x = 2\n",
    "    return 1\n\n    # kept for reference\n    x = 2\n    y = 3\n",
    "    return 1  # done\n    x = 2\n",
    "    return 1\n    if x:\n        y = 2\n        # the end of the if\n    z = 3\n",
    "    return 1\n    for i in x:\n        y = i\n        # trailing comment in the loop\n\n",
    "    return 1\n    for i in x:\n        y = i\n    # trailing comment at the function's level\n",
    "    return 1\n    x = 2; y = 3\n",
    "    raise ValueError(\n        'no'\n    )\n    x = 2\n",
    "    return 1\n    x = (\n        2\n    )\n\n\n# a comment before the next function\n",
    "    if x:\n        return 1\n        y = 2\n    else:\n        return 3\n        z = 4\n",
    "    try:\n        return 1\n        y = 2\n    finally:\n        pass\n",
    "    return 1\n    x = 'é'\n",
    "    if x:\n        return 1\n        y = (\n            2\n        )\n\n    # set up the rest\n    z = 3\n",
    "    if x:\n        return 1\n        y = 2\n    # the else branch\n    else:\n        z = 3\n",
    "    if x:\n        raise ValueError\n        y = 2\n        # trailing comment in the dead block\n    z = 3\n",
    "    return 1\n\n    @decorator\n    def g():\n        return 2\n",
    "    return 1\n    @decorator\n    @decorator(\n        1\n    )\n    class C:\n        pass\n    x = 3\n",
    "    return 1\n\n    @decorator\n    def g():\n        return 2\n    # trailing comment after a decorated def\n",
]


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
@pytest.mark.parametrize("body", DEAD)
def test_line_deletions_render_as_libcst_does(
    monkeypatch: pytest.MonkeyPatch, body: str, unsafe: bool
) -> None:
    source = f"def f(x, decorator):\n{body}\n\ndef g():\n    return 0\n"
    text = _rendered(monkeypatch, source, "text", ("MNT001",), unsafe=unsafe)
    whole = _rendered(monkeypatch, source, "whole", ("MNT001",), unsafe=unsafe)
    assert text.findings, "every body has dead code"
    assert text.findings == whole.findings
    assert text.new_source == whole.new_source
    # a comment after the last dead statement at its indentation or deeper: libcst renders it (it may
    # belong to that statement's block); one indented less belongs to what follows
    by_text = "# trailing" not in body
    assert text.libcst_parsed is not by_text and whole.libcst_parsed


# files of installed packages (torch and sympy, in the test environment) with MNT001 fixes
DEAD_CODE_FILES = [
    "torch/_dynamo/utils.py",
    "torch/_dynamo/variables/builtin.py",
    "torch/_dynamo/variables/nn_module.py",
    "torch/_dynamo/variables/torch.py",
    "torch/_inductor/cpp_builder.py",
    "torch/distributed/_functional_collectives.py",
    "torch/distributed/fsdp/_common_utils.py",
    "torch/fx/passes/utils/matcher_utils.py",
    "torch/nested/_internal/sdpa.py",
    "torch/utils/_sympy/reference.py",
    "torch/utils/_sympy/value_ranges.py",
    "sympy/integrals/rde.py",
    "sympy/simplify/trigsimp.py",
    "sympy/matrices/expressions/tests/test_derivatives.py",
]


def test_real_dead_code_deletes_as_the_whole_file_does(monkeypatch: pytest.MonkeyPatch) -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    fixed = 0
    for name in DEAD_CODE_FILES:
        path = site / name
        if not path.exists():
            continue
        source = path.read_text(encoding="utf-8")
        text = _rendered(monkeypatch, source, "text", ("MNT001",), path=path.name)
        whole = _rendered(monkeypatch, source, "whole", ("MNT001",), path=path.name)
        assert text.findings == whole.findings, name
        assert text.new_source == whole.new_source, name
        fixed += text.new_source is not None
    assert fixed >= 5, "the comparison needs torch's and sympy's sources installed"


def test_a_suppressed_finding_stays_suppressed() -> None:
    source = NESTED.replace("return torch.load(path)", "return torch.load(path)  # noqa: MNT003")
    result = engine.analyze_text(source, "nested.py", ["MNT003"])
    assert not result.libcst_parsed
    assert [f.line for f in result.findings] == [
        f.line
        for f in engine.analyze_text(NESTED, "nested.py", ["MNT003"]).findings
        if "return torch.load(path)" not in (f.before or "")
    ]
    assert len(result.findings) == 2
