"""MNT001 UnreachableCode: statements after return/raise/continue/break or a call that never returns."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Iterator
from typing import ClassVar

from maintenance.astutil import child_nodes, dotted, module_level_statements, statement_lists, tree_nodes
from maintenance.codemods.base import AstFinding, AstRule, FileContext, IndexCheck, Invalid, NodeRef, cst
from maintenance.index import (
    EXIT_FUNCTIONS,
    Completion,
    ModuleInfo,
    ProjectIndex,
    local_call_resolver,
    resolve_relative,
)
from maintenance.scopes import Scope, Scopes


class UnreachableCode(AstRule):
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
    Dead code misleads readers into thinking it runs, hides undefined names (nothing runs it, so nothing
    reports them), and rots.

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
    `nonlocal` are left alone because they change what the function is. A bare string after
    `return "text"` (the rest of the returned text, cut off by a line break without parentheses) is
    reported with that reading, and its deletion is unsafe: it drops the text the author meant to return.
    """

    CODE: ClassVar[str] = "MNT001"
    NAME: ClassVar[str] = "UnreachableCode"
    FIX_TITLE: ClassVar[str] = "Delete the unreachable statements"
    FIX_SAFETY = "safe"

    INVALID = (
        Invalid(
            "def f():\n    return 1\n    print('dead')\n",
            "def f():\n    return 1\n",
        ),
        # a returned string cut by a line break: the deletion drops text the author meant, so it is unsafe
        Invalid("def describe():\n    return 'Adds noise'\n    ' to the latents.'\n", None),
        Invalid(
            "def describe():\n    return 'Adds noise'\n    ' to the latents.'\n",
            "def describe():\n    return 'Adds noise'\n",
            unsafe_fixes=True,
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
        """The whole analysis runs on `ast`; the prefilter is the analysis itself (see `findings`)."""
        return True

    @classmethod
    def may_match_before_index(cls, tree: ast.Module, source: str, context: FileContext) -> bool | IndexCheck:
        """The analysis itself, each callee of another module taken to return (what the run's index says unless
        it infers otherwise): a finding now is `True`; else the answers it was given, checked against the index
        (the analysis is deterministic: with the same answers it finds the same nothing)."""
        assert context.module is not None
        answers = _Answers(context.module)
        if cls.findings(tree, source, dataclasses.replace(context, index=answers)):  # type: ignore[arg-type]
            return True
        if not answers.given and not context.module.external_calls:
            return False  # nothing the index could answer otherwise (`infer_across`): the run's result
        return answers

    @classmethod
    def findings(cls, tree: ast.Module, source: str, context: FileContext) -> list[AstFinding]:
        """Dead runs from the completion analysis on `ast`, calls resolved per scope through the index."""
        assert context.index is not None and context.module is not None
        analysis = _Analysis(tree, source, context.module, context.index)
        found = []
        lines: list[str] = []
        for block, index in analysis.dead_runs():
            lines = lines or source.splitlines()
            terminator = block[index]
            # statements after the terminator on its own line (`return; x`) belong to its line
            dead = [s for s in block[index + 1 :] if s.lineno > (terminator.end_lineno or terminator.lineno)]
            if not dead or any(_must_keep(stmt) for stmt in dead):
                continue
            count = len(_first_of_each_line(dead))
            what = analysis.describe(terminator)
            refs = [NodeRef.of(stmt, lines) for stmt in _first_of_each_line(dead)]
            message = (
                f"unreachable code: {count} statement{'s' if count > 1 else ''} after {what} can never run"
            )
            cut = _cut_string(terminator, dead[0])
            if cut:
                message += (
                    "; it reads like the rest of the returned text, cut off by the line break: to keep it, "
                    "wrap the strings in parentheses (the deletion is unsafe: it drops the text)"
                )
            found.append(
                AstFinding(
                    refs[0],
                    message,
                    fixes=tuple((ref, _remove) for ref in refs),
                    unsafe=cut,
                    # libcst removes the dead statements with the blank and comment lines above each
                    # (`tests/maintenance/test_engine_snippets.py` holds the two renderings equal)
                    deleted_lines=_deleted_lines(terminator, dead, lines),
                )
            )
        return found


class _Answers:
    """The index of the prefilter in the index pass: every callee of another module returns (only `sys.exit`
    and its kind never do), each question recorded with its answer, and the module's own never-returning
    functions as the local inference found them. `may_match` asks the run's index again."""

    def __init__(self, module: ModuleInfo) -> None:
        self.given: dict[str, bool] = {}
        self.never_returning = _never_returning(module)

    def never_returns(self, qualified: str) -> bool:
        answer = self.given[qualified] = qualified in EXIT_FUNCTIONS
        return answer

    def may_match(self, index: ProjectIndex, module: ModuleInfo) -> bool:
        """Whether the run's index answers some question otherwise, or infers other never-returning functions
        in the module (the analysis could then take another path)."""
        return _never_returning(module) != self.never_returning or any(
            index.never_returns(qualified) != answer for qualified, answer in self.given.items()
        )


def _never_returning(module: ModuleInfo) -> frozenset[str]:
    return frozenset(name for name, function in module.functions.items() if function.never_returns)


def _cut_string(terminator: ast.stmt, first_dead: ast.stmt) -> bool:
    """`return "text"` followed by a bare string (`"more text"`, `+ "more"`): one string the author meant,
    split by a line break without parentheses."""

    def text(node: ast.expr | None) -> bool:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            node = node.operand
        return isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.Constant) and isinstance(node.value, str)
        )

    return (
        isinstance(terminator, ast.Return)
        and text(terminator.value)
        and isinstance(first_dead, ast.Expr)
        and text(first_dead.value)
    )


