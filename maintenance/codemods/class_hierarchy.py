"""Which classes of a module derive from a known library class (used by MNT006 and MNT008).

Bases are resolved with the module's imports (`from torch.utils.data import Dataset as D` makes `D`
`torch.utils.data.Dataset`) and through the module's own classes (nested ones too, which the index does not
summarise), to any depth. A base that comes from another module of the project is asked of the project
index, the one class-hierarchy API (`ProjectIndex.is_subclass_of`, `defines`), through `ProjectLookup`.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from maintenance.astutil import tree_nodes
from maintenance.codemods.base import (
    AstFinding,
    FileContext,
    NodeRef,
    dotted_name,
    import_aliases,
)
from maintenance.index import ClassInfo, FunctionInfo, ProjectIndex


class ProjectLookup:
    """Classes of other modules of the project, through the project index (`maintenance.index`)."""

    def __init__(self, index: ProjectIndex, module: str) -> None:
        self.index = index
        self.module = module

    @classmethod
    def of(cls, context: FileContext) -> ProjectLookup | None:
        """The lookup of the file a codemod is visiting (`None` without an index)."""
        if context.index is None or context.module is None:
            return None
        return cls(context.index, context.module.name)

    def method(self, class_name: str, name: str) -> FunctionInfo | None:
        """The index's summary of method `name` of the top-level class `class_name` of this module."""
        info = self.index.modules.get(self.module)
        cls = info.classes.get(class_name) if info is not None else None
        return cls.methods.get(name) if cls is not None else None

    def resolve(self, written: str) -> ClassInfo | None:
        """The project class that the base expression `written` (`base.BaseLoss`, `BaseLoss`) names here."""
        symbol = self.index.resolve_in(self.module, written)
        return symbol if isinstance(symbol, ClassInfo) else None

    def derives(self, written: str, roots: Collection[str]) -> bool | None:
        """Whether the project class `written` derives from one of `roots`; `None`: not a project class."""
        cls = self.resolve(written)
        if cls is None:
            return None
        return self.index.is_subclass_of(cls, frozenset(roots))

    def defines(self, written: str, names: Collection[str]) -> bool:
        """Whether the project class `written` or a project class it derives from defines one of `names`."""
        cls = self.resolve(written)
        return cls is not None and self.index.defines(cls, names)


@dataclass
class ModuleClasses:
    """The classes of one module, their bases as qualified names (local classes by their own name)."""

    aliases: dict[str, str]
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    bases: dict[str, list[str]] = field(default_factory=dict)
    written: dict[str, list[str]] = field(default_factory=dict)
    lookup: ProjectLookup | None = None

    @classmethod
    def of(cls, tree: ast.Module, lookup: ProjectLookup | None = None) -> ModuleClasses:
        """Collect every class of `tree` (nested ones too, keyed by their own name)."""
        aliases = import_aliases(tree)
        aliases.update(_relative_aliases(tree))
        found = cls(aliases=aliases, lookup=lookup)
        for node in tree_nodes(tree).of(ast.ClassDef):
            found.classes.setdefault(node.name, node)
        for name, node in found.classes.items():
            pairs = [
                (found.qualify(b), dotted_name(b.value if isinstance(b, ast.Subscript) else b))
                for b in node.bases
            ]
            found.bases[name] = [q for q, w in pairs if q is not None and w is not None]
            found.written[name] = [w for q, w in pairs if q is not None and w is not None]
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

    def derives_from(self, name: str, roots: Collection[str], *, unknown: bool = False) -> bool:
        """Whether local class `name` derives from one of `roots` (qualified names).

        A base from another module of the project is followed through the index (`lookup`). One that
        neither is a root, a local class nor a class the index knows is taken to derive from the roots
        when `unknown` is true and it may be the project's own (a relative import, not a known library).
        """
        seen: set[str] = set()
        stack = [name]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            for base, written in zip(self.bases.get(current, ()), self.written.get(current, ()), strict=True):
                if base in roots:
                    return True
                if base in self.classes:
                    stack.append(base)
                    continue
                verdict = self.lookup.derives(written, roots) if self.lookup is not None else None
                if verdict is True:
                    return True
                if verdict is None and unknown and _is_project_name(base, self.aliases):
                    return True
        return False

    def inherits_any(self, name: str, members: Collection[str]) -> bool:
        """Whether class `name` or a class it derives from (this module or the project) defines one of `members`."""
        for ancestor in self.ancestors(name):
            if any(_defines(ancestor, members)):
                return True
            if self.lookup is not None:
                bases = zip(
                    self.bases.get(ancestor.name, ()), self.written.get(ancestor.name, ()), strict=True
                )
                if any(b not in self.classes and self.lookup.defines(w, members) for b, w in bases):
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


def report_only(found: list[tuple[ast.stmt, str]], source: str) -> list[AstFinding]:
    """`AstFinding`s without fixes for (statement, message) pairs decided on `ast`."""
    lines = source.splitlines()
    return [AstFinding(NodeRef.of(node, lines), message) for node, message in found]


def _defines(cls_node: ast.ClassDef, names: Collection[str]) -> Iterator[bool]:
    for stmt in cls_node.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            yield stmt.name in names
        elif isinstance(stmt, ast.Assign):
            yield any(isinstance(t, ast.Name) and t.id in names for t in stmt.targets)


def _relative_aliases(tree: ast.Module) -> dict[str, str]:
    """`from .base import BaseLoss` -> {"BaseLoss": ".base.BaseLoss"} (a project-relative import)."""
    out: dict[str, str] = {}
    for node in tree_nodes(tree).of(ast.ImportFrom):
        if node.level:
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
