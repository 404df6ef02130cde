"""MNT005 ParkedCode: code parked in a string literal statement or in a block of commented-out lines."""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Sequence
from typing import ClassVar

import libcst as cst
from libcst.metadata import PositionProvider

from maintenance.codemods.base import Codemod, Invalid

MIN_LINES = 3
_COMMENT_RUN = re.compile(r"(?m)(?:^[ \t]*#[^\n]*\n){" + str(MIN_LINES) + "}")
_DIRECTIVE = re.compile(
    r"noqa|type:|pragma|pylint:|fmt:|isort:|mypy:|pyright:|-\*-|^!|copyright|license", re.I
)
_TRIVIAL = (ast.Name, ast.Constant, ast.Attribute)


def looks_like_code(text: str, min_lines: int = MIN_LINES) -> bool:
    """Whether `text` parses as at least `min_lines` lines of Python with a real statement in them.

    Prose rarely parses; prose that does (`Note: read this`, a lone word) is made of trivial statements:
    bare names/constants or annotations without a value, which do not count.
    """
    body = textwrap.dedent(text).strip("\n")
    lines = [line for line in body.splitlines() if line.strip() and not line.strip().startswith("#")]
    if len(lines) < min_lines:
        return False
    try:
        tree = ast.parse(body)
    except (SyntaxError, ValueError):
        return False
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, _TRIVIAL):
            continue
        if isinstance(stmt, ast.AnnAssign) and stmt.value is None:
            continue
        return True
    return False


class ParkedCode(Codemod):
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
    METADATA_DEPENDENCIES = (PositionProvider,)

    INVALID = (
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
            "if ok:\n    run()\n    '''\n    a = 1\n    b = 2\n    c = a + b\n    '''\n",
            "if ok:\n    run()\n",
            unsafe_fixes=True,
        ),
        Invalid(
            "def f():\n    '''Docstring.'''\n    '''\n    import pdb\n    pdb.set_trace()\n    x = 1\n    '''\n",
            "def f():\n    '''Docstring.'''\n",
            unsafe_fixes=True,
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
        "SQL = '''\nselect a,\n  b\nfrom t\n'''\n",
        "# x = 1\n# y = 2\nz = 3\n",
        "# ------------------------------------------\n# Section\n# ------------------------------------------\nx = 1\n",
        "def f():\n    code = '''\n    a = 1\n    b = 2\n    c = 3\n    '''\n    return code\n",
    )

    @classmethod
    def ast_may_match(cls, tree: ast.Module, source: str) -> bool:
        """A long string statement outside docstring position, or a run of comment lines."""
        if _COMMENT_RUN.search(source):
            return True
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if not isinstance(body, list):
                continue
            start = (
                1
                if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                else 0
            )
            for stmt in body[start:]:
                if (
                    isinstance(stmt, ast.Expr)
                    and isinstance(stmt.value, ast.Constant)
                    and isinstance(stmt.value.value, str)
                    and stmt.value.value.count("\n") >= MIN_LINES - 1
                ):
                    return True
        return False

    def __init__(self, context) -> None:
        super().__init__(context)
        self.docstrings: set[cst.CSTNode] = set()

    def visit_Module(self, node: cst.Module) -> None:
        if node.body:
            self.docstrings.add(node.body[0])
        self._check_block(node.body)
        finder = _CommentRuns()
        node.visit(finder)
        for run in finder.runs:
            text = "\n".join(_uncomment(line.comment.value) for line in run if line.comment is not None)
            if looks_like_code(text):
                self.report(
                    run[0],
                    f"{len(run)} commented-out lines of code: delete them (git keeps history) "
                    "or restore them as code that runs",
                    fixes=dict.fromkeys(run, _remove),
                    unsafe=True,
                )

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if isinstance(node.body, cst.IndentedBlock) and node.body.body:
            self.docstrings.add(node.body.body[0])

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if isinstance(node.body, cst.IndentedBlock) and node.body.body:
            self.docstrings.add(node.body.body[0])

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._check_block(node.body)

    def _check_block(self, body: Sequence[cst.BaseStatement]) -> None:
        for stmt in body:
            if (
                stmt in self.docstrings
                or not isinstance(stmt, cst.SimpleStatementLine)
                or len(stmt.body) != 1
            ):
                continue
            expr = stmt.body[0]
            if not isinstance(expr, cst.Expr) or not isinstance(
                expr.value, cst.SimpleString | cst.ConcatenatedString
            ):
                continue
            value = expr.value.evaluated_value
            if not isinstance(value, str) or not looks_like_code(value):
                continue
            n_lines = len([line for line in value.splitlines() if line.strip()])
            replacement = _remove if len(body) > 1 else _pass
            self.report(
                stmt,
                f"{n_lines} lines of code parked in a string literal: delete them (git keeps history) "
                "or restore them as code that runs",
                replacement=replacement,
                unsafe=True,
            )


def _uncomment(comment: str) -> str:
    text = comment[1:]
    return text[1:] if text.startswith(" ") else text


def _remove(_node: cst.CSTNode) -> cst.RemovalSentinel:
    return cst.RemoveFromParent()


def _pass(node: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(node, cst.SimpleStatementLine)
    return node.with_changes(body=[cst.Pass()])


class _CommentRuns(cst.CSTVisitor):
    """Runs of at least MIN_LINES consecutive comment-only lines (not directives) in any line list."""

    def __init__(self) -> None:
        self.runs: list[list[cst.EmptyLine]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        for attr in ("leading_lines", "lines_after_decorators", "footer", "header"):
            lines = getattr(node, attr, None)
            if isinstance(lines, Sequence) and lines and all(isinstance(x, cst.EmptyLine) for x in lines):
                self._collect(lines)
        return True

    def _collect(self, lines: Sequence[cst.EmptyLine]) -> None:
        run: list[cst.EmptyLine] = []
        for line in [*lines, None]:
            if line is not None and line.comment is not None and not _DIRECTIVE.search(line.comment.value):
                run.append(line)
                continue
            if len(run) >= MIN_LINES:
                self.runs.append(run)
            run = []
