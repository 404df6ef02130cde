"""The MNT002 codemod as it was before it went ast-first: a libcst visitor over QualifiedNameProvider.

Kept only as the oracle of `test_mnt002_differential.py` (the ast-first codemod must give the same
findings, messages and fixed text on real files); it is not registered and never runs in `maintenance.fix`.
"""

from __future__ import annotations

import ast
from typing import ClassVar

import libcst as cst
from libcst.metadata import QualifiedNameProvider

from maintenance.codemods.base import FileContext, LibcstRule, import_aliases, resolve_dotted
from maintenance.codemods.mutable_dataclass_default import (
    DATACLASS_DECORATORS,
    FIELD_FUNCTIONS,
    SKIPPED_ANNOTATIONS,
    UNHASHABLE_FACTORIES,
    MutableDataclassDefault,
)
from maintenance.index import ClassInfo


class LibcstMutableDataclassDefault(LibcstRule):
    """MNT002 decided by libcst scope analysis (the oracle)."""

    CODE: ClassVar[str] = "MNT002"
    NAME: ClassVar[str] = "MutableDataclassDefault"
    FIX_TITLE: ClassVar[str] = "Use `field(default_factory=...)`"
    FIX_SAFETY = "safe"
    TRIGGERS: ClassVar[tuple[str, ...]] = ("dataclass",)
    METADATA = ("PositionProvider", "QualifiedNameProvider")

    may_match = MutableDataclassDefault.may_match

    @classmethod
    def _unused_ast_may_match(cls, tree: ast.Module, source: str) -> bool:
        """A class decorated with something named `dataclass` that has an assigned annotated field."""
        aliases = import_aliases(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if (resolve_dotted(target, aliases) or "") in DATACLASS_DECORATORS:
                    break
            else:
                continue
            if any(isinstance(stmt, ast.AnnAssign) and stmt.value is not None for stmt in node.body):
                return True
        return False

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.module: cst.Module | None = None
        self.unhashable_classes: set[str] = set()
        self.field_import: tuple[str, tuple[tuple[str, str | None], ...]] = ("field", ())

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def _dataclass_decorator(self, node: cst.ClassDef) -> cst.Decorator | None:
        for deco in node.decorators:
            target = deco.decorator.func if isinstance(deco.decorator, cst.Call) else deco.decorator
            if self._qualified(target) & DATACLASS_DECORATORS:
                return deco
        return None

    def visit_Module(self, node: cst.Module) -> None:
        self.module = node
        # classes of this module whose instances are unhashable: non-frozen dataclasses with eq
        for stmt in node.body:
            if isinstance(stmt, cst.ClassDef):
                deco = self._dataclass_decorator(stmt)
                if (deco is not None and not _hashable_dataclass(deco) and not _defines_hash(stmt)) or (
                    deco is None and _defines_eq_without_hash(stmt)
                ):
                    self.unhashable_classes.add(stmt.name.value)
        self._choose_field_spelling(node)

    def _choose_field_spelling(self, module: cst.Module) -> None:
        """Use an existing `field` import, else `<dataclasses alias>.field`, else add `from dataclasses import field`."""
        module_alias = None
        for stmt in module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.ImportFrom) and isinstance(small.module, cst.Name):
                    if small.module.value == "dataclasses" and not isinstance(small.names, cst.ImportStar):
                        for alias in small.names:
                            if isinstance(alias.name, cst.Name) and alias.name.value == "field":
                                local = alias.asname.name if alias.asname else alias.name
                                if isinstance(local, cst.Name):
                                    self.field_import = (local.value, ())
                                    return
                elif isinstance(small, cst.Import):
                    for alias in small.names:
                        if isinstance(alias.name, cst.Name) and alias.name.value == "dataclasses":
                            local = alias.asname.name if alias.asname else alias.name
                            if isinstance(local, cst.Name):
                                module_alias = local.value
        if module_alias is not None:
            self.field_import = (f"{module_alias}.field", ())
        elif _binds_name(module, "field"):
            self.field_import = ("dataclasses.field", (("dataclasses", None),))
        else:
            self.field_import = ("field", (("dataclasses", "field"),))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self._dataclass_decorator(node) is None or not isinstance(node.body, cst.IndentedBlock):
            return
        spelling, imports = self.field_import
        if spelling == "field" and _class_binds(node, "field"):
            spelling, imports = "dataclasses.field", (("dataclasses", None),)
        for stmt in node.body.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.AnnAssign) and small.value is not None:
                    self._check_field(small, spelling, imports)

    def _check_field(self, ann: cst.AnnAssign, spelling: str, imports: tuple) -> None:
        annotation = ann.annotation.annotation
        head = annotation.value if isinstance(annotation, cst.Subscript) else annotation
        if self._qualified(head) & SKIPPED_ANNOTATIONS:
            return
        value = ann.value
        assert value is not None
        factory = self._factory_for(value)
        name = self.module.code_for_node(ann.target) if self.module else "field"
        if factory is not None:
            new_value = cst.parse_expression(f"{spelling}(default_factory={factory})")
            self.report(
                value,
                f"mutable default `{self._code(value)}` for dataclass field `{name}`: "
                "dataclasses raises ValueError at class creation; use field(default_factory=...)",
                replacement=lambda _old, new=new_value: new,
                imports=imports,
            )
            return
        if isinstance(value, cst.Call) and self._qualified(value.func) & FIELD_FUNCTIONS:
            for arg in value.args:
                if arg.keyword is not None and arg.keyword.value == "default":
                    inner = self._factory_for(arg.value)
                    if inner is None:
                        return
                    self.report(
                        arg,
                        f"mutable `field(default={self._code(arg.value)})` for dataclass field `{name}`: "
                        "use field(default_factory=...)",
                        replacement=lambda old, factory=inner: old.with_changes(
                            keyword=cst.Name("default_factory"), value=cst.parse_expression(factory)
                        ),
                    )

    def _code(self, node: cst.CSTNode) -> str:
        text = self.module.code_for_node(node) if self.module else "..."
        return text if len(text) <= 40 else text[:37] + "..."

    def _factory_for(self, value: cst.BaseExpression) -> str | None:
        """The `default_factory` text for an unhashable default, or `None` when the default is fine."""
        code = self.module.code_for_node(value) if self.module else ""
        if isinstance(value, cst.List | cst.Dict | cst.Set) and not _has_elements(value):
            return {cst.List: "list", cst.Dict: "dict", cst.Set: "set"}[type(value)]
        if isinstance(value, cst.List | cst.Dict | cst.Set | cst.ListComp | cst.DictComp | cst.SetComp):
            return f"lambda: {code}"
        if isinstance(value, cst.Call):
            names = self._qualified(value.func)
            local = isinstance(value.func, cst.Name) and value.func.value in self.unhashable_classes
            local = local and any(q.endswith(value.func.value) and "." not in q for q in names)
            if names & UNHASHABLE_FACTORIES or local or self._project_unhashable(value.func):
                if not value.args:
                    return self.module.code_for_node(value.func) if self.module else None
                return f"lambda: {code}"
        return None

    def _project_unhashable(self, func: cst.BaseExpression) -> bool:
        """Whether `func` names an unhashable class defined in another module of the project (the index)."""
        index, module = self.context.index, self.context.module
        name = _dotted(func)
        if index is None or module is None or name is None:
            return False
        symbol = index.resolve_in(module.name, name)
        return isinstance(symbol, ClassInfo) and symbol.module != module.name and index.unhashable(symbol)


