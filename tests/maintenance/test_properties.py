"""Hypothesis properties of the engine: never crashes, output parses, a second run changes nothing, and a
program without findings is left unchanged. Programs come from hypothesmith (valid Python from the grammar
and from libcst nodes) and from our own strategy, which plants the patterns the codemods rewrite."""

from __future__ import annotations

import ast

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maintenance.engine import analyze_text

FAST = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
THOROUGH = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))

SIMPLE = [
    "x = 1",
    "y = [1, 2]",
    "print(x)",
    "return x",
    "raise ValueError(x)",
    "sys.exit(1)",
    "os._exit(0)",
    "stop()",
    "main()",
    "sd = torch.load(p)",
    "sd = torch.load(p, weights_only=False)",
    "model(a, b, c)",
    "f(1)",
    "pass",
    "'''\na = 1\nb = 2\nc = a + b\n'''",
    "# a = 1\n# b = 2\n# c = a + b",
]
LOOP_ONLY = ["break", "continue"]
HEADER = """\
import os
import sys
from dataclasses import dataclass

import torch
from torch import nn


def stop():
    sys.exit(2)


def f(a, b):
    return a


class M(nn.Module):
    def forward(self, batch):
        return batch


model = M()


@dataclass
class C:
    xs: list = []
    n: int = 0
"""


def _indent(text: str, level: int) -> str:
    pad = "    " * level
    return "\n".join(pad + line if line else line for line in text.splitlines())


@st.composite
def blocks(draw: st.DrawFn, level: int = 1, in_loop: bool = False, depth: int = 0) -> str:
    """A block of statements at `level`, with nested if/else, loops, try and functions."""
    pool = SIMPLE + (LOOP_ONLY if in_loop else [])
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["simple"] * 4 + (["if", "loop", "try"] if depth < 2 else [])))
        if kind == "simple":
            lines.append(_indent(draw(st.sampled_from(pool)), level))
        elif kind == "if":
            lines.append(_indent("if x:", level))
            lines.append(draw(blocks(level + 1, in_loop, depth + 1)))
            if draw(st.booleans()):
                lines.append(_indent("else:", level))
                lines.append(draw(blocks(level + 1, in_loop, depth + 1)))
        elif kind == "loop":
            lines.append(
                _indent(draw(st.sampled_from(["while True:", "for i in range(3):", "while x:"])), level)
            )
            lines.append(draw(blocks(level + 1, True, depth + 1)))
        else:
            lines.append(_indent("try:", level))
            lines.append(draw(blocks(level + 1, in_loop, depth + 1)))
            lines.append(_indent(draw(st.sampled_from(["except Exception:", "finally:"])), level))
            lines.append(draw(blocks(level + 1, in_loop, depth + 1)))
    return "\n".join(lines)


@st.composite
def programs(draw: st.DrawFn) -> str:
    """A module: the shared header, then functions whose bodies mix every pattern."""
    parts = [HEADER]
    for i in range(draw(st.integers(1, 3))):
        parts.append(f"\n\ndef g{i}(x, p, a, b, c):\n" + draw(blocks()) + "\n")
    if draw(st.booleans()):
        parts.append("\n\nif __name__ == '__main__':\n    main()\n    print('after')\n")
    return "".join(parts)


def _check(source: str, unsafe_fixes: bool) -> None:
    result = analyze_text(source, "generated.py", unsafe_fixes=unsafe_fixes)  # never raises
    if result.new_source is None:
        # unchanged output: only report-only findings, or none at all
        assert all(not f.fixable for f in result.findings)
        return
    assert result.findings, "the source changed without a finding"
    ast.parse(result.new_source)  # the output always parses
    again = analyze_text(result.new_source, "generated.py", unsafe_fixes=unsafe_fixes)
    assert again.new_source is None, "a second run changed the output again"
    assert not any(f.fixable for f in again.findings)


def _check_grammar_source(source: str) -> None:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return  # the grammar strategy can produce code CPython rejects later; MNT000 covers it
    result = analyze_text(source, "generated.py", unsafe_fixes=True)
    if not result.findings:
        assert result.new_source is None  # no findings: unchanged
    elif result.new_source is not None:
        ast.parse(result.new_source)
        assert analyze_text(result.new_source, "generated.py", unsafe_fixes=True).new_source is None


@FAST
@given(programs(), st.booleans())
def test_planted_programs(source: str, unsafe_fixes: bool) -> None:
    _check(source, unsafe_fixes)


@FAST
@given(hypothesmith.from_grammar())
def test_grammar_programs(source: str) -> None:
    _check_grammar_source(source)


@FAST
@given(hypothesmith.from_node())
def test_libcst_node_programs(source: str) -> None:
    _check_grammar_source(source)


@pytest.mark.slow
@THOROUGH
@given(programs(), st.booleans())
def test_planted_programs_thorough(source: str, unsafe_fixes: bool) -> None:
    _check(source, unsafe_fixes)


@pytest.mark.slow
@THOROUGH
@given(st.one_of(hypothesmith.from_grammar(), hypothesmith.from_node()))
def test_generated_programs_thorough(source: str) -> None:
    _check_grammar_source(source)