def _deleted_lines(terminator: ast.stmt, dead: list[ast.stmt], lines: list[str]) -> tuple[int, int] | None:
    """The lines libcst deletes with the dead statements: from the line after the terminator through the
    last dead statement, with the blank and comment lines above each. `None` (libcst renders it) where a
    comment follows the last one at the dead statements' indentation or deeper (libcst may hold it in
    their block); a comment indented less belongs to the code after the block and stays."""
    last = max(stmt.end_lineno or stmt.lineno for stmt in dead)
    following = next((line for line in lines[last:] if line.strip()), "")
    if following.lstrip().startswith("#"):
        block_indent = lines[dead[0].lineno - 1][: dead[0].col_offset]
        comment_indent = following[: len(following) - len(following.lstrip())]
        if not (len(comment_indent) < len(block_indent) and block_indent.startswith(comment_indent)):
            return None
    return (terminator.end_lineno or terminator.lineno) + 1, last


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
        stack.extend(child_nodes(node))
    return False


# ----------------------------------------------------------------------------------------------- analysis


_COMPOUND_NAMES = {ast.AsyncFor: "for", ast.AsyncWith: "with"}
# the statements that hold statement lists (`_children` finds none in any other)
_HAS_BLOCKS = frozenset(
    {
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.If,
        ast.For,
        ast.AsyncFor,
        ast.While,
        ast.With,
        ast.AsyncWith,
        ast.Try,
        ast.TryStar,
        ast.Match,
    }
)