def _dotted(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a libcst Name/Attribute chain, else `None`."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        owner = _dotted(node.value)
        return f"{owner}.{node.attr.value}" if owner else None
    return None


def _has_elements(value: cst.List | cst.Dict | cst.Set) -> bool:
    return bool(value.elements)


def _hashable_dataclass(deco: cst.Decorator) -> bool:
    """frozen=True, unsafe_hash=True or eq=False make dataclass instances hashable."""
    if not isinstance(deco.decorator, cst.Call):
        return False
    for arg in deco.decorator.args:
        if arg.keyword is None or not isinstance(arg.value, cst.Name):
            continue
        if arg.keyword.value in {"frozen", "unsafe_hash"} and arg.value.value == "True":
            return True
        if arg.keyword.value == "eq" and arg.value.value == "False":
            return True
    return False


def _defines_hash(node: cst.ClassDef) -> bool:
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    return any(isinstance(stmt, cst.FunctionDef) and stmt.name.value == "__hash__" for stmt in body)


def _defines_eq_without_hash(node: cst.ClassDef) -> bool:
    names = set()
    if isinstance(node.body, cst.IndentedBlock):
        names = {stmt.name.value for stmt in node.body.body if isinstance(stmt, cst.FunctionDef)}
    return "__eq__" in names and "__hash__" not in names


def _binds_name(module: cst.Module, name: str) -> bool:
    """Whether the module binds `name` anywhere (a def, a class, an assignment or an import)."""
    finder = _NameBinder(name)
    module.visit(finder)
    return finder.found


def _class_binds(node: cst.ClassDef, name: str) -> bool:
    if not isinstance(node.body, cst.IndentedBlock):
        return False
    finder = _NameBinder(name)
    for stmt in node.body.body:
        stmt.visit(finder)
    return finder.found


class _NameBinder(cst.CSTVisitor):
    def __init__(self, name: str) -> None:
        self.name = name
        self.found = False

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.found |= isinstance(node.target, cst.Name) and node.target.value == self.name

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.found |= isinstance(node.target, cst.Name) and node.target.value == self.name

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.found |= node.name.value == self.name

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.found |= node.name.value == self.name

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        local = node.asname.name if node.asname else node.name
        self.found |= isinstance(local, cst.Name) and local.value == self.name
