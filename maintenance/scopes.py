"""Qualified names of `ast` expressions, answered the way libcst's `QualifiedNameProvider` answers them.

A codemod that decides on the `ast` tree ("ast first") and needs qualified names (`@dataclass` ->
`dataclasses.dataclass`, `list` -> `builtins.list`, a local class `C` -> `C`) asks this module, the one
scope model of `maintenance` (MNT001 resolves calls in nested bodies through it too): `Scopes(tree)` models the module, class and function scopes of the file lazily (a scope is
built the first time something in it is asked about) and `qualified_names(node, scope_of)` returns the
same set of names libcst's scope analysis gives, without resolving metadata over the whole file.

The rules are libcst's (`libcst.metadata.scope_provider`, the oracle of `tests/maintenance/
test_mnt002_differential.py`):
- a `Name` resolves in its scope, then the enclosing function/module scopes (class scopes are skipped
  from inside nested functions), then builtins; `global`/`nonlocal` redirect; of the bindings in the
  access's own scope only those made by an earlier statement count (if none is earlier, the enclosing
  scope's bindings are used);
- an `Attribute` chain `a.b.c` resolves its longest bound prefix in the scope (every binding, in any
  order) and appends the rest;
- a local binding is named `<scope prefix>.<name>` (`f.<locals>.x`, `Outer.Inner`), a builtin
  `builtins.<name>`, an import by the module it comes from (`from .x import y` -> `.x.y`).
Comprehension scopes and the names bound by `global` inside a function are not modelled; no codemod asks
about names there.
"""

from __future__ import annotations

import ast
import bisect
import builtins
from collections.abc import Iterator
from dataclasses import dataclass, field

from maintenance.astutil import child_nodes, dotted, first_line, module_level_statements, tree_nodes

Position = tuple[int, int]
ScopeNode = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


@dataclass(frozen=True)
class Binding:
    """One binding of a name in a scope; `after` is where the binding statement ends (order rules).

    `owner` is the innermost statement that binds the name (an `Assign`, a `def`, a `for`, ...); `None`
    for a parameter and a builtin. A rule that follows what a name holds reads the value from it.
    """

    name: str
    after: Position
    statement: ast.Import | ast.ImportFrom | None = None  # set for imports
    builtin: bool = False
    owner: ast.stmt | None = field(default=None, compare=False)

    def qualified_names(self, scope: Scope, full_name: str) -> set[str]:
        """The qualified names of `full_name` (this binding's name, or a dotted name starting with it)."""
        if self.builtin:
            return {f"builtins.{self.name}"}
        if self.statement is None:
            return {f"{scope.prefix}.{full_name}" if scope.prefix else full_name}
        return _import_names(self.statement, full_name)


class Scope:
    """A module, class or function scope and the names bound directly in it (`bindings`, `redirects`),
    which are found the first time either is read: most scopes of a file are never asked about."""

    __slots__ = ("_bindings", "_redirects", "node", "parent", "prefix")

    def __init__(self, node: ScopeNode, parent: Scope | None, prefix: str) -> None:
        self.node = node
        self.parent = parent
        self.prefix = prefix
        self._bindings: dict[str, list[Binding]] | None = None
        self._redirects: dict[str, str] = {}  # name -> "global" | "nonlocal"

    @property
    def bindings(self) -> dict[str, list[Binding]]:
        if self._bindings is None:
            self._bindings = _scope_bindings(self.node, self._redirects)
        return self._bindings

    @property
    def redirects(self) -> dict[str, str]:
        if self._bindings is None:
            self._bindings = _scope_bindings(self.node, self._redirects)
        return self._redirects

    @property
    def is_class(self) -> bool:
        return isinstance(self.node, ast.ClassDef)

    def visible_parent(self) -> Scope | None:
        """The enclosing scope whose names this scope sees (class scopes are skipped)."""
        parent = self.parent
        while parent is not None and parent.is_class:
            parent = parent.parent
        return parent

    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def resolve(self, name: str, from_scope: Scope) -> list[tuple[Scope, Binding]]:
        """Every binding `name` may refer to from `from_scope`, before the order rule (libcst's `scope[name]`)."""
        redirect = self.redirects.get(name)
        if redirect is not None:
            target = self.module() if redirect == "global" else self.visible_parent()
            return target.resolve(name, from_scope) if target is not None else []
        if name in self.bindings:
            return [(self, b) for b in self.bindings[name]]
        parent = from_scope.visible_parent() if self is from_scope else self.visible_parent()
        if parent is None:
            return _builtin(self, name)
        return parent.resolve(name, from_scope)

    def contains(self, name: str) -> bool:
        """Whether `name` is bound here or in a visible enclosing scope (or is a builtin)."""
        return bool(self.resolve(name, self))


