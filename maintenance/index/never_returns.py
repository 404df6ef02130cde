"""Never-returning inference: which functions of the project always raise or exit, soundly.

`Completion` says how statements complete on `ast`; `infer_never_returning` marks a module's functions
to a fixpoint with the answers for imported callees given by the caller, and `infer_across` repeats it
across the project's modules until no answer changes.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from maintenance.astutil import dotted
from maintenance.index.model import EXIT_FUNCTIONS, ModuleInfo, can_rebind

if TYPE_CHECKING:
    from maintenance.index.project import ProjectIndex


NORMAL, RETURN, RAISE, BREAK, CONTINUE = "normal", "return", "raise", "break", "continue"


# statements that always complete normally here (the last case of `Completion._kinds`), tested first
_PLAIN = frozenset(
    {
        ast.Assign,
        ast.AugAssign,
        ast.AnnAssign,
        ast.Import,
        ast.ImportFrom,
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.Pass,
        ast.Delete,
        ast.Assert,
        ast.Global,
        ast.Nonlocal,
    }
)


class Completion:
    """How statements complete (fall through, return, raise, break, continue), on `ast`.

    `never_returns(call)` decides whether an expression-statement call never returns; `with` blocks
    always may complete (their context manager may swallow an exception).
    """

    def __init__(self, never_returns: Any) -> None:
        self.never_returns = never_returns
        self._memo: dict[int, set[str]] = {}

    def may_complete(self, stmt: ast.stmt) -> bool:
        """Whether `stmt` may fall through (`NORMAL in kinds(stmt)`; a plain statement is not memoized)."""
        return stmt.__class__ in _PLAIN or NORMAL in self.kinds(stmt)

    def kinds(self, stmt: ast.stmt) -> set[str]:
        key = id(stmt)
        if key not in self._memo:
            self._memo[key] = self._kinds(stmt)
        return self._memo[key]

    def _kinds(self, stmt: ast.stmt) -> set[str]:
        if stmt.__class__ in _PLAIN:  # most statements: no test of each kind below
            return {NORMAL}
        if isinstance(stmt, ast.Return):
            return {RETURN}
        if isinstance(stmt, ast.Raise):
            return {RAISE}
        if isinstance(stmt, ast.Break):
            return {BREAK}
        if isinstance(stmt, ast.Continue):
            return {CONTINUE}
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            return {RAISE} if self.never_returns(stmt.value) else {NORMAL}
        if isinstance(stmt, ast.If):
            return self.block(stmt.body) | (self.block(stmt.orelse) if stmt.orelse else {NORMAL})
        if isinstance(stmt, ast.While | ast.For | ast.AsyncFor):
            body = self.block(stmt.body)
            out = body & {RETURN, RAISE}
            if BREAK in body:
                out.add(NORMAL)
            infinite = (
                isinstance(stmt, ast.While) and isinstance(stmt.test, ast.Constant) and bool(stmt.test.value)
            )
            if not infinite:
                out |= self.block(stmt.orelse) if stmt.orelse else {NORMAL}
            return out
        if isinstance(stmt, ast.With | ast.AsyncWith):
            return self.block(stmt.body) | {NORMAL}
        if isinstance(stmt, ast.Try | ast.TryStar):
            body = self.block(stmt.body)
            out = body - {NORMAL}
            if NORMAL in body:
                out |= self.block(stmt.orelse) if stmt.orelse else {NORMAL}
            for handler in stmt.handlers:
                out |= self.block(handler.body)
            if stmt.finalbody:
                final = self.block(stmt.finalbody)
                out = final if NORMAL not in final else out | (final - {NORMAL})
            return out
        if isinstance(stmt, ast.Match):
            out = {NORMAL}
            for case in stmt.cases:
                out |= self.block(case.body)
            return out
        return {NORMAL}

    def block(self, stmts: list[ast.stmt]) -> set[str]:
        acc: set[str] = set()
        for stmt in stmts:
            k = self.kinds(stmt)
            acc |= k - {NORMAL}
            if NORMAL not in k:
                return acc
        return acc | {NORMAL}


def local_call_resolver(tree: ast.Module, info: ModuleInfo, external: Any) -> Any:
    """A `never_returns(call)` for calls in `tree`: exits, local never-returning functions, `external(q)`."""
    aliases = {local: info.import_target(local) for local in info.imports}

    def never_returns(call: ast.Call) -> bool:
        name = dotted(call.func)
        if name is None:
            return False
        head, _, rest = name.partition(".")
        if head in info.functions and not rest:
            func = info.functions[head]
            return func.never_returns
        target = aliases.get(head)
        if target is not None:
            qualified = target + ("." + rest if rest else "")
            return qualified in EXIT_FUNCTIONS or bool(external(qualified))
        if head in info.binding_counts or head in info.classes:
            return False
        return name in {"exit", "quit"}

    return never_returns


def infer_never_returning(tree: ast.Module, info: ModuleInfo, external: Any) -> None:
    """Mark the module's functions that never return, to a fixpoint (sound; see `FunctionInfo`).

    `external(qualified)` says whether an imported callee never returns; the names it is asked about are
    added to `info.external_calls`. The inference is deterministic, so with the same answers to those
    names it takes the same path and gives the same result: a later run whose `external` says "returns"
    to each of them needs no tree (`_infer_across`).
    """
    asked: set[str] = set(info.external_calls)

    def ask(qualified: str) -> bool:
        asked.add(qualified)
        return bool(external(qualified))

    defs = {
        s.name: s
        for s in tree.body
        if isinstance(s, ast.FunctionDef) and s.name in info.functions and not can_rebind(info, s.name)
    }
    candidates = [
        defs[n]
        for n, f in info.functions.items()
        if n in defs and not f.decorated and not f.is_async and not f.is_generator
    ]
    for func in info.functions.values():
        func.never_returns = False
    for stmt in candidates:
        if info.functions[stmt.name].annotated_no_return:
            info.functions[stmt.name].never_returns = True
    completion = Completion(local_call_resolver(tree, info, ask))
    changed = True
    while changed:
        changed = False
        for stmt in candidates:
            func = info.functions[stmt.name]
            if not func.never_returns and completion.block(stmt.body) == {RAISE}:
                func.never_returns = True
                completion._memo.clear()
                changed = True
    info.external_calls = sorted(asked)


def infer_across(
    index: ProjectIndex, pending: list[ModuleInfo], tree_of: Callable[[ModuleInfo], ast.Module]
) -> None:
    """Never-returning inference of the `pending` modules across the project, to a fixpoint.

    Every summary holds the local inference (each imported callee taken to return) and the imported
    callees it asked about (`ModuleInfo.external_calls`). A module is re-inferred with the cross-module
    resolver only when the answers for those callees change: while every one of them returns, the local
    result is the cross-module one, and the module needs no tree (`tree_of` parses on demand).
    """
    changed = True
    rounds = 0
    answered: dict[int, frozenset[str]] = {}  # module -> the callees found never-returning at its inference
    while changed and rounds < 10:
        changed = False
        rounds += 1
        for info in pending:
            hits = frozenset(q for q in info.external_calls if index.never_returns(q))
            if hits == answered.get(id(info), frozenset()):
                continue
            answered[id(info)] = hits
            before = {n for n, f in info.functions.items() if f.never_returns}
            infer_never_returning(tree_of(info), info, index.never_returns)
            after = {n for n, f in info.functions.items() if f.never_returns}
            if before != after:
                changed = True
