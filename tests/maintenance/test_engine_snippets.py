"""Unsafe fixes that will not be applied are rendered from their own statement, not a whole-file libcst
parse: same findings, `before` and `after` text as the whole-file rendering, and no whole-file parse."""

from __future__ import annotations

import textwrap

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
        patch.setattr(engine, "_render_unapplied", lambda *args, **kwargs: None)
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


def test_unsafe_fixes_switched_on_still_parse_the_whole_file() -> None:
    result = engine.analyze_text(NESTED, "nested.py", ["MNT003"], unsafe_fixes=True)
    assert result.libcst_parsed and result.new_source is not None
    assert result.new_source.count("weights_only=True") == 3


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
