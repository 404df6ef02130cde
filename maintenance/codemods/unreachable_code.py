"""MNT001 UnreachableCode: statements after return/raise/continue/break or a call that never returns."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from typing import ClassVar

import libcst as cst
from libcst.metadata import PositionProvider, QualifiedNameProvider

from maintenance.codemods.base import Codemod, Invalid, import_aliases, iter_blocks, resolve_dotted

# How a statement can end: fall through to the next one, or leave the block.
NORMAL, RETURN, RAISE, BREAK, CONTINUE = "normal", "return", "raise", "break", "continue"

EXIT_FUNCTIONS = frozenset(
    {
        "sys.exit",
        "os._exit",
        "os.abort",
        "builtins.exit",
        "builtins.quit",
        "typing.assert_never",
        "typing_extensions.assert_never",
    }
)
NO_RETURN_TYPES = frozenset(
    {"typing.NoReturn", "typing.Never", "typing_extensions.NoReturn", "typing_extensions.Never"}
)


class UnreachableCode(Codemod):
    """Statements that can never run because the statement before them never completes.

    ## What it does
    Finds statements that follow, in the same block, a `return`, `raise`, `continue`, `break`, a call to
    `sys.exit`/`os._exit`/`exit`/`quit` (aliases such as `import sys as _s` included), or a call to a
    function of the same module that never returns: one annotated `NoReturn`/`Never`, or one whose every
    path ends in `sys.exit`, `raise` or another never-returning call (such as a `main()` that always
    exits). A compound statement whose every branch leaves (an `if` whose both arms return) counts too.

    ## Why is this bad?
    Dead code misleads readers into thinking it runs, hides undefined names (the project we replace had
    140 lines with three F821 errors after a `main()` that always called `sys.exit`), and rots.

    ## Example
    ```python
    def main():
        sys.exit(run())

    if __name__ == "__main__":
        main()
        build_parser()  # never runs
    ```

    ## Use instead
    ```python
    if __name__ == "__main__":
        main()
    ```

    ## Fix safety
    Safe: the deleted statements cannot run. Code is deleted, never commented out or parked in a string;
    git remembers it. Reachable code is never touched: a branch where only one arm exits, code after a
    `try` whose handler catches, loops with `break`, functions that can return, decorated functions and
    generators are all treated as possibly returning, and a `with` block always as possibly completing
    (its context manager may swallow an exception, as `contextlib.suppress` does). Dead statements that contain `yield`, `global` or
    `nonlocal` are left alone because they change what the function is.
    """

    CODE: ClassVar[str] = "MNT001"
    NAME: ClassVar[str] = "UnreachableCode"
    FIX_TITLE: ClassVar[str] = "Delete the unreachable statements"
    FIX_SAFETY = "safe"
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider)

    INVALID = (
        Invalid(
            "def f():\n    return 1\n    print('dead')\n",
            "def f():\n    return 1\n",
        ),
        Invalid(
            "def f(x):\n    if x:\n        raise ValueError(x)\n        x += 1\n    return x\n",
            "def f(x):\n    if x:\n        raise ValueError(x)\n    return x\n",
        ),
        Invalid(
            "for i in range(3):\n    continue\n    print(i)\n",
            "for i in range(3):\n    continue\n",
        ),
        Invalid(
            "while True:\n    break\n    x = 1\n",
            "while True:\n    break\n",
        ),
        Invalid(
            "import sys as _s\n\n_s.exit(0)\nprint('never')\n",
            "import sys as _s\n\n_s.exit(0)\n",
        ),
        Invalid(
            "import sys\n\n\ndef main():\n    sys.exit(run())\n\n\n"
            "if __name__ == '__main__':\n    main()\n    '''\n    p = sub.add_parser('x')\n    p.add_argument('--y')\n    '''\n"
            "    parser = build()\n",
            "import sys\n\n\ndef main():\n    sys.exit(run())\n\n\nif __name__ == '__main__':\n    main()\n",
        ),
        Invalid(
            "import os\n\n\ndef die():\n    os._exit(1)\n\n\ndef fail(msg):\n    log(msg)\n    die()\n\n\n"
            "def g():\n    fail('x')\n    return 2\n",
            "import os\n\n\ndef die():\n    os._exit(1)\n\n\ndef fail(msg):\n    log(msg)\n    die()\n\n\n"
            "def g():\n    fail('x')\n",
        ),
        Invalid(
            "from typing import NoReturn\n\n\ndef stop() -> NoReturn:\n    ...\n\n\nstop()\nx = 1\n",
            "from typing import NoReturn\n\n\ndef stop() -> NoReturn:\n    ...\n\n\nstop()\n",
        ),
        Invalid(
            "def f(x):\n    if x:\n        return 1\n    else:\n        return 2\n    # gone with it\n    x = 3\n",
            "def f(x):\n    if x:\n        return 1\n    else:\n        return 2\n",
        ),
        Invalid(
            "def f(x):\n    try:\n        return g(x)\n    except KeyError:\n        raise\n    x = 1\n",
            "def f(x):\n    try:\n        return g(x)\n    except KeyError:\n        raise\n",
        ),
        Invalid(
            "def f():\n    exit(1)\n    a = 1\n    b = 2\n",
            "def f():\n    exit(1)\n",
        ),
    )
    VALID = (
        "def f(x):\n    if x:\n        return 1\n    return 2\n",
        "import sys\n\n\ndef f(x):\n    if x:\n        sys.exit(1)\n    print('reachable')\n",
        "def f():\n    try:\n        return 1\n    finally:\n        print('runs')\n",
        "import sys\n\ntry:\n    sys.exit(1)\nexcept SystemExit:\n    pass\nprint('reachable')\n",
        "while True:\n    if done():\n        break\nprint('after loop')\n",
        "def main():\n    if ok():\n        return 0\n    raise SystemExit(1)\n\n\nmain()\nprint('main can return')\n",
        "import sys\n\n\ndef gen():\n    sys.exit(1)\n    yield\n",
        "def gen():\n    raise NotImplementedError\n    yield 1\n",
        "import functools\n\n\n@functools.cache\ndef main():\n    raise SystemExit\n\n\nmain()\nx = 1\n",
        "def exit(code):\n    return code\n\n\nexit(1)\nprint('shadowed exit returns')\n",
        "from contextlib import suppress\n\nwith suppress(ValueError):\n    raise ValueError\nprint('suppressed')\n",
        "def take(it):\n    out = []\n    with suppress(StopIteration):\n        while True:\n            out.append(next(it))\n"
        "    return out\n",
        "for x in items:\n    if x:\n        continue\n    print(x)\n",
        "def main():\n    sys.exit(0)\n\n\ndef main():\n    return 1\n\n\nmain()\nprint('redefined')\n",
    )

    @classmethod
    def ast_may_match(cls, tree: ast.Module, source: str) -> bool:
        """Same block analysis on `ast`, with calls resolved through the module's import aliases."""
        analysis = _AstAnalysis(tree)
        return analysis.has_dead_code()

    def visit_Module(self, node: cst.Module) -> None:
        """Analyse the whole module at once: infer never-returning functions, then find dead runs."""
        analysis = _CstAnalysis(self, node)
        for block, index in analysis.dead_runs():
            terminator = block[index]
            dead = list(block[index + 1 :])
            if any(_must_keep(stmt) for stmt in dead):
                continue
            what = analysis.describe(terminator)
            count = len(dead)
            self.report(
                dead[0],
                f"unreachable code: {count} statement{'s' if count > 1 else ''} after {what} can never run",
                fixes=dict.fromkeys(dead, _remove),
            )


