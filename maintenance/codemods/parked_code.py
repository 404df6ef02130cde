"""MNT005 ParkedCode: code parked in a string literal statement or in a block of commented-out lines.

Detection works on the `ast` tree and the raw text (comment lines inside multi-line strings excluded), so a
dry run never needs libcst for this rule; libcst is only used to delete the code with `--unsafe-fixes`.
"""

from __future__ import annotations

import ast
import bisect
import re
import textwrap
from dataclasses import dataclass
from typing import ClassVar

from maintenance.astutil import parse, per_tree, tree_nodes
from maintenance.codemods.base import (
    AstFinding,
    FileContext,
    Invalid,
    LibcstRule,
    NodeRef,
    cst,
)
from maintenance.source import OTHER_LINE_BREAKS

MIN_LINES = 3
MAX_PROSE_HEADER = 2  # prose lines allowed above a commented-out block (`# Removed callback - ...`)
_COMMENT_RUN = re.compile(r"(?m)(?:^[ \t]*#[^\n]*\n){" + str(MIN_LINES) + "}")
# a block of at least MIN_LINES consecutive lines that are comments after whitespace (`str.strip`'s)
_COMMENT_BLOCK = re.compile(r"(?m)^[^\S\n]*#[^\n]*(?:\n[^\S\n]*#[^\n]*){" + str(MIN_LINES - 1) + ",}")
_DIRECTIVE = re.compile(
    r"noqa|(?<![\w.])type:|pragma|pylint:|fmt:|isort:|mypy:|pyright:|-\*-|^!|copyright|license", re.IGNORECASE
)
# the words one of which `_DIRECTIVE` needs in an ASCII text, lower-cased (`type:` also needs its look-behind)
_DIRECTIVE_WORDS = (
    "noqa",
    "pragma",
    "pylint:",
    "fmt:",
    "isort:",
    "mypy:",
    "pyright:",
    "-*-",
    "copyright",
    "license",
)


def _has_directive(text: str) -> bool:
    """`_DIRECTIVE.search(text)`, decided by substring tests where they can (an ASCII text matches the
    case-insensitive pattern exactly where its lower-cased text holds a word of it): 9x faster on comments."""
    if not text.isascii():
        return _DIRECTIVE.search(text) is not None
    low = text.lower()
    if text.startswith("!") or any(word in low for word in _DIRECTIVE_WORDS):
        return True
    return "type:" in low and _DIRECTIVE.search(text) is not None


