"""MNT001 UnreachableCode: statements after return/raise/continue/break or a call that never returns."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import ClassVar

import libcst as cst
from libcst.metadata import PositionProvider

from maintenance.codemods.base import AstFinding, Codemod, FileContext, Invalid, NodeRef
from maintenance.index import (
    EXIT_FUNCTIONS,
    NORMAL,
    Completion,
    ModuleInfo,
    ProjectIndex,
    dotted,
    local_call_resolver,
    resolve_relative,
)


class UnreachableCode(Codemod):
    """Statements that can never run because the statement before them never completes.

    ## What it does
    Finds statements that follow, in the same block, a `return`, `raise`, `continue`, `break`, a call to
    `sys.exit`/`os._exit`/`exit`/`quit` (aliases such as `import sys as _s` included), or a call to a
    function of the project that never returns: one annotated `NoReturn`/`Never`, or one whose every
    path ends in `sys.exit`, `raise` or another never-returning call (such as a `main()` that always
    exits), in the same module or imported from another (`from .cli_utils import die`, through the
    project index). A compound statement whose every branch leaves (an `if` whose both arms return)
    counts too. Decided on `ast`; libcst only parses the file to delete the statements.

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
    git remembers it. A function counts as never-returning only if nothing can rebind its name: no
    `global` rebinding anywhere in its module, no second assignment, `del`, decorator, import of the same
    name, `setattr` on the module, `globals()`/`vars()`, module `__getattr__` or star import, and no
    module of the run assigning `mod.name = ...` or patching it (`mock.patch("pkg.mod.name")`,
    `monkeypatch.setattr`); a call resolves only where the name is not shadowed by a local binding of
    the calling function. Methods are never inferred (a subclass may override them). Reachable code is
    never touched: a branch where only one arm exits, code after a
    `try` whose handler catches, loops with `break`, functions that can return, decorated functions and
    generators are all treated as possibly returning, and a `with` block always as possibly completing
    (its context manager may swallow an exception, as `contextlib.suppress` does). Dead statements that contain `yield`, `global` or
    `nonlocal` are left alone because they change what the function is.
    """

    CODE: ClassVar[str] = "MNT001"
    NAME: ClassVar[str] = "UnreachableCode"
    FIX_TITLE: ClassVar[str] = "Delete the unreachable statements"
    FIX_SAFETY = "safe"
    METADATA_DEPENDENCIES = (PositionProvider,)

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
    def may_match(cls, tree: ast.Module, source: str, context: FileContext) -> bool:
        """The whole analysis runs on `ast`; the prefilter is the analysis itself (see `ast_findings`)."""
        return True

    @classmethod
    def ast_findings(cls, tree: ast.Module, source: str, context: FileContext) -> list[AstFinding]:
        """Dead runs from the completion analysis on `ast`, calls resolved per scope through the index."""
        assert context.index is not None and context.module is not None
        lines = source.splitlines()
        analysis = _Analysis(tree, source, context.module, context.index)
        found = []
        for block, index in analysis.dead_runs():
            terminator = block[index]
            # statements after the terminator on its own line (`return; x`) belong to its line
            dead = [s for s in block[index + 1 :] if s.lineno > (terminator.end_lineno or terminator.lineno)]
            if not dead or any(_must_keep(stmt) for stmt in dead):
                continue
            count = len(_first_of_each_line(dead))
            what = analysis.describe(terminator)
            refs = [NodeRef.of(stmt, lines) for stmt in _first_of_each_line(dead)]
            found.append(
                AstFinding(
                    refs[0],
                    f"unreachable code: {count} statement{'s' if count > 1 else ''} after {what} can never run",
                    fixes=tuple((ref, _remove) for ref in refs),
                )
            )
        return found


def _remove(_node: cst.CSTNode) -> cst.RemovalSentinel:
    return cst.RemoveFromParent()


def _first_of_each_line(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """One statement per source line: libcst holds `a; b` as one statement line."""
    out: list[ast.stmt] = []
    last_line = 0
    for stmt in stmts:
        first = stmt.decorator_list[0].lineno if getattr(stmt, "decorator_list", None) else stmt.lineno  # type: ignore[attr-defined]
        if first > last_line:
            out.append(stmt)
        last_line = max(last_line, stmt.end_lineno or stmt.lineno)
    return out


def _must_keep(stmt: ast.stmt) -> bool:
    """Dead statements that still change their function (a `yield` makes it a generator)."""
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Yield | ast.YieldFrom | ast.Global | ast.Nonlocal):
            return True
        if node is not stmt and isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
        ):
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node is stmt:
            stack.extend(node.decorator_list)
            stack.extend(getattr(node, "bases", ()))
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


# ----------------------------------------------------------------------------------------------- analysis


def _nested_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Statements inside function and class bodies (at any depth)."""
    stack: list[tuple[ast.stmt, bool]] = [(stmt, False) for stmt in tree.body]
    while stack:
        stmt, nested = stack.pop()
        if nested:
            yield stmt
        inner = nested or isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        for attr in ("body", "orelse", "finalbody"):
            child = getattr(stmt, attr, None)
            if isinstance(child, list) and child and isinstance(child[0], ast.stmt):
                stack.extend((c, inner) for c in child)
        for sub in getattr(stmt, "handlers", ()) or getattr(stmt, "cases", ()):
            stack.extend((c, inner) for c in sub.body)


