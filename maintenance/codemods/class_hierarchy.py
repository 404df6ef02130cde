"""Which classes of a module derive from a known library class (used by MNT006 and MNT008).

Bases are resolved with the module's imports (`from torch.utils.data import Dataset as D` makes `D`
`torch.utils.data.Dataset`) and through the module's own classes, to any depth. A base that comes from
another module of the project is handed to `resolve_external` (the project index) when one is given.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from maintenance.codemods.base import dotted_name, import_aliases

# qualified base name -> True when it derives from one of the roots asked about, None when unknown
ExternalResolver = Callable[[str, Collection[str]], bool | None]


@dataclass
class ModuleClasses:
    """The classes of one module, their bases as qualified names (local classes by their own name)."""

    aliases: dict[str, str]
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    bases: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, tree: ast.Module) -> ModuleClasses:
        """Collect every class of `tree` (nested ones too, keyed by their own name)."""
        aliases = import_aliases(tree)
        aliases.update(_relative_aliases(tree))
        found = cls(aliases=aliases)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                found.classes.setdefault(node.name, node)
        for name, node in found.classes.items():
            found.bases[name] = [q for q in (found.qualify(b) for b in node.bases) if q is not None]
        return found

    def qualify(self, node: ast.expr) -> str | None:
        """The qualified name of a base expression: a local class stays its name, imports are resolved."""
        if isinstance(node, ast.Subscript):  # Dataset[T], Generic[T]
            node = node.value
        name = dotted_name(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in self.classes and not rest:
            return head
        if head in self.aliases:
            return self.aliases[head] + ("." + rest if rest else "")
        return name

    def derives_from(
        self,
        name: str,
        roots: Collection[str],
        resolve_external: ExternalResolver | None = None,
        *,
        unknown: bool = False,
    ) -> bool:
        """Whether local class `name` derives from one of `roots` (qualified names).

        A base that is neither a root, a local class nor resolvable by `resolve_external` counts as
        `unknown` (pass `True` where an unresolved project base should be given the benefit of the doubt).
        """
        seen: set[str] = set()
        stack = [name]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            for base in self.bases.get(current, ()):
                if base in roots:
                    return True
                if base in self.classes:
                    stack.append(base)
                    continue
                verdict = resolve_external(base, roots) if resolve_external is not None else None
                if verdict is True:
                    return True
                if verdict is None and unknown and _is_project_name(base, self.aliases):
                    return True
        return False

    def ancestors(self, name: str) -> list[ast.ClassDef]:
        """The class itself and every local class it derives from (nearest first)."""
        out: list[ast.ClassDef] = []
        stack = [name]
        while stack:
            current = stack.pop(0)
            node = self.classes.get(current)
            if node is None or node in out:
                continue
            out.append(node)
            stack.extend(b for b in self.bases.get(current, ()) if b in self.classes)
        return out


def _relative_aliases(tree: ast.Module) -> dict[str, str]:
    """`from .base import BaseLoss` -> {"BaseLoss": ".base.BaseLoss"} (a project-relative import)."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            prefix = "." * node.level + (node.module or "")
            for alias in node.names:
                out[alias.asname or alias.name] = (
                    f"{prefix}.{alias.name}" if node.module else prefix + alias.name
                )
    return out


def _is_project_name(qualified: str, aliases: dict[str, str]) -> bool:
    """Whether a base name may come from the project itself (relative import or not a known library)."""
    if qualified.startswith("."):
        return True
    top = qualified.split(".")[0]
    return top not in KNOWN_LIBRARIES and qualified in aliases.values()


# top-level packages whose classes are never the project's own (an unresolved base from these is not a
# project class that might derive from the root)
KNOWN_LIBRARIES = frozenset(
    {
        "abc",
        "builtins",
        "collections",
        "dataclasses",
        "enum",
        "typing",
        "typing_extensions",
        "numpy",
        "pandas",
        "sklearn",
        "lightgbm",
        "xgboost",
        "object",
        "torch",
        "torch_geometric",
        "torchvision",
    }
)