_TRIVIAL = (ast.Name, ast.Constant, ast.Attribute)
_PROMPTS = (">>> ", "$ ")  # a REPL or shell session: the lines after a prompt are its output
# a header that announces an example, an explanation or how something was made (a bare "example" may
# name a test case: "Cookbook example 105:")
_EXAMPLE_HEADER = re.compile(
    r"\b(?:for example|for instance|e\.g\.|sample output|output of|looks like|as follows|equivalent to"
    r"|(?:computed|generated|produced|obtained|created) (?:with|via|using|by|from)|reference values?"
    r"|can be checked)\b|^\s*examples?:?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
# code that only documents where numbers come from: an mpmath computation, or R that parses as Python
_RECIPE = re.compile(
    r"\bmpmath\b|\bmp\.(?:dps|prec|mpf|mpc)\b|^\s*(?:library|require)\(|\boptions\(digits|(?<![\w.])c\(\s*-?[\d.]",
    re.MULTILINE,
)
# the literal text each alternative of `_RECIPE` needs (a text holding none of them cannot match)
_RECIPE_NEEDS = ("mpmath", "mp.", "library(", "require(", "options(digits", "c(")


def _is_recipe(text: str) -> bool:
    """`_RECIPE.search(text)`, searched only in a text that holds a literal part of some alternative."""
    return any(part in text for part in _RECIPE_NEEDS) and _RECIPE.search(text) is not None


STRING_MESSAGE = "{n} lines of code parked in a string literal: delete them (git keeps history) or restore them as code that runs"
COMMENT_MESSAGE = (
    "{n} commented-out lines of code: delete them (git keeps history) or restore them as code that runs"
)


def looks_like_code(text: str, min_lines: int = MIN_LINES, *, entries: bool = False) -> bool:
    """Whether `text` parses as at least `min_lines` lines of Python with a real statement in them.

    Prose rarely parses; prose that does (`Note: read this`, a lone word) is made of trivial statements:
    bare names/constants or annotations without a value, which do not count. `entries`: the text sits
    inside an open bracket of the code around it, so an expression (`# "RD",`) is an entry put away.
    """
    body = textwrap.dedent(text).strip("\n")
    lines = [line for line in body.splitlines() if line.strip() and not line.strip().startswith("#")]
    if len(lines) < min_lines:
        return False
    try:
        tree = parse(body)
    except (SyntaxError, ValueError):
        return False
    encoded = [line.encode() for line in body.splitlines()]
    return not all(_trivial(stmt, encoded, entries=entries) for stmt in tree.body)


def _trivial(stmt: ast.stmt, lines: list[bytes], *, entries: bool = False) -> bool:
    """A statement prose, notation or program output parses as, which no one writes as code.

    Bare names and constants (`Note`), annotations without a value (`x: (N, L, D)`), a bullet (`- tb_frame`,
    `* OPT(x)`: unary minus, a starred expression), a display of names and numbers (`(N, L, D)`, `0,0,0,0`
    as `lscpu` prints it, a dict shown as an example) and a name bound to a tuple of them (shape notation
    `input = (time, batch, in_channels)`). An expression that calls nothing has no effect as a statement:
    notation (`(1, 0, cx) * (0, 1, cy)`), an example input or output (`['Mapped', 'A']`). So has prose
    that parses: a dash (`type = 0 -- gamma`) or a name and a remark in parentheses (`__reduce__ (pickle)`,
    `C = W + L + R (context)`).
    Inside an open bracket (`entries`) an expression is an entry of a list commented out (`# torch.zeros_like,`,
    `# OpInfo(...),`, `# "BlueScale",`): code.
    """
    if _prose_dash(stmt, lines):
        return True
    if (
        not entries
        and isinstance(stmt, ast.Expr | ast.Assign | ast.AnnAssign | ast.AugAssign)
        and any(isinstance(node, ast.Call) and _prose_call(node, lines) for node in ast.walk(stmt))
    ):
        return True  # `C = W + L + R (context)`: a formula with a remark
    if isinstance(stmt, ast.AnnAssign):
        return stmt.value is None
    if isinstance(stmt, ast.Assign):  # `bias = (out_channels,)`; not `F=51.59,` (a commented-out keyword)
        value = stmt.value
        return (
            isinstance(value, ast.Tuple) and _atom(value) and any(isinstance(e, ast.Name) for e in value.elts)
        )
    if not isinstance(stmt, ast.Expr):
        return False
    value = stmt.value
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub | ast.UAdd):
        return True  # a `- item` bullet
    if isinstance(value, (*_TRIVIAL, ast.Starred)) or _atom(value):
        return True
    if entries:
        return False
    return not any(isinstance(node, _EFFECTS) for node in ast.walk(value))


_EFFECTS = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)


def _prose_dash(stmt: ast.stmt, lines: list[bytes]) -> bool:
    """`a -- b` (a dash in prose, parsed as a minus of a negation) on one of the statement's lines."""
    if not any(isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) for node in ast.walk(stmt)):
        return False
    end = stmt.end_lineno or stmt.lineno
    return any(_DASH.search(line) for line in lines[stmt.lineno - 1 : end])


_DASH = re.compile(rb"[\w)\]] -- ?[\w(]")


def _prose_call(node: ast.expr, lines: list[bytes]) -> bool:
    """`name (remark)`: a space before the parenthesis, and only names and constants inside it; or a call of
    a display (`(1, 0, cx) (cos, sin, 0)`: a matrix written out), which no code does."""
    func = node.func if isinstance(node, ast.Call) else None
    while isinstance(func, ast.Call):
        func = func.func
    if isinstance(func, ast.Tuple | ast.List | ast.Set | ast.Dict | ast.Constant):
        return True
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords):
        return False
    if not all(isinstance(arg, ast.Name | ast.Constant) for arg in node.args):
        return False
    line = lines[node.func.end_lineno - 1] if node.func.end_lineno else b""
    return line[node.func.end_col_offset : node.func.end_col_offset + 1] in (b" ", b"\t")


def _atom(node: ast.expr, *, strings: bool = False) -> bool:
    """A name, a number or `...`, or a display of those (nested). Strings count only inside a dict (a value
    shown as an example): a tuple or list holding one is an entry of a list commented out (`# "RD",`)."""
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Constant):
        return strings or not isinstance(node.value, str | bytes)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return _atom(node.operand, strings=strings)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return all(_atom(e, strings=strings) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is None or _atom(k, strings=True) for k in node.keys) and all(
            _atom(v, strings=True) for v in node.values
        )
    return False


