"""MNT002 MutableDataclassDefault: a dataclass field whose default is mutable or unhashable."""

from __future__ import annotations

import ast
from typing import ClassVar

import libcst as cst
from libcst.metadata import PositionProvider, QualifiedNameProvider

from maintenance.codemods.base import Codemod, FileContext, Invalid, import_aliases, resolve_dotted
from maintenance.index import ClassInfo

DATACLASS_DECORATORS = frozenset({"dataclasses.dataclass"})
FIELD_FUNCTIONS = frozenset({"dataclasses.field"})
# calls that build a fresh unhashable object; a bare name becomes the default_factory itself
UNHASHABLE_FACTORIES = frozenset(
    {
        "builtins.list",
        "builtins.dict",
        "builtins.set",
        "builtins.bytearray",
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.deque",
        "collections.Counter",
    }
)
SKIPPED_ANNOTATIONS = frozenset({"typing.ClassVar", "dataclasses.InitVar", "typing_extensions.ClassVar"})


class MutableDataclassDefault(Codemod):
    """A dataclass field whose default is a mutable or unhashable object.

    ## What it does
    Finds fields of `@dataclass` classes (however `dataclass` is imported) whose default is a list, dict
    or set literal or comprehension, a call such as `list()` or `defaultdict(list)`, an instance of an
    unhashable class of the project (a non-frozen dataclass, or a class with `__eq__` and no `__hash__`,
    defined in this module or, through the project index, in any other: `from pkg.features.params import
    FeatureParams`), or `field(default=[])`, and rewrites the default as
    `field(default_factory=...)`, adding the `field` import where it is missing.

    ## Why is this bad?
    `dataclasses` raises `ValueError: mutable default ... is not allowed: use default_factory` when the
    class is created, so the whole module fails to import (this broke a CLI of the project we replace).
    Where it does not raise, one object would be shared by every instance.

    ## Example
    ```python
    @dataclass
    class Config:
        horizons: list[int] = [1, 5]
    ```

    ## Use instead
    ```python
    @dataclass
    class Config:
        horizons: list[int] = field(default_factory=lambda: [1, 5])
    ```

    ## Fix safety
    Safe: every instance gets a fresh object equal to the old default, which is what the author meant;
    the class could not even be created before. Hashable defaults (numbers, strings, tuples, frozen
    dataclass instances), `ClassVar`/`InitVar` fields, classes that are not dataclasses and instances of
    classes the index cannot see (third-party code) are left alone.
    """

    CODE: ClassVar[str] = "MNT002"
    NAME: ClassVar[str] = "MutableDataclassDefault"
    FIX_TITLE: ClassVar[str] = "Use `field(default_factory=...)`"
    FIX_SAFETY = "safe"
    TRIGGERS: ClassVar[tuple[str, ...]] = ("dataclass",)
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider)

    INVALID = (
        Invalid(
            "from dataclasses import dataclass\n\n\n@dataclass\nclass C:\n    xs: list[int] = []\n",
            "from dataclasses import field, dataclass\n\n\n@dataclass\nclass C:\n"
            "    xs: list[int] = field(default_factory=list)\n",
        ),
        Invalid(
            "from dataclasses import dataclass, field\n\n\n@dataclass\nclass C:\n    xs: list = [1, 5]\n",
            "from dataclasses import dataclass, field\n\n\n@dataclass\nclass C:\n"
            "    xs: list = field(default_factory=lambda: [1, 5])\n",
        ),
        Invalid(
            "import dataclasses\n\n\n@dataclasses.dataclass\nclass C:\n    d: dict = {}\n",
            "import dataclasses\n\n\n@dataclasses.dataclass\nclass C:\n    d: dict = dataclasses.field(default_factory=dict)\n",
        ),
        Invalid(
            "import dataclasses as dc\n\n\n@dc.dataclass(frozen=False)\nclass C:\n    s: set = set()\n",
            "import dataclasses as dc\n\n\n@dc.dataclass(frozen=False)\nclass C:\n    s: set = dc.field(default_factory=set)\n",
        ),
        Invalid(
            "from dataclasses import dataclass as dc, field as f\n\n\n@dc\nclass C:\n    x: list = f(default=[], repr=False)\n",
            "from dataclasses import dataclass as dc, field as f\n\n\n@dc\nclass C:\n"
            "    x: list = f(default_factory=list, repr=False)\n",
        ),
        Invalid(
            "from dataclasses import dataclass\n\n\n@dataclass\nclass Inner:\n    a: int = 0\n\n\n"
            "@dataclass\nclass Outer:\n    inner: Inner = Inner()\n",
            "from dataclasses import field, dataclass\n\n\n@dataclass\nclass Inner:\n    a: int = 0\n\n\n"
            "@dataclass\nclass Outer:\n    inner: Inner = field(default_factory=Inner)\n",
        ),
        Invalid(
            "from collections import defaultdict\nfrom dataclasses import dataclass\n\n\n@dataclass\nclass C:\n"
            "    d: dict = defaultdict(list)\n",
            "from collections import defaultdict\nfrom dataclasses import field, dataclass\n\n\n@dataclass\nclass C:\n"
            "    d: dict = field(default_factory=lambda: defaultdict(list))\n",
        ),
        Invalid(
            "from dataclasses import dataclass\n\n\n@dataclass\nclass C:\n    sq: list = [i * i for i in range(3)]\n",
            "from dataclasses import field, dataclass\n\n\n@dataclass\nclass C:\n"
            "    sq: list = field(default_factory=lambda: [i * i for i in range(3)])\n",
        ),
        Invalid(
            "from dataclasses import dataclass\n\n\n@dataclass\nclass C:\n    field: int = 0\n    xs: list = []\n",
            "from dataclasses import dataclass\nimport dataclasses\n\n\n@dataclass\nclass C:\n    field: int = 0\n"
            "    xs: list = dataclasses.field(default_factory=list)\n",
        ),
    )
    VALID = (
        "from dataclasses import dataclass\n\n\n@dataclass\nclass C:\n    x: tuple = (1, 2)\n    n: int = 3\n    s: str = 'a'\n",
        "from dataclasses import dataclass, field\n\n\n@dataclass\nclass C:\n    xs: list = field(default_factory=list)\n",
        "from dataclasses import dataclass\nfrom typing import ClassVar\n\n\n@dataclass\nclass C:\n    REG: ClassVar[list] = []\n",
        "class NotADataclass:\n    xs: list = []\n",
        "from dataclasses import dataclass\n\n\n@dataclass(frozen=True)\nclass P:\n    a: int = 0\n\n\n"
        "@dataclass\nclass C:\n    p: P = P()\n",
        "from dataclasses import dataclass\n\n\n@dataclass\nclass C:\n    xs: list | None = None\n",
        "from pydantic.dataclasses import dataclass\n\n\nclass C:\n    xs: list = []\n",
        "from dataclasses import dataclass\n\n\n@dataclass\nclass C:\n    f: frozenset = frozenset({1})\n",
        "from dataclasses import dataclass\n\n\n@dataclass\nclass C:\n    xs: list\n\n    def m(self):\n        ys: list = []\n        return ys\n",
        "from dataclasses import dataclass, InitVar\n\n\n@dataclass\nclass C:\n    seed: InitVar[list] = None\n",
    )

    @classmethod
    def ast_may_match(cls, tree: ast.Module, source: str) -> bool:
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
                if (deco is not None and not _hashable_dataclass(deco)) or (
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
