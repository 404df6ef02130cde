"""The `ast` helpers shared by the project index and the codemods: parsing, dotted names, pausing the collector,
and the one walk of a tree that every codemod and the index share (`tree_nodes`)."""

from __future__ import annotations

import ast
import contextlib
import gc
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def cyclic_gc_paused(*, freeze: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector for one unit of work (one file, one chunk of files).

    The trees and summaries of a run are millions of long-lived objects without reference cycles; every
    full collection walks all of them again, so keeping the trees would make parsing several times slower
    (docs/maintenance.md has the figures). Objects are still freed by reference counting while the
    collector is paused; cyclic garbage of the unit (libcst's trees hold some) is left to the next
    collection after it, which walks only what the unit allocated and kept. `freeze=True` instead moves
    everything still alive to the permanent generation (`gc.freeze`), which later collections no longer
    walk: for a worker's trees and summaries, kept for the rest of the run (the `ast` pass makes no
    cyclic garbage to leak).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        if freeze:
            gc.freeze()


def parse(source: str) -> ast.Module:
    """`ast.parse` with the warnings of old escape sequences silenced (raises SyntaxError/ValueError).

    `warnings.catch_warnings` swaps the process's filter list, so two threads inside it at once (the ruff
    side of a run makes its fix policy beside the analysis) leave the other's filters behind: one lock
    for every silenced parse, held by no thread when a worker process is forked.
    """
    with _SILENCED, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


_SILENCED = threading.Lock()
if hasattr(os, "register_at_fork"):  # (not on Windows, which does not fork)
    os.register_at_fork(
        before=_SILENCED.acquire, after_in_parent=_SILENCED.release, after_in_child=_SILENCED.release
    )


def dotted(node: ast.expr) -> str | None:
    """`a.b.c` for an `ast` Name/Attribute chain, else `None`."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class TreeNodes:
    """Every node of one `ast` tree, bucketed by exact type, from a single walk shared by all codemods.

    `of(ast.Call)` lists the calls in `ast.walk` order (breadth first, fields in order); with several
    types the lists are merged back into that order. Get it with `tree_nodes(tree)`: the walk is made once
    per tree, however many codemods ask (a walk of the whole tree costs about as much as parsing it). The walk leaves out the leaves no codemod asks for, the operator and context singletons
    (`ast.Load`, `ast.Add`, `ast.Eq`, ...: a third of all nodes), and does not look into the fields that
    hold strings or numbers; removing leaves from a breadth-first order keeps the order of the rest.
    """

    def __init__(self, tree: ast.AST) -> None:
        order: list[ast.AST] = [tree]  # breadth first: the list is its own queue (iterated as it grows)
        append, node_type, known = order.append, ast.AST, _CHILD_FIELDS
        buckets: dict[type, list[ast.AST]] = {}
        for node in order:
            kind = node.__class__
            names = known.get(kind)
            if names is None:
                names = _child_fields(kind)
            bucket = buckets.get(kind)
            if bucket is None:
                buckets[kind] = [node]
            else:
                bucket.append(node)
            for name in names:
                value = getattr(node, name, None)
                if value.__class__ is list:
                    for item in value:
                        if isinstance(item, node_type):
                            append(item)
                elif isinstance(value, node_type):
                    append(value)
        self._buckets = buckets
        self._all = order
        self._position: dict[int, int] | None = None

    def of(self, *types: type) -> list:
        """The nodes of exactly these types (no subclasses: `ast.stmt` is abstract), in walk order."""
        if any(issubclass(kind, _LEFT_OUT) for kind in types):
            raise ValueError(f"TreeNodes does not list operator or context nodes: {types}")
        if len(types) == 1:
            return list(self._buckets.get(types[0], ()))
        found = [node for kind in types for node in self._buckets.get(kind, ())]
        if len({type(node) for node in found}) > 1:
            if self._position is None:
                self._position = {id(node): i for i, node in enumerate(self._all)}
            found.sort(key=lambda node: self._position[id(node)])  # type: ignore[index]
        return found

    def all(self) -> list[ast.AST]:
        """Every node but the operator and context leaves, in `ast.walk` order."""
        return list(self._all)


_LEFT_OUT = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
# fields that hold only strings, numbers or lists of strings (never a node): not looked into
_SCALAR_FIELDS = {
    "Name": {"id"},
    "Attribute": {"attr"},
    "Constant": {"value", "kind"},
    "FunctionDef": {"name", "type_comment"},
    "AsyncFunctionDef": {"name", "type_comment"},
    "ClassDef": {"name"},
    "arg": {"arg", "type_comment"},
    "keyword": {"arg"},
    "alias": {"name", "asname"},
    "ImportFrom": {"module", "level"},
    "Global": {"names"},
    "Nonlocal": {"names"},
    "FormattedValue": {"conversion"},
    "ExceptHandler": {"name"},
    "Assign": {"type_comment"},
    "For": {"type_comment"},
    "AsyncFor": {"type_comment"},
    "With": {"type_comment"},
    "AsyncWith": {"type_comment"},
    "AnnAssign": {"simple"},
    "comprehension": {"is_async"},
    "MatchAs": {"name"},
    "MatchStar": {"name"},
    "MatchMapping": {"rest"},
    "MatchClass": {"kwd_attrs"},
}
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    """The fields of a node type that may hold nodes the walk keeps (not `ctx`/`op`/`ops`, not scalars)."""
    scalar = _SCALAR_FIELDS.get(kind.__name__, set())
    names = tuple(f for f in kind._fields if f not in {"ctx", "op", "ops"} and f not in scalar)
    _CHILD_FIELDS[kind] = names
    return names


# what was computed on the last tree (one file is analysed at a time): its walk, statements, aliases
_LAST_TREE: list[tuple[ast.AST, dict[str, object]]] = []


def per_tree(tree: ast.AST, key: str, compute: Callable[[ast.AST], Any]) -> Any:
    """`compute(tree)`, memoized under `key` for the last tree asked about (one file at a time)."""
    if not (_LAST_TREE and _LAST_TREE[0][0] is tree):
        _LAST_TREE[:] = [(tree, {})]
    memo = _LAST_TREE[0][1]
    if key not in memo:
        memo[key] = compute(tree)
    return memo[key]


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """`ast.iter_child_nodes(node)` without the operator and context leaves (same order), several times
    faster: only the fields that can hold such nodes are looked at."""
    names = _CHILD_FIELDS.get(node.__class__)
    if names is None:
        names = _child_fields(node.__class__)
    found: list[ast.AST] = []
    for name in names:
        value = getattr(node, name, None)
        if value.__class__ is list:
            found.extend(item for item in value if isinstance(item, ast.AST))
        elif isinstance(value, ast.AST):
            found.append(value)
    return found


def parents(tree: ast.AST) -> dict[int, tuple[ast.AST, list[ast.stmt] | None]]:
    """id(node) -> (its parent, the statement list it sits in when it is a statement) for every node of
    `tree` but the operator and context leaves; built once per tree from its `TreeNodes` walk."""
    return per_tree(tree, "parents", _parents)


def _parents(tree: ast.AST) -> dict[int, tuple[ast.AST, list[ast.stmt] | None]]:
    found: dict[int, tuple[ast.AST, list[ast.stmt] | None]] = {}
    for node in tree_nodes(tree)._all:
        for child in child_nodes(node):
            found[id(child)] = (node, None)
        for name in _STATEMENT_LISTS:  # the fields that hold statement lists
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, ast.stmt):
                        found[id(item)] = (node, value)
    return found


_STATEMENT_LISTS = ("body", "orelse", "finalbody")


def share_walk(tree: ast.AST, nodes: TreeNodes) -> None:
    """Make `nodes`, the walk of `tree` made earlier and kept with it, the last tree's walk."""
    _LAST_TREE[:] = [(tree, {"nodes": nodes})]


def tree_nodes(tree: ast.AST) -> TreeNodes:
    """The `TreeNodes` of `tree`, walked once: the last tree's walk is kept for the next codemod."""
    return per_tree(tree, "nodes", TreeNodes)


def module_level_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Statements outside function and class bodies (in the module's `if`, `try`, `with`, ... blocks too);
    every other statement of the tree is nested in a function or class body."""
    return nested_statements(tree, into_bodies=False)


def nested_statements(node: ast.Module | ast.stmt, *, into_bodies: bool = True) -> Iterator[ast.stmt]:
    """Every statement in `node`'s statement lists at any depth, without walking expressions; with
    `into_bodies=False`, not those of the function and class bodies below it."""
    stack: list[ast.stmt] = list(node.body)  # type: ignore[union-attr]
    while stack:
        stmt = stack.pop()
        yield stmt
        if not into_bodies and isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for block in statement_lists(stmt):
            stack.extend(block)


def statement_lists(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """The statement's own non-empty statement lists: `body`, `orelse`, `finalbody`, then each `except` or
    `case` clause's body."""
    found = []
    for attr in ("body", "orelse", "finalbody"):
        child = getattr(stmt, attr, None)
        if isinstance(child, list) and child and isinstance(child[0], ast.stmt):
            found.append(child)
    found.extend(sub.body for sub in getattr(stmt, "handlers", ()) or getattr(stmt, "cases", ()))
    return found


def first_line(node: ast.AST) -> int:
    """The first line of a node, a `def`'s or `class`'s decorators included."""
    decorators = getattr(node, "decorator_list", None)
    if not decorators:
        return node.lineno  # type: ignore[attr-defined]
    return min(node.lineno, *(decorator.lineno for decorator in decorators))  # type: ignore[attr-defined]