def _remove(_node: cst.CSTNode) -> cst.RemovalSentinel:
    return cst.RemoveFromParent()


def _must_keep(stmt: cst.CSTNode) -> bool:
    """Dead statements that still change their function (a `yield` makes it a generator)."""
    finder = _KeepFinder()
    stmt.visit(finder)
    return finder.found


class _KeepFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Yield(self, node: cst.Yield) -> None:
        self.found = True

    def visit_Global(self, node: cst.Global) -> None:
        self.found = True

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.found = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


# ----------------------------------------------------------------------------------------- libcst analysis


def _body(node: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    return node.body


class _CstAnalysis:
    """Completion kinds of libcst statements, with never-returning functions inferred to a fixpoint."""

    def __init__(self, visitor: Codemod, module: cst.Module) -> None:
        self.visitor = visitor
        self.module = module
        self.never_returns: set[str] = set()
        self._infer_never_returning()

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        names = self.visitor.get_metadata(QualifiedNameProvider, node, set())
        return {q.name for q in names}

    def _infer_never_returning(self) -> None:
        bound: dict[str, int] = {}
        for stmt in self.module.body:
            for name in _bound_names(stmt):
                bound[name] = bound.get(name, 0) + 1
        candidates = [
            stmt
            for stmt in self.module.body
            if isinstance(stmt, cst.FunctionDef)
            and bound.get(stmt.name.value) == 1
            and not stmt.decorators
            and stmt.asynchronous is None
            and not _contains_yield(stmt)
        ]
        for stmt in candidates:
            if stmt.returns is not None and self._qualified(stmt.returns.annotation) & NO_RETURN_TYPES:
                self.never_returns.add(stmt.name.value)
        changed = True
        while changed:
            changed = False
            for stmt in candidates:
                name = stmt.name.value
                if name not in self.never_returns and self.block_kinds(_body(stmt.body)) == {RAISE}:
                    self.never_returns.add(name)
                    changed = True

    def call_never_returns(self, call: cst.BaseExpression) -> bool:
        if not isinstance(call, cst.Call):
            return False
        names = self._qualified(call.func)
        return bool(names & EXIT_FUNCTIONS or names & self.never_returns)

    def small_kinds(self, small: cst.BaseSmallStatement) -> set[str]:
        if isinstance(small, cst.Return):
            return {RETURN}
        if isinstance(small, cst.Raise):
            return {RAISE}
        if isinstance(small, cst.Break):
            return {BREAK}
        if isinstance(small, cst.Continue):
            return {CONTINUE}
        if isinstance(small, cst.Expr) and self.call_never_returns(small.value):
            return {RAISE}
        return {NORMAL}

    def kinds(self, stmt: cst.CSTNode) -> set[str]:
        if isinstance(stmt, cst.SimpleStatementLine | cst.SimpleStatementSuite):
            return self.block_kinds(stmt.body, small=True)
        if isinstance(stmt, cst.If):
            other = stmt.orelse
            if other is None:
                other_kinds = {NORMAL}
            elif isinstance(other, cst.If):
                other_kinds = self.kinds(other)
            else:
                other_kinds = self.block_kinds(_body(other.body))
            return self.block_kinds(_body(stmt.body)) | other_kinds
        if isinstance(stmt, cst.While | cst.For):
            body = self.block_kinds(_body(stmt.body))
            out = body & {RETURN, RAISE}
            if BREAK in body:
                out.add(NORMAL)
            infinite = isinstance(stmt, cst.While) and _is_true(stmt.test)
            if not infinite:
                out |= self.block_kinds(_body(stmt.orelse.body)) if stmt.orelse else {NORMAL}
            return out
        if isinstance(stmt, cst.With):
            # any exception inside (an explicit raise, or `next()` raising StopIteration in a `while True`)
            # may be swallowed by the context manager (`suppress`), so a `with` can always complete
            return self.block_kinds(_body(stmt.body)) | {NORMAL}
        if isinstance(stmt, cst.Try | cst.TryStar):
            body = self.block_kinds(_body(stmt.body))
            out = body - {NORMAL}
            if NORMAL in body:
                out |= self.block_kinds(_body(stmt.orelse.body)) if stmt.orelse else {NORMAL}
            for handler in stmt.handlers:
                out |= self.block_kinds(_body(handler.body))
            if stmt.finalbody is not None:
                final = self.block_kinds(_body(stmt.finalbody.body))
                out = final if NORMAL not in final else out | (final - {NORMAL})
            return out
        if isinstance(stmt, cst.Match):
            out = {NORMAL}
            for case in stmt.cases:
                out |= self.block_kinds(_body(case.body))
            return out
        return {NORMAL}

    def block_kinds(self, stmts: Sequence[cst.CSTNode], *, small: bool = False) -> set[str]:
        acc: set[str] = set()
        for stmt in stmts:
            k = self.small_kinds(stmt) if small else self.kinds(stmt)  # type: ignore[arg-type]
            acc |= k - {NORMAL}
            if NORMAL not in k:
                return acc
        return acc | {NORMAL}

    def dead_runs(self) -> Iterator[tuple[Sequence[cst.CSTNode], int]]:
        """(block, index of the statement that never completes) for every block with statements after it."""
        for block in _blocks(self.module):
            for index, stmt in enumerate(block[:-1]):
                if NORMAL not in self.kinds(stmt):
                    yield block, index
                    break

    def describe(self, stmt: cst.CSTNode) -> str:
        line = self.visitor.get_metadata(PositionProvider, stmt).start.line
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if NORMAL not in self.small_kinds(small):
                    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                        callee = self.module.code_for_node(small.value.func)
                        return f"`{callee}()` (line {line}), which never returns"
                    return f"`{type(small).__name__.lower()}` (line {line})"
        return f"the `{type(stmt).__name__.lower()}` statement on line {line}, which never completes"


def _blocks(module: cst.Module) -> Iterator[Sequence[cst.CSTNode]]:
    collector = _BlockCollector()
    module.visit(collector)
    yield module.body
    yield from collector.blocks


class _BlockCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.blocks: list[Sequence[cst.CSTNode]] = []

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.blocks.append(node.body)


def _bound_names(stmt: cst.CSTNode) -> Iterator[str]:
    if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
        yield stmt.name.value
    elif isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    if isinstance(target.target, cst.Name):
                        yield target.target.value
            elif isinstance(small, cst.AnnAssign | cst.AugAssign) and isinstance(small.target, cst.Name):
                yield small.target.value
            elif isinstance(small, cst.Import | cst.ImportFrom) and not isinstance(
                small.names, cst.ImportStar
            ):
                for alias in small.names:
                    name = alias.asname.name if alias.asname else alias.name
                    if isinstance(name, cst.Name):
                        yield name.value
    elif isinstance(stmt, cst.If | cst.Try | cst.With | cst.For | cst.While):
        yield "<conditional>"  # names bound in compound statements are not tracked


def _contains_yield(func: cst.FunctionDef) -> bool:
    finder = _KeepFinder()
    func.body.visit(finder)
    return finder.found


def _is_true(test: cst.BaseExpression) -> bool:
    return (isinstance(test, cst.Name) and test.value == "True") or (
        isinstance(test, cst.Integer) and test.value not in {"0", "0x0", "0o0", "0b0"}
    )


# -------------------------------------------------------------------------------------------- ast prefilter

_AST_EXIT_NAMES = EXIT_FUNCTIONS | {"exit", "quit"}


class _AstAnalysis:
    """The same completion analysis on `ast` (prefilter), calls resolved through import aliases."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.aliases = import_aliases(tree)
        self.never_returns: set[str] = set()
        self._memo: dict[int, set[str]] = {}
        defined: dict[str, int] = {}
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defined[stmt.name] = defined.get(stmt.name, 0) + 1
        funcs = [
            s
            for s in tree.body
            if isinstance(s, ast.FunctionDef)
            and not s.decorator_list
            and defined[s.name] == 1
            and s.name not in self.aliases
        ]
        for func in funcs:
            if func.returns is not None and (resolve_dotted(func.returns, self.aliases) or "").rsplit(".", 1)[
                -1
            ] in {"NoReturn", "Never"}:
                self.never_returns.add(func.name)
        changed = True
        while changed:
            changed = False
            for func in funcs:
                if func.name not in self.never_returns and self.block_kinds(func.body) == {RAISE}:
                    self.never_returns.add(func.name)
                    self._memo.clear()
                    changed = True

    def kinds(self, stmt: ast.stmt) -> set[str]:
        key = id(stmt)
        if key not in self._memo:
            self._memo[key] = self._kinds(stmt)
        return self._memo[key]

    def _kinds(self, stmt: ast.stmt) -> set[str]:
        if isinstance(stmt, ast.Return):
            return {RETURN}
        if isinstance(stmt, ast.Raise):
            return {RAISE}
        if isinstance(stmt, ast.Break):
            return {BREAK}
        if isinstance(stmt, ast.Continue):
            return {CONTINUE}
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            name = resolve_dotted(stmt.value.func, self.aliases)
            if name in _AST_EXIT_NAMES or name in self.never_returns:
                return {RAISE}
            return {NORMAL}
        if isinstance(stmt, ast.If):
            return self.block_kinds(stmt.body) | (self.block_kinds(stmt.orelse) if stmt.orelse else {NORMAL})
        if isinstance(stmt, ast.While | ast.For | ast.AsyncFor):
            body = self.block_kinds(stmt.body)
            out = body & {RETURN, RAISE}
            if BREAK in body:
                out.add(NORMAL)
            infinite = (
                isinstance(stmt, ast.While) and isinstance(stmt.test, ast.Constant) and bool(stmt.test.value)
            )
            if not infinite:
                out |= self.block_kinds(stmt.orelse) if stmt.orelse else {NORMAL}
            return out
        if isinstance(stmt, ast.With | ast.AsyncWith):
            return self.block_kinds(stmt.body) | {NORMAL}
        if isinstance(stmt, ast.Try | ast.TryStar):
            body = self.block_kinds(stmt.body)
            out = body - {NORMAL}
            if NORMAL in body:
                out |= self.block_kinds(stmt.orelse) if stmt.orelse else {NORMAL}
            for handler in stmt.handlers:
                out |= self.block_kinds(handler.body)
            if stmt.finalbody:
                final = self.block_kinds(stmt.finalbody)
                out = final if NORMAL not in final else out | (final - {NORMAL})
            return out
        if isinstance(stmt, ast.Match):
            out = {NORMAL}
            for case in stmt.cases:
                out |= self.block_kinds(case.body)
            return out
        return {NORMAL}

    def block_kinds(self, stmts: list[ast.stmt]) -> set[str]:
        acc: set[str] = set()
        for stmt in stmts:
            k = self.kinds(stmt)
            acc |= k - {NORMAL}
            if NORMAL not in k:
                return acc
        return acc | {NORMAL}

    def has_dead_code(self) -> bool:
        """Whether any statement list (descending through statements only, never expressions) has dead code."""
        return any(
            len(block) > 1 and any(NORMAL not in self.kinds(stmt) for stmt in block[:-1])
            for _owner, block in iter_blocks(self.tree)
        )
