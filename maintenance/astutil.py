"""The `ast` helpers shared by the project index and the codemods: parsing, dotted names, pausing the collector."""

from __future__ import annotations

import ast
import contextlib
import gc
import warnings
from collections.abc import Iterator


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
    """`ast.parse` with the warnings of old escape sequences silenced (raises SyntaxError/ValueError)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


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