_COMPOUND_NAMES = {ast.AsyncFor: "for", ast.AsyncWith: "with"}


class _Scope:
    """The names one function or class body binds, and how a call written in it resolves."""

    def __init__(self, node: ast.AST | None, parent: _Scope | None, analysis: _Analysis) -> None:
        self.node = node
        self.parent = parent
        self.analysis = analysis
        self.imports: dict[str, list[str]] = {}
        self.bound: set[str] = set()
        self.declared_global: set[str] = set()
        self._collected = node is None

    def _ensure(self) -> None:
        if not self._collected:
            self._collected = True
            self._collect(self.node)  # type: ignore[arg-type]

    def _collect(self, owner: ast.AST) -> None:
        if isinstance(owner, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            a = owner.args
            for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
                if arg is not None:
                    self.bound.add(arg.arg)
        body = owner.body if isinstance(owner.body, list) else []  # type: ignore[attr-defined]
        stack: list[ast.AST] = list(body)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Global | ast.Nonlocal):
                self.declared_global.update(node.names)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.bound.add(node.name)
                stack.extend(node.decorator_list)
                continue  # its body is another scope
            elif isinstance(node, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
                continue
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    target = alias.name if alias.asname else local
                    self.imports.setdefault(local, []).append(target)
            elif isinstance(node, ast.ImportFrom):
                info = self.analysis.module
                base = (
                    resolve_relative(info.name, info.is_package, node.level, node.module)
                    if node.level
                    else node.module
                )
                for alias in node.names:
                    local = alias.asname or alias.name
                    self.imports.setdefault(local, []).append(f"{base}.{alias.name}" if base else "?")
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
                self.bound.add(node.id)
            elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
                self.bound.add(node.name)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                self.bound.add(node.rest)
            stack.extend(ast.iter_child_nodes(node))
        self.bound -= self.declared_global

    def never_returns(self, call: ast.Call) -> bool:
        name = dotted(call.func)
        if name is None:
            return False
        head, _, rest = name.partition(".")
        at_module = self.analysis.module_resolver(call)
        if not at_module and head not in self.analysis.nested_imports:
            return False  # only a local import could make it never-returning: skip collecting the scopes
        scope: _Scope | None = self
        while scope is not None and scope.node is not None:
            scope._ensure()
            if head in scope.declared_global:
                break
            if head in scope.imports:
                targets = set(scope.imports[head])
                if len(targets) != 1 or head in scope.bound:
                    return False
                qualified = next(iter(targets)) + ("." + rest if rest else "")
                return qualified in EXIT_FUNCTIONS or self.analysis.index.never_returns(qualified)
            if head in scope.bound:
                return False
            scope = scope.parent
            # a function nested in a class does not see the class body's names
            while scope is not None and isinstance(scope.node, ast.ClassDef) and scope is not self:
                scope = scope.parent
        return at_module


class _Analysis:
    """Completion kinds of the module's statements with never-returning calls resolved per scope."""

    def __init__(self, tree: ast.Module, source: str, module: ModuleInfo, index: ProjectIndex) -> None:
        self.tree = tree
        self.source = source
        self.module = module
        self.index = index
        self.module_resolver: Callable[[ast.Call], bool] = local_call_resolver(
            tree, module, index.never_returns
        )
        # names that some import below module level binds (only those can shadow into never-returning)
        self.nested_imports = {
            alias.asname or alias.name.split(".")[0]
            for stmt in _nested_statements(tree)
            if isinstance(stmt, ast.Import | ast.ImportFrom)
            for alias in stmt.names
        }

    def dead_runs(self) -> Iterator[tuple[list[ast.stmt], int]]:
        """(block, index of the statement that never completes) for each block with statements after it."""
        module_scope = _Scope(None, None, self)
        stack: list[tuple[list[ast.stmt], _Scope, Completion]] = [
            (self.tree.body, module_scope, Completion(module_scope.never_returns))
        ]
        while stack:
            block, scope, completion = stack.pop()
            for index, stmt in enumerate(block[:-1]):
                if NORMAL not in completion.kinds(stmt):
                    yield block, index
                    break
            for stmt in block:
                for child_block, child_scope in self._children(stmt, scope):
                    child_completion = (
                        completion if child_scope is scope else Completion(child_scope.never_returns)
                    )
                    stack.append((child_block, child_scope, child_completion))

    def _children(self, stmt: ast.stmt, scope: _Scope) -> Iterator[tuple[list[ast.stmt], _Scope]]:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            inner = _Scope(stmt, scope, self)
            yield stmt.body, inner
            return
        for attr in ("body", "orelse", "finalbody"):
            child = getattr(stmt, attr, None)
            if isinstance(child, list) and child and isinstance(child[0], ast.stmt):
                yield child, scope
        for sub in getattr(stmt, "handlers", ()) or getattr(stmt, "cases", ()):
            yield sub.body, scope

    def describe(self, stmt: ast.stmt) -> str:
        """How the terminator is named in the message."""
        line = stmt.lineno
        if isinstance(stmt, ast.Return | ast.Raise | ast.Break | ast.Continue | ast.Expr):
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                callee = ast.get_source_segment(self.source, stmt.value.func) or "?"
                return f"`{callee}()` (line {line}), which never returns"
            return f"`{type(stmt).__name__.lower()}` (line {line})"
        name = _COMPOUND_NAMES.get(type(stmt), type(stmt).__name__.lower())
        return f"the `{name}` statement on line {line}, which never completes"