class _ScopeRef:
    """A function or class body (or the module) as the analysis walks it; its `Scope` in the one scope
    model (`maintenance.scopes`) is built only when a call written in it needs resolving."""

    def __init__(
        self,
        node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef | None,
        parent: _ScopeRef | None,
        analysis: _Analysis,
    ) -> None:
        self.node = node
        self.parent = parent
        self.analysis = analysis
        self._scope: Scope | None = None

    def scope(self) -> Scope:
        if self._scope is None:
            scopes = self.analysis.scopes()
            if self.node is None or self.parent is None:
                self._scope = scopes.root
            else:
                self._scope = scopes.child(self.parent.scope(), self.node)
        return self._scope

    def never_returns(self, call: ast.Call) -> bool:
        """Whether the call never returns: a name bound in an enclosing function or class body decides (an
        import of a never-returning function: yes; any other binding: no), else the module's resolver."""
        name = dotted(call.func)
        if name is None:
            return False
        head, _, rest = name.partition(".")
        at_module = self.analysis.module_resolver(call)
        if not at_module and not self.analysis.nested_import_may_exit(head, rest):
            return False  # only a local import could make it never-returning: skip building the scopes
        if self.node is None:
            return at_module
        scope: Scope | None = self.scope()
        while scope is not None and scope.parent is not None:  # the module's own bindings: `at_module`
            if head in scope.redirects:  # `global` / `nonlocal`
                break
            bindings = scope.bindings.get(head, [])
            imports = {id(b.statement): b.statement for b in bindings if b.statement is not None}
            if imports:
                targets = {t for stmt in imports.values() for t in self.analysis.import_targets(stmt, head)}
                if len(targets) != 1 or any(b.statement is None for b in bindings):
                    return False
                qualified = next(iter(targets)) + ("." + rest if rest else "")
                return qualified in EXIT_FUNCTIONS or self.analysis.index.never_returns(qualified)
            if bindings:
                return False
            scope = scope.visible_parent()  # a function nested in a class does not see the class body's names
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
        self._scopes: Scopes | None = None
        # names that some import below module level binds (only those can shadow into never-returning)
        imports = [stmt for kind in (ast.Import, ast.ImportFrom) for stmt in tree_nodes(tree).of(kind)]
        at_module = {id(stmt) for stmt in module_level_statements(tree)} if imports else set()
        self.nested_imports: dict[str, list[ast.Import | ast.ImportFrom]] = {}
        for stmt in imports:
            if id(stmt) not in at_module:
                for alias in stmt.names:
                    self.nested_imports.setdefault(alias.asname or alias.name.split(".")[0], []).append(stmt)
        self._may_exit: dict[tuple[str, str], bool] = {}

    def nested_import_may_exit(self, head: str, rest: str) -> bool:
        """Whether some import below module level that binds `head` makes `head.rest` a never-returning
        function (when none does, no binding in a function or class body can: the scopes are not needed)."""
        key = (head, rest)
        if key not in self._may_exit:
            self._may_exit[key] = any(
                qualified in EXIT_FUNCTIONS or self.index.never_returns(qualified)
                for stmt in self.nested_imports.get(head, ())
                for target in self.import_targets(stmt, head)
                for qualified in [target + ("." + rest if rest else "")]
            )
        return self._may_exit[key]

    def scopes(self) -> Scopes:
        """The module's scopes (built on the first call that needs them)."""
        if self._scopes is None:
            self._scopes = Scopes(self.tree)
        return self._scopes

    def import_targets(self, stmt: ast.Import | ast.ImportFrom, local: str) -> set[str]:
        """The absolute names `stmt` binds to `local` (`import a.b` binds `a`; a relative import is resolved)."""
        if isinstance(stmt, ast.Import):
            return {
                alias.name if alias.asname else local
                for alias in stmt.names
                if (alias.asname or alias.name.split(".")[0]) == local
            }
        info = self.module
        base = (
            resolve_relative(info.name, info.is_package, stmt.level, stmt.module)
            if stmt.level
            else stmt.module
        )
        return {
            f"{base}.{alias.name}" if base else "?"
            for alias in stmt.names
            if (alias.asname or alias.name) == local
        }

    def dead_runs(self) -> Iterator[tuple[list[ast.stmt], int]]:
        """(block, index of the statement that never completes) for each block with statements after it."""
        module_scope = _ScopeRef(None, None, self)
        stack: list[tuple[list[ast.stmt], _ScopeRef, Completion]] = [
            (self.tree.body, module_scope, Completion(module_scope.never_returns))
        ]
        while stack:
            block, scope, completion = stack.pop()
            for index, stmt in enumerate(block[:-1]):
                if not completion.may_complete(stmt):
                    yield block, index
                    break
            for stmt in block:
                if stmt.__class__ not in _HAS_BLOCKS:
                    continue
                for child_block, child_scope in self._children(stmt, scope):
                    child_completion = (
                        completion if child_scope is scope else Completion(child_scope.never_returns)
                    )
                    stack.append((child_block, child_scope, child_completion))

    def _children(self, stmt: ast.stmt, scope: _ScopeRef) -> Iterator[tuple[list[ast.stmt], _ScopeRef]]:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            inner = _ScopeRef(stmt, scope, self)
            yield stmt.body, inner
            return
        for block in statement_lists(stmt):
            yield block, scope

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