@dataclass(frozen=True)
class ParkedSpan:
    """One piece of parked code: lines `line..end_line` (1-based, inclusive)."""

    kind: str  # "string" or "comment"
    line: int
    column: int
    end_line: int
    n_lines: int

    @property
    def message(self) -> str:
        template = STRING_MESSAGE if self.kind == "string" else COMMENT_MESSAGE
        return template.format(n=self.n_lines)


def find_parked(tree: ast.Module, source: str) -> list[ParkedSpan]:
    """Every parked string statement and commented-out block of a module."""
    spans: list[ParkedSpan] = []
    nodes = tree_nodes(tree)
    strings = [  # string statements of several lines (an `Expr` is always a statement)
        stmt
        for stmt in nodes.of(ast.Expr)
        if isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
        and stmt.value.value.count("\n") >= MIN_LINES - 1
    ]
    if strings:
        docstrings = {  # the first statement of a module, function or class body is its docstring
            id(owner.body[0])
            for kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            for owner in [tree, *nodes.of(kind)]
            if owner.body
        }
        for stmt in strings:
            text = stmt.value.value  # type: ignore[attr-defined]
            if id(stmt) not in docstrings and looks_like_code(text):
                n_lines = len([line for line in text.splitlines() if line.strip()])
                end = stmt.end_lineno or stmt.lineno
                spans.append(ParkedSpan("string", stmt.lineno, stmt.col_offset + 1, end, n_lines))
    if _COMMENT_RUN.search(source):
        runs = _comment_runs_in_text(source)
        if runs:
            brackets = _bracket_interior_lines(tree, {run[0] for run in runs})
            runs = [run for run in runs if _parked_comment(run[2], entries=run[0] in brackets)]
        if runs:
            inside = _string_interior_lines(
                tree, {line for run in runs for line in range(run[0], run[1] + 1)}
            )
            kept = [run for run in runs if not any(line in inside for line in range(run[0], run[1] + 1))]
            lines = source.splitlines()
            for first, last, column in _joined(kept, lines):
                n_lines = sum(1 for i in range(first, last + 1) if lines[i - 1].strip())
                spans.append(ParkedSpan("comment", first, column, last, n_lines))
    return sorted(spans, key=lambda s: s.line)


def _joined(runs: list[tuple[int, int, str, int]], lines: list[str]) -> list[tuple[int, int, int]]:
    """(first, last, column) of the parked runs, those at the same column with one blank line between them
    joined into one: a class commented out with blank lines between its methods is one block (two blank
    lines part top-level blocks, which stay apart)."""
    out: list[tuple[int, int, int]] = []
    for first, last, _text, column in runs:
        if out and out[-1][2] == column and first - out[-1][1] == 2 and not lines[first - 2].strip():
            out[-1] = (out[-1][0], last, column)
        else:
            out.append((first, last, column))
    return out


def _parked(tree: ast.Module, source: str) -> list[ParkedSpan]:
    """`find_parked`, once per tree and text (the prefilter and the findings ask for the same spans)."""
    memo = per_tree(tree, "parked", lambda _tree: {})
    if memo.get("source") is not source:
        memo["source"], memo["spans"] = source, find_parked(tree, source)
    return list(memo["spans"])


def _parked_comment(text: str, *, entries: bool = False) -> bool:
    """Whether uncommented text is code, or code under a prose header line or two (`# Removed callback - ...`).

    The header belongs to the block: it is part of the span, so deleting the block leaves no comment behind.
    A session (`>>> ` or `$ ` prompts), code under a header that announces an example or an explanation
    (`For example:`, `Sample output of ...`, `The following line is equivalent to:`, `Reference values were
    computed with ...`) and the recipe of a test's reference values (mpmath, or R that parses as Python)
    show how something is used or made: they are documentation, not code put away.
    """
    lines = text.splitlines()
    if any(line.lstrip().startswith(_PROMPTS) for line in lines) or _is_recipe(text):
        return False
    if looks_like_code(text, entries=entries):
        return True
    for k in range(1, MAX_PROSE_HEADER + 1):
        if len(lines) - k < MIN_LINES:
            break
        if _EXAMPLE_HEADER.search("\n".join(lines[:k])):
            return False
        if looks_like_code("\n".join(lines[k:]), entries=entries):
            return True
    return False