class Scopes:
    """The scopes of one module, built on demand; `scope_of(node)` for a statement's enclosing scope."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self._scopes: dict[int, Scope] = {}
        self.root = self._build(tree, None, "")
        self._in_bodies: set[str] | None = None

    def resolve(self, name: str, scope: Scope) -> list[tuple[Scope, Binding]]:
        """`scope.resolve(name, scope)`; a name that no function or class body of the module binds is
        answered by the module scope alone, without finding the bindings of the scopes in between (the
        answer is the same: no redirect and no enclosing scope can stop the lookup before the module)."""
        if self._in_bodies is None:
            self._in_bodies = _bound_in_bodies(self.tree)
        if name not in self._in_bodies:
            return self.root.resolve(name, self.root)
        return scope.resolve(name, scope)

    def child(self, parent: Scope, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> Scope:
        """The scope a class or function body opens inside `parent`."""
        known = self._scopes.get(id(node))
        if known is not None:
            return known
        if isinstance(node, ast.ClassDef):
            prefix = ".".join(p for p in (parent.prefix, node.name) if p)
        else:
            prefix = ".".join(p for p in (parent.prefix, node.name, "<locals>") if p)
        return self._build(node, parent, prefix)

    def _build(self, node: ScopeNode, parent: Scope | None, prefix: str) -> Scope:
        scope = Scope(node, parent, prefix)
        self._scopes[id(node)] = scope
        return scope

    def qualified_names(self, node: ast.expr, scope: Scope) -> set[str]:
        """libcst's qualified names of the Name/Attribute chain `node` evaluated in `scope`."""
        full_name = dotted(node)
        if full_name is None:
            return set()
        if isinstance(node, ast.Name):
            found = scope.resolve(node.id, scope)
            at = (node.lineno, node.col_offset)
            earlier = [(s, b) for s, b in found if s is not scope or b.after <= at]
            if not earlier and found:  # bound only later here: the enclosing scope's (builtins for a module)
                earlier = scope.parent.resolve(node.id, scope) if scope.parent else _builtin(scope, node.id)
            return _names_of(earlier, node.id)
        prefix: str | None = full_name
        while prefix:
            if scope.contains(prefix):
                return _names_of(scope.resolve(prefix, scope), full_name)
            prefix = prefix.rpartition(".")[0] or None
        return set()


def _names_of(found: list[tuple[Scope, Binding]], full_name: str) -> set[str]:
    return {name for scope, binding in found for name in binding.qualified_names(scope, full_name)}


def _builtin(scope: Scope, name: str) -> list[tuple[Scope, Binding]]:
    return [(scope, Binding(name, (0, 0), builtin=True))] if hasattr(builtins, name) else []


def _scope_bindings(node: ScopeNode, redirects: dict[str, str]) -> dict[str, list[Binding]]:
    """The names bound directly in the scope `node` opens (its parameters, then its body's bindings in
    order); its `global`/`nonlocal` names go into `redirects` instead."""
    bindings: dict[str, list[Binding]] = {}
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        args = node.args
        at = (node.lineno, node.col_offset)
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                bindings.setdefault(arg.arg, []).append(Binding(arg.arg, at))
    body = [node.body] if isinstance(node, ast.Lambda) else node.body
    for stmt in body:
        for name, binding_stmt in _bindings(stmt):
            if isinstance(binding_stmt, ast.Global | ast.Nonlocal):
                redirects[name] = "global" if isinstance(binding_stmt, ast.Global) else "nonlocal"
                continue
            end = (binding_stmt.end_lineno or binding_stmt.lineno, binding_stmt.end_col_offset or 0)
            imported = binding_stmt if isinstance(binding_stmt, ast.Import | ast.ImportFrom) else None
            bindings.setdefault(name, []).append(Binding(name, end, imported, owner=binding_stmt))
    return bindings


