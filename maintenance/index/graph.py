"""The import graph of the project: its components, the transitive dependencies of every module in one
pass, and digests of what each module reaches.

A module depends on the project modules it imports and on their parent packages (importing `a.b.c` runs
`a/__init__.py` and `a/b/__init__.py`, which may re-export). The closures are what the result cache keys
on: a change in one file invalidates the results of every file that depends on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

from maintenance.index.model import ModuleInfo


def components(
    unique: Sequence[ModuleInfo], direct: Mapping[int, set[str]], modules: Mapping[str, ModuleInfo]
) -> list[list[ModuleInfo]]:
    """The strongly connected components of the import graph in reverse topological order (a component
    comes after every component it reaches), from Tarjan's algorithm (iterative); `direct[id(m)]` holds
    the names one step from `m` (keys of `modules`)."""
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[ModuleInfo] = []
    found: list[list[ModuleInfo]] = []
    for root in unique:
        if id(root) in order:
            continue
        work = [(root, iter(direct[id(root)]))]
        order[id(root)] = low[id(root)] = len(order)
        stack.append(root)
        on_stack.add(id(root))
        while work:
            node, successors = work[-1]
            advanced = False
            for name in successors:
                succ = modules[name]
                if id(succ) not in order:
                    order[id(succ)] = low[id(succ)] = len(order)
                    stack.append(succ)
                    on_stack.add(id(succ))
                    work.append((succ, iter(direct[id(succ)])))
                    advanced = True
                    break
                if id(succ) in on_stack:
                    low[id(node)] = min(low[id(node)], order[id(succ)])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[id(parent)] = min(low[id(parent)], low[id(node)])
            if low[id(node)] != order[id(node)]:
                continue
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(id(member))
                members.append(member)
                if member is node:
                    break
            found.append(members)
    return found


def dependency_closures(
    unique: Sequence[ModuleInfo], direct: Mapping[int, set[str]], modules: Mapping[str, ModuleInfo]
) -> dict[int, frozenset[str]]:
    """Every module's transitive dependencies, keyed by `id()` of its summary (itself included when it is
    on a cycle).

    A component's closure is the union of its members' direct names and of its successors' closures,
    already known (`components` comes in reverse topological order): one pass over the edges instead of
    a search per module. The sets grow with the square of the project (every module of a package that
    imports its `__init__` reaches most of it): the result cache keys on `closure_digests` instead.
    """
    closure: dict[int, frozenset[str]] = {}
    for members in components(unique, direct, modules):
        ids = {id(m) for m in members}
        reach: set[str] = set()
        for member in members:
            reach |= direct[id(member)]
            for name in direct[id(member)]:
                target = id(modules[name])
                if target not in ids:
                    reach |= closure[target]
        frozen = frozenset(reach)
        for member in members:
            closure[id(member)] = frozen
    return closure


def closure_digests(
    unique: Sequence[ModuleInfo],
    direct: Mapping[int, set[str]],
    modules: Mapping[str, ModuleInfo],
    leaf: Callable[[ModuleInfo], str],
) -> dict[int, str]:
    """For every module, a digest of `leaf(d)` over everything its component reaches, its own members
    included, keyed by `id()` of its summary: a Merkle hash over the component graph (the digest of a
    component hashes its members' leaves and its successor components' digests, sorted).

    It changes whenever the leaf of any module the component reaches changes, as a digest of the whole
    closure would, in memory that grows with the graph rather than with the square of it.
    """
    digests: dict[int, str] = {}
    for members in components(unique, direct, modules):
        ids = {id(m) for m in members}
        successors = {
            digests[id(modules[name])]
            for member in members
            for name in direct[id(member)]
            if id(modules[name]) not in ids
        }
        digest = hashlib.blake2b(digest_size=12)
        for part in (*sorted(leaf(m) for m in members), "|", *sorted(successors)):
            digest.update(part.encode())
            digest.update(b"\n")
        text = digest.hexdigest()
        for member in members:
            digests[id(member)] = text
    return digests