def _bracket_interior_lines(tree: ast.Module, asked: set[int]) -> set[int]:
    """The lines of `asked` strictly inside a display or a call that spans several lines: a comment there
    is an entry."""
    nodes = tree_nodes(tree)
    spans = [
        (node.lineno + 1, node.end_lineno - 1)
        for kind in (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Call)
        for node in nodes.of(kind)
        if node.end_lineno and node.end_lineno > node.lineno + 1
    ]
    return _lines_within(sorted(asked), spans)


def _string_interior_lines(tree: ast.Module, asked: set[int]) -> set[int]:
    """The lines of `asked` inside a multi-line string (after its first line), where `#` is not a comment."""
    nodes = tree_nodes(tree)
    spans = [
        (node.lineno + 1, node.end_lineno)
        for node in nodes.of(ast.Constant) + nodes.of(ast.JoinedStr)
        if node.end_lineno and node.end_lineno > node.lineno
    ]
    return _lines_within(sorted(asked), spans)


def _lines_within(lines: list[int], spans: list[tuple[int, int]]) -> set[int]:
    """The lines of the sorted `lines` that fall in some (first, last) span, both ends included (a binary
    search per span, not a test of every line against every span)."""
    found: set[int] = set()
    for first, last in spans:
        found.update(lines[bisect.bisect_left(lines, first) : bisect.bisect_right(lines, last)])
    return found


def _comment_runs_in_text(source: str) -> list[tuple[int, int, str, int]]:
    """(first line, last line, uncommented text, column) of each run of >= MIN_LINES comment-only lines.

    Only the blocks of consecutive comment lines are looked at (found by one regular expression), not
    every line of the file; a text with other line breaks than "\n" is read line by line."""
    if OTHER_LINE_BREAKS.search(source):
        return _comment_runs([*source.splitlines(), ""], 1)
    runs: list[tuple[int, int, str, int]] = []
    number, at = 1, 0
    for block in _COMMENT_BLOCK.finditer(source):
        number += source.count("\n", at, block.start())
        at = block.start()
        lines = block.group().split("\n")
        if _has_directive(block.group()):
            runs += _comment_runs([*lines, ""], number)
        else:  # every line is a comment of the run (what `_comment_runs` finds, without a search per line)
            text = "\n".join(_uncomment(line.strip()) for line in lines)
            runs.append((number, number + len(lines) - 1, text, len(lines[0]) - len(lines[0].lstrip()) + 1))
    return runs


def _comment_runs(lines: list[str], first_number: int) -> list[tuple[int, int, str, int]]:
    """The runs of `_comment_runs_in_text` in `lines` (numbered from `first_number`; a last line that is
    not a comment ends a run)."""
    runs: list[tuple[int, int, str, int]] = []
    run: list[tuple[int, str, int]] = []
    for number, line in enumerate(lines, start=first_number):
        stripped = line.strip()
        if stripped.startswith("#") and not _has_directive(stripped):
            run.append((number, _uncomment(stripped), len(line) - len(line.lstrip()) + 1))
            continue
        if len(run) >= MIN_LINES:
            runs.append((run[0][0], run[-1][0], "\n".join(text for _, text, _ in run), run[0][2]))
        run = []
    return runs


def _uncomment(comment: str) -> str:
    text = comment[1:]
    return text[1:] if text.startswith(" ") else text