def _import_names(stmt: ast.Import | ast.ImportFrom, full_name: str) -> set[str]:
    """libcst's `ImportAssignment.get_qualified_names_for`: every alias of the statement is tried."""
    module = ""
    if isinstance(stmt, ast.ImportFrom):
        module = "." * stmt.level + (stmt.module or "")
    results: set[str] = set()
    for alias in stmt.names:
        if alias.name == "*":
            continue
        parts = alias.name.split(".")
        for i in range(len(parts), 0, -1):
            real_name = as_name = ".".join(parts[:i])
            if module.endswith("."):
                real_name = f"{module}{real_name}"
            elif module:
                real_name = f"{module}.{real_name}"
            if alias.asname:
                as_name = alias.asname
            if full_name.startswith(as_name):
                remaining = full_name.split(as_name, 1)[1]
                if remaining and not remaining.startswith("."):
                    continue
                remaining = remaining.lstrip(".")
                results.add(f"{real_name}.{remaining}" if remaining else real_name)
                break
    return results


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _bindings(stmt: ast.stmt) -> Iterator[tuple[str, ast.stmt]]:
    """(name, innermost statement) for every name `stmt` binds in its own scope (nested scopes excluded)."""
    stack: list[tuple[ast.AST, ast.stmt]] = [(stmt, stmt)]
    while stack:
        node, owner = stack.pop()
        if isinstance(node, ast.stmt):
            owner = node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name, owner
            children: list[ast.AST] = list(node.decorator_list)
            if isinstance(node, ast.ClassDef):
                children += [*node.bases, *node.keywords]
            else:
                children += [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
            stack.extend((child, owner) for child in children)
            continue
        if isinstance(node, (ast.Lambda, *_COMPREHENSIONS)):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    continue
                if alias.asname:
                    yield alias.asname, owner
                else:
                    parts = alias.name.split(".")
                    for i in range(len(parts), 0, -1):
                        yield ".".join(parts[:i]), owner
            continue
        if isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                yield name, node
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            if isinstance(node.ctx, ast.Store):
                yield node.id, owner
            continue
        if isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            yield node.name, owner
        elif isinstance(node, ast.MatchMapping) and node.rest:
            yield node.rest, owner
        stack.extend((child, owner) for child in child_nodes(node))


def _bound_in_bodies(tree: ast.Module) -> set[str]:
    """A superset of the names some function or class body of `tree` binds (parameters included), from
    the shared walk: a binding in a body lies within the lines of a module-level `def` or `class`."""
    nodes = tree_nodes(tree)
    top = [
        stmt
        for stmt in module_level_statements(tree)
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    spans = sorted((first_line(stmt), stmt.end_lineno or stmt.lineno) for stmt in top)
    starts = [first for first, _ in spans]

    def inside(node: ast.AST) -> bool:
        line = getattr(node, "lineno", None)
        if line is None:
            return True
        at = bisect.bisect_right(starts, line) - 1
        return at >= 0 and line <= spans[at][1]

    top_ids = {id(stmt) for stmt in top}
    names = {arg.arg for arg in nodes.of(ast.arg)}
    # an assignment expression may sit in an f-string, whose inner positions Python 3.11 may misplace
    names.update(node.target.id for node in nodes.of(ast.NamedExpr) if isinstance(node.target, ast.Name))
    names.update(
        node.name
        for node in nodes.of(ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        if id(node) not in top_ids
    )
    names.update(node.id for node in nodes.of(ast.Name) if node.ctx.__class__ is ast.Store and inside(node))
    for stmt in nodes.of(ast.Import, ast.ImportFrom):
        if inside(stmt):
            for alias in stmt.names:
                parts = (alias.asname or alias.name).split(".")
                names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    for node in nodes.of(ast.ExceptHandler, ast.MatchAs, ast.MatchStar, ast.MatchMapping):
        name = node.rest if isinstance(node, ast.MatchMapping) else node.name
        if name and inside(node):
            names.add(name)
    return names
