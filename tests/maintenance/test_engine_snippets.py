"""Expression and argument fixes are rendered, and applied, from their own statement, not a whole-file libcst
parse: the same findings, `before` and `after` text and fixed text as the whole-file rendering (on these
fixtures and on real files of installed packages), and no whole-file parse."""

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


def _whole_file(monkeypatch: pytest.MonkeyPatch, source: str) -> engine.FileResult:
    with monkeypatch.context() as patch:
        patch.setattr(engine, "_render_by_statement", lambda *args, **kwargs: None)
        return engine.analyze_text(source, "nested.py", ["MNT003"])


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
    with monkeypatch.context() as patch:
        patch.setattr(engine, "_render_by_statement", lambda *args, **kwargs: None)
        slow = engine.analyze_text(NESTED, "nested.py", ["MNT003"], unsafe_fixes=True)
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
        fast = engine.analyze_text(source, path.name, ["MNT002", "MNT003"], unsafe_fixes=unsafe)
        with monkeypatch.context() as patch:
            patch.setattr(engine, "_render_by_statement", lambda *args, **kwargs: None)
            slow = engine.analyze_text(source, path.name, ["MNT002", "MNT003"], unsafe_fixes=unsafe)
        assert fast.findings == slow.findings, path
        assert fast.new_source == slow.new_source, path
        fixed += fast.new_source is not None
        rendered += sum(bool(f.after) for f in fast.findings)
    # the comparison covered rendered fixes, and written ones when unsafe fixes are switched on
    assert rendered >= 5
    assert fixed >= 3 or not unsafe


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