class ParkedCode(LibcstRule):
    """Code parked in a bare string statement or in a block of commented-out lines.

    ## What it does
    Finds string literal statements that are not docstrings and whose text parses as at least three
    lines of Python statements, and runs of at least three consecutive comment lines that do so once
    the `#` is stripped. Prose does not parse, or parses only as bare names or annotations, and is left
    alone; so are docstrings and comments that are directives (`noqa`, `type:`, `pragma`, licences).

    ## Why is this bad?
    Parking code in a string or a comment keeps it out of every check: its names are not resolved, it
    is never tested, and it rots while looking like something that matters. The project we replace
    "fixed" 140 dead lines after `main()` by wrapping them in a triple-quoted string.

    ## Example
    ```python
    main()
    '''
    p = sub.add_parser("ablation")
    p.add_argument("--runs", type=int)
    p.set_defaults(func=ablation)
    '''
    ```

    ## Use instead
    ```python
    main()
    ```
    (git keeps the old code; move what is still needed into a function that runs and is tested.)

    ## Fix safety
    Unsafe, so the deletion only happens with `--unsafe-fixes`: a string statement has no effect when it
    runs and a comment none at all, but the text may be something a person still wants to read or move.
    """

    CODE: ClassVar[str] = "MNT005"
    NAME: ClassVar[str] = "ParkedCode"
    FIX_TITLE: ClassVar[str] = "Delete the parked code (with --unsafe-fixes)"
    FIX_SAFETY = "unsafe"
    TRIGGERS: ClassVar[tuple[str, ...]] = ('"""', "'''", "#")
    PREFILTER_WITHOUT_INDEX: ClassVar[bool] = True

    INVALID = (
        # `dtype:` in a parameter line is no `# type:` directive: the whole block is one span
        Invalid(
            "x = 1\n\n\n# def copy(\n#     dtype: Type[int], n: int\n# ) -> int:\n#     return n\n"
            "#     del dtype\n",
            "x = 1\n\n\n",
            unsafe_fixes=True,
        ),
        Invalid(
            "main()\n'''\np = sub.add_parser('x')\np.add_argument('--y')\np.set_defaults(f=g)\n'''\n",
            "main()\n",
            unsafe_fixes=True,
        ),
        Invalid(
            "main()\n'''\np = sub.add_parser('x')\np.add_argument('--y')\np.set_defaults(f=g)\n'''\n", None
        ),
        Invalid(
            'def f():\n    x = 1\n    """\n    for i in range(3):\n        x += i\n    return x\n    """\n    return x\n',
            "def f():\n    x = 1\n    return x\n",
            unsafe_fixes=True,
        ),
        Invalid(
            "x = 1\n# y = compute(x)\n# z = y + 1\n# print(z)\nw = 2\n",
            "x = 1\nw = 2\n",
            unsafe_fixes=True,
        ),
        Invalid(
            "def f():\n    a = 1\n    # if a:\n    #     a += 1\n    #     return a\n    return a\n",
            "def f():\n    a = 1\n    return a\n",
            unsafe_fixes=True,
        ),
        Invalid(
            "class C:\n    x = 1\n    # def old(self):\n    #     return self.x\n    #     pass\n",
            "class C:\n    x = 1\n",
            unsafe_fixes=True,
        ),
        Invalid(
            "import os\n\n# import sys\n# import json\n# import re\n", "import os\n\n", unsafe_fixes=True
        ),
        Invalid(
            "class C:\n    x = 1\n\n    # Removed callback - superseded by on_step\n    # def on_epoch_end(self):\n"
            "    #     self.log('done')\n    #     return self.x\n\n    def on_step(self):\n        return 2\n",
            "class C:\n    x = 1\n\n    def on_step(self):\n        return 2\n",
            unsafe_fixes=True,
        ),
        Invalid(
            "def f():\n    a = 1\n    # Old version, kept for reference:\n    # if a:\n    #     a += 1\n"
            "    #     return a\n    return a\n",
            "def f():\n    a = 1\n    return a\n",
            unsafe_fixes=True,
        ),
        Invalid(
            "if ok:\n    run()\n    '''\n    a = 1\n    b = 2\n    c = a + b\n    '''\n",
            "if ok:\n    run()\n",
            unsafe_fixes=True,
        ),
        Invalid(
            "def f():\n    '''Docstring.'''\n    '''\n    import pdb\n    pdb.set_trace()\n    x = 1\n    '''\n",
            "def f():\n    '''Docstring.'''\n",
            unsafe_fixes=True,
        ),
        # entries of a list commented out (attributes, calls) are code, unlike notation
        Invalid(
            "LIKE = {\n    1,\n    # torch.zeros_like,\n    # torch.ones_like,\n    # torch.full_like,\n}\n",
            None,
        ),
        Invalid("NAMES = [\n    'ND',\n    # 'RD',\n    # 'NP',\n    # 'PS',\n]\n", None),
        # commented-out keyword arguments of a call
        Invalid("RESULTS = dict(\n    n=10,\n    # F=51.59,\n    # r2=.812,\n    # rmse=94.408,\n)\n", None),
        # a class commented out with a blank line between its methods: one block, deleted with its blank line
        Invalid(
            "x = 1\n\n# class Old:\n#     def a(self):\n#         return 1\n\n#     def b(self):\n"
            "#         return 2\n#     def c(self):\n#         return 3\ny = 2\n",
            "x = 1\n\ny = 2\n",
            unsafe_fixes=True,
        ),
        # calls written as code (no space before the parenthesis) are code, however short
        Invalid("def f():\n    # setup(a)\n    # run(b)\n    # teardown(c)\n    return 1\n", None),
        # "example" naming a test case is no example header
        Invalid(
            "def test_trace():\n    # Cookbook example 105:\n    # expr = Trace(TensorProduct(A, X))\n"
            "    # assert expr.diff(X) == Trace(A)\n    # expr = Trace(X)\n    return 1\n",
            None,
        ),
    )
    VALID = (
        "def f():\n    '''\n    x = 1\n    y = 2\n    z = 3\n    '''\n    return 1\n",
        "'''\nimport os\nimport sys\nimport re\n'''\nx = 1\n",
        "class C:\n    '''\n    a = 1\n    b = 2\n    c = 3\n    '''\n",
        "x = 1\n'''This is a note about x.\nIt explains things.\nIn three lines.\n'''\n",
        "# This module does things.\n# It has several comment lines\n# that are prose, not code.\nx = 1\n",
        "x = 1  # noqa: E501\n# type: ignore\n# pragma: no cover\n# fmt: off\ny = 2\n",
        "# Note: read this\n# Warning: careful\n# Todo: later\nx = 1\n",
        "# This module does things.\n# It has several comment lines\n# that are prose, not code.\n# More prose.\nx = 1\n",
        "SQL = '''\nselect a,\n  b\nfrom t\n'''\n",
        "# x = 1\n# y = 2\nz = 3\n",
        "# ------------------------------------------\n# Section\n# ------------------------------------------\nx = 1\n",
        "def f():\n    code = '''\n    a = 1\n    b = 2\n    c = 3\n    '''\n    return code\n",
        # prose bullet lists (a `- item` parses as unary minus, a `* item` as a starred expression)
        "# The traceback holds four attributes:\n#  - tb_frame\n#  - tb_lineno\n#  - tb_lasti\n#  - tb_next\nx = 1\n",
        "# the node list reads:\n# * OPT(aten.reshape.default)\n# * OPT(prims.convert_element_type.default)\n"
        "# * dequantize_per_tensor\nx = 1\n",
        # program output: what `lscpu` prints (tuples and an Ellipsis), a REPL session and its output
        "# Sample output of: `lscpu --parse=CPU,Core,Socket,Node`\n#\n# 0,0,0,0\n# 1,1,0,0\n# ...\nx = 1\n",
        "# >>> for row in torch.eye(3):\n# ...     print(row)\n# tensor([1., 0., 0.])\n# tensor([0., 1., 0.])\n"
        "# tensor([0., 0., 1.])\nx = 1\n",
        "# $ git config --list\n# core.bare=false\n# core.filemode=true\n# user.name=ci\nx = 1\n",
        # shape notation
        "# input = (time, batch, in_channels)\n# weight = (kernel_width, in_channels, out_channels)\n"
        "# bias = (out_channels,)\nx = 1\n",
        "def f(x):\n    # (N, L, F)\n    # (N, L, D)\n    # (N, H, Q)\n    return x\n",
        # an explanation in code form, and the recipe of reference values (mpmath; R that parses as Python)
        "def f(A, edges):\n    # The following line is equivalent to:\n    #\n    #     for (u, v) in edges:\n"
        "    #         for d in range(A[u, v]):\n    #             G.add_edge(u, v, weight=1)\n    return g(A, edges)\n",
        "# reference values were computed with\n# from mpmath import mp\n# mp.dps = 50\n# def ref(x):\n"
        "#     return float(mp.exp(x))\nREF = 2.718281828459045\n",
        "# library(XICOR)\n# options(digits=16)\n# x = c(0.11, 0.81, 0.70)\n# xicor(x, y)\nREF = 0.25\n",
        # a value shown as an example, and code under a header that says it is an example
        "# mapping from module name to module, for instance\n# {\n#   '': Model(...),\n#   'sub': Sub(...),\n# }\n"
        "x = 1\n",
        "# For example:\n# def outer():\n#     def helper(n):\n#         return n + 1\n#     return helper\nx = 1\n",
        # names with a remark in parentheses, a table of codes with dashes, a matrix written out
        "class P:\n    # __enter__ (contextlib)\n    # __exit__ (contextlib)\n    # __len__ (sized)\n"
        "    x = 1\n",
        "# mode = 0 -- nearest\n# mode = 1 -- linear\n# mode = 2 -- cubic\ndef f(mode=0):\n    return mode\n",
        "# the rotation is:\n# (c, -s, 0)   (1, 0, tx)\n# (s,  c, 0) * (0, 1, ty)\n# (0,  0, 1)   (0, 0,  1)\nx = 1\n",
        # an example input and what comes back, and bounds written as chained comparisons
        "def split(text):\n    # turns\n    # 'a,b,\"c,d\"'\n    # into\n    # ['a', 'b', 'c,d']\n    return text\n",
        "def f(a, b):\n    # 0 < a < 1\n    # 0 < b <= a\n    # a + b < 1\n    return a\n",
        # shapes and formulas with remarks in parentheses
        "def f(x):\n    # x: [B, T, D] (batch, time, features)\n    # S = T + P (padding)\n"
        "    # K = S + 1 (start)\n    return x\n",
    )

    @classmethod
    def may_match(cls, tree: ast.Module, source: str, context: FileContext) -> bool:
        """Whether the module has any parked code at all (the detection itself: it needs no libcst)."""
        return super().may_match(tree, source, context) and bool(_parked(tree, source))

    @classmethod
    def findings(cls, tree: ast.Module, source: str, context: FileContext) -> list[AstFinding] | None:
        """Without --unsafe-fixes there is nothing to rewrite, so the findings come straight from `ast`
        (report-only: the engine reads each span's lines and start column); with it, the visitor decides."""
        if context.unsafe_fixes:
            return None
        lines = source.splitlines()
        return [
            AstFinding(
                NodeRef("statement", s.line, s.column - 1, s.end_line, _line_length(lines, s.end_line)),
                s.message,
            )
            for s in _parked(tree, source)
        ]

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        tree = context.tree if context.tree is not None else ast.parse(context.source)
        self.spans = _parked(tree, context.source)
        self.string_lines = {s.line: s for s in self.spans if s.kind == "string"}
        self.comment_of_line = {
            line: span
            for span in self.spans
            if span.kind == "comment"
            for line in range(span.line, span.end_line + 1)
        }
        self.comment_nodes: dict[ParkedSpan, list[cst.EmptyLine]] = {}
        source_lines = context.source.splitlines()
        self.blank_after = {
            span.end_line + 1: span
            for span in self.spans
            if span.kind == "comment" and span.line > 1 and not source_lines[span.line - 2].strip()
        }
        self.trailing_blank: dict[ParkedSpan, cst.EmptyLine] = {}
        self.blocks: list[tuple[cst.CSTNode, ...]] = []

    def visit_Module(self, node: cst.Module) -> None:
        self._check_block(node.body)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._check_block(node.body)

    def _check_block(self, body) -> None:
        for stmt in body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            span = self.string_lines.get(self.get_metadata(cst.metadata.PositionProvider, stmt).start.line)
            if span is not None:
                self.report(stmt, span.message, replacement=_remove if len(body) > 1 else _pass, unsafe=True)

    def visit_EmptyLine(self, node: cst.EmptyLine) -> None:
        line = self.get_metadata(cst.metadata.PositionProvider, node).start.line
        if node.comment is None:
            span = self.comment_of_line.get(line)  # a blank line inside a joined block goes with it
            if span is not None:
                self.comment_nodes.setdefault(span, []).append(node)
                return
            span = self.blank_after.get(line)
            if span is not None:
                self.trailing_blank[span] = node
            return
        span = self.comment_of_line.get(line)
        if span is not None:
            self.comment_nodes.setdefault(span, []).append(node)

    def leave_Module(self, original_node: cst.Module) -> None:
        for span, nodes in self.comment_nodes.items():
            # a block between two blank lines takes one of them along, so the blank lines do not pile up
            extra = [self.trailing_blank[span]] if span in self.trailing_blank else []
            self.report(nodes[0], span.message, fixes=dict.fromkeys([*nodes, *extra], _remove), unsafe=True)


def _line_length(lines: list[str], line: int) -> int:
    """The length of a 1-based line (0 past the end): the end column of a span that ends with its line."""
    return len(lines[line - 1]) if 0 < line <= len(lines) else 0


def _remove(_node: cst.CSTNode) -> cst.RemovalSentinel:
    return cst.RemoveFromParent()


def _pass(node: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(node, cst.SimpleStatementLine)
    return node.with_changes(body=[cst.Pass()])
