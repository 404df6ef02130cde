"""The import graph of the project: the transitive dependencies of every module in one pass.

A module depends on the project modules it imports and on their parent packages (importing `a.b.c` runs
`a/__init__.py` and `a/b/__init__.py`, which may re-export). The closures are what the result cache keys
on: a change in one file invalidates the results of every file that depends on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from maintenance.index.model import ModuleInfo


def dependency_closures(
    unique: Sequence[ModuleInfo], direct: Mapping[int, set[str]], modules: Mapping[str, ModuleInfo]
) -> dict[int, frozenset[str]]:
    """Every module's transitive dependencies, keyed by `id()` of its summary (itself included when it is
    on a cycle); `direct[id(m)]` holds the names one step from `m` (keys of `modules`).

    The strongly connected components come out of Tarjan's algorithm (iterative) in reverse topological
    order, so a component's closure is the union of its members' direct names and of its successors'
    closures, already known: one pass over the edges instead of a search per module.
    """
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[ModuleInfo] = []
    closure: dict[int, frozenset[str]] = {}
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
