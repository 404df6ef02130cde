"""MNT002 MutableDataclassDefault: a dataclass field whose default is mutable or unhashable."""

from __future__ import annotations

import ast
from typing import ClassVar

from maintenance.astutil import dotted, tree_nodes
from maintenance.codemods.base import (
    AstFinding,
    AstRule,
    FileContext,
    Invalid,
    NodeRef,
    cst,
    first_line,
    import_aliases,
    resolve_dotted,
)
from maintenance.index import ClassInfo
from maintenance.scopes import Scope, Scopes

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


class MutableDataclassDefault(AstRule):
    """A dataclass field whose default is a mutable or unhashable object.

    ## What it does
    Finds fields of `@dataclass` classes (however `dataclass` is imported) whose default is a list, dict
    or set literal or comprehension, a call such as `list()` or `defaultdict(list)`, an instance of an
    unhashable class of the project (a non-frozen dataclass without a `__hash__` of its own, or a class with `__eq__` and no `__hash__`,
    defined in this module or, through the project index, in any other: `from pkg.features.params import
    FeatureParams`), or `field(default=[])`, and rewrites the default as
    `field(default_factory=...)`, adding the `field` import where it is missing.

    ## Why is this bad?
    `dataclasses` raises `ValueError: mutable default ... is not allowed: use default_factory` when the
    class is created, so the whole module fails to import (and every command that imports it).
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
    PREFILTER_WITHOUT_INDEX: ClassVar[bool] = True

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
        # a dataclass with a `__hash__` of its own: `@dataclass` keeps it, so the default is accepted
        "from dataclasses import dataclass\n\n\n@dataclass\nclass V:\n    s: str\n\n    def __hash__(self):\n"
        "        return hash(self.s)\n\n\n@dataclass\nclass C:\n    v: V = V('1.0')\n",
    )

    @classmethod
    def may_match(cls, tree: ast.Module, source: str, context: FileContext) -> bool:
        """A class decorated with something named `dataclass` that has an assigned annotated field."""
        if not super().may_match(tree, source, context):
            return False
        aliases = import_aliases(tree)
        for node in tree_nodes(tree).of(ast.ClassDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if (resolve_dotted(target, aliases) or "") in DATACLASS_DECORATORS:
                    break
            else:
                continue
            if any(isinstance(stmt, ast.AnnAssign) and stmt.value is not None for stmt in node.body):
                return True
        return False

    @classmethod
    def findings(cls, tree: ast.Module, source: str, context: FileContext) -> list[AstFinding]:
        """Every mutable default, decided on `ast` with `maintenance.scopes` for the qualified names.

        The names resolve as libcst's `QualifiedNameProvider` resolves them (the codemod used it until
        the differential test proved the two agree); libcst parses the file only to write the fixes.
        """
        # every finding is a field of a decorated class whose default is a display, comprehension or call
        candidates = [
            node
            for node in tree_nodes(tree).of(ast.ClassDef)
            if node.decorator_list
            and any(
                isinstance(stmt, ast.AnnAssign) and isinstance(stmt.value, _MAYBE_MUTABLE)
                for stmt in node.body
            )
        ]
        return _Finder(tree, source, context, candidates).run() if candidates else []


_MAYBE_MUTABLE = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp, ast.Call)


class _Finder:
    """One file's MNT002 findings: walks every class (at any depth) with the scope it is defined in."""

    def __init__(
        self, tree: ast.Module, source: str, context: FileContext, candidates: list[ast.ClassDef]
    ) -> None:
        self.tree = tree
        # the only classes that can hold a finding, and the line spans of them (to skip other bodies)
        self.candidates = {id(node) for node in candidates}
        self.spans = [(first_line(node), node.end_lineno or node.lineno) for node in candidates]
        self.text = _Text(source)
        self.context = context
        self.scopes = Scopes(tree)
        self.found: list[AstFinding] = []
        self.unhashable_classes: set[str] = set()
        self.statement_line = 1  # of the field being checked
        self.field_import: tuple[str, tuple[tuple[str, str | None], ...]] = _field_spelling(tree)

    def run(self) -> list[AstFinding]:
        module = self.scopes.root
        # classes of this module whose instances are unhashable: non-frozen dataclasses with eq
        for stmt in self.tree.body:
            if isinstance(stmt, ast.ClassDef):
                deco = self._dataclass_decorator(stmt, module)
                if (deco is not None and not _hashable_dataclass(deco) and not _defines_hash(stmt)) or (
                    deco is None and _defines_eq_without_hash(stmt)
                ):
                    self.unhashable_classes.add(stmt.name)
        self._walk(self.tree.body, module)
        return self.found

    def _walk(self, body: list[ast.stmt], scope: Scope) -> None:
        for stmt in body:
            if not self._holds_candidate(stmt):
                continue  # (its scopes are never built: only the enclosing ones of a candidate are)
            if isinstance(stmt, ast.ClassDef):
                if id(stmt) in self.candidates:
                    self._class(stmt, scope)
                self._walk(stmt.body, self.scopes.child(scope, stmt))
            elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                self._walk(stmt.body, self.scopes.child(scope, stmt))
            else:
                for attr in ("body", "orelse", "finalbody"):
                    block = getattr(stmt, attr, None)
                    if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                        self._walk(block, scope)
                for sub in getattr(stmt, "handlers", ()) or getattr(stmt, "cases", ()):
                    self._walk(sub.body, scope)

    def _holds_candidate(self, stmt: ast.stmt) -> bool:
        """Whether a candidate class lies within the lines of `stmt` (itself included): statements nest by
        lines, so only a statement that holds one can hold it."""
        first, last = first_line(stmt), stmt.end_lineno or stmt.lineno
        return any(first <= start and end <= last for start, end in self.spans)

    def _dataclass_decorator(self, node: ast.ClassDef, scope: Scope) -> ast.expr | None:
        for deco in node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            if self.scopes.qualified_names(target, scope) & DATACLASS_DECORATORS:
                return deco
        return None

    def _class(self, node: ast.ClassDef, scope: Scope) -> None:
        if self._dataclass_decorator(node, scope) is None or not self.text.indented_body(node):
            return
        spelling, imports = self.field_import
        if spelling == "field" and _class_binds(node, "field"):
            spelling, imports = "dataclasses.field", (("dataclasses", None),)
        inner = self.scopes.child(scope, node)
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                self._check_field(stmt, inner, spelling, imports)

    def _check_field(self, ann: ast.AnnAssign, scope: Scope, spelling: str, imports: tuple) -> None:
        annotation = ann.annotation
        head = annotation.value if isinstance(annotation, ast.Subscript) else annotation
        if self._qualified(head, scope) & SKIPPED_ANNOTATIONS:
            return
        value = ann.value
        assert value is not None
        self.statement_line = ann.lineno
        factory = self._factory_for(value, scope)
        name = self._code(ann.target)
        lines = self.text.lines
        if factory is not None:
            new_value = cst.parse_expression(f"{spelling}(default_factory={factory})")
            ref = NodeRef.of(value, lines)
            message = (
                f"mutable default `{self._short(value)}` for dataclass field `{name}`: "
                "dataclasses raises ValueError at class creation; use field(default_factory=...)"
            )
            fix = lambda _old, new=new_value: new  # noqa: E731
            self.found.append(AstFinding(ref, message, fixes=((ref, fix),), imports=imports))
            return
        if isinstance(value, ast.Call) and self._qualified(value.func, scope) & FIELD_FUNCTIONS:
            for keyword in value.keywords:
                if keyword.arg == "default":
                    inner = self._factory_for(keyword.value, scope)
                    if inner is None:
                        return
                    ref = NodeRef.of(keyword, lines)
                    message = (
                        f"mutable `field(default={self._short(keyword.value)})` for dataclass field "
                        f"`{name}`: use field(default_factory=...)"
                    )

                    def fix(old: cst.CSTNode, factory: str = inner) -> cst.CSTNode:
                        assert isinstance(old, cst.Arg)
                        return old.with_changes(
                            keyword=cst.Name("default_factory"), value=cst.parse_expression(factory)
                        )

                    self.found.append(AstFinding(ref, message, fixes=((ref, fix),)))
                    return

    def _qualified(self, node: ast.expr, scope: Scope) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return self._string_annotation(node, scope)
        return self.scopes.qualified_names(node, scope)

    def _string_annotation(self, node: ast.Constant, scope: Scope) -> set[str]:
        """libcst maps every name inside a string annotation to the string: their qualified names."""
        try:
            inner = ast.parse(node.value.strip(), mode="eval")
        except SyntaxError:
            return set()
        names: set[str] = set()
        for sub in ast.walk(inner):
            if isinstance(sub, ast.Name):
                names |= self.scopes.qualified_names(
                    ast.Name(sub.id, lineno=node.lineno, col_offset=node.col_offset), scope
                )
        return names

    def _code(self, node: ast.expr) -> str:
        return self.text.code(node, self.statement_line)

    def _short(self, node: ast.expr) -> str:
        text = self._code(node)
        return text if len(text) <= 40 else text[:37] + "..."

    def _factory_for(self, value: ast.expr, scope: Scope) -> str | None:
        """The `default_factory` text for an unhashable default, or `None` when the default is fine."""
        if isinstance(value, ast.List | ast.Set) and not value.elts:
            return "list" if isinstance(value, ast.List) else "set"
        if isinstance(value, ast.Dict) and not value.keys:
            return "dict"
        if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
            return f"lambda: {self._code(value)}"
        if isinstance(value, ast.Call):
            names = self.scopes.qualified_names(value.func, scope)
            func = value.func
            local = isinstance(func, ast.Name) and func.id in self.unhashable_classes
            local = local and any(q.endswith(func.id) and "." not in q for q in names)  # type: ignore[union-attr]
            if names & UNHASHABLE_FACTORIES or local or self._project_unhashable(func):
                if not value.args and not value.keywords:
                    return self._code(func)
                return f"lambda: {self._code(value)}"
        return None

    def _project_unhashable(self, func: ast.expr) -> bool:
        """Whether `func` names an unhashable class defined in another module of the project (the index)."""
        index, module = self.context.index, self.context.module
        name = dotted(func)
        if index is None or module is None or name is None:
            return False
        symbol = index.resolve_in(module.name, name)
        return isinstance(symbol, ClassInfo) and symbol.module != module.name and index.unhashable(symbol)


class _Text:
    """The source of one file, for the code of a node as libcst prints it (with its own parentheses)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = source.splitlines()
        self.offsets = [0]
        for line in source.splitlines(keepends=True):
            self.offsets.append(self.offsets[-1] + len(line))

    def _offset(self, line: int, byte_column: int) -> int:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        column = byte_column if text.isascii() else len(text.encode()[:byte_column].decode(errors="ignore"))
        return self.offsets[line - 1] + column

    def code(self, node: ast.expr, statement_line: int | None = None) -> str:
        """The node's text as libcst prints it alone, in the statement starting on `statement_line`.

        Parentheses that wrap it directly belong to it (libcst's `lpar`/`rpar`); its continuation lines
        lose the indentation of the statement's block.
        """
        start = self._offset(node.lineno, node.col_offset)
        end = self._offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
        text = self.source
        while True:
            before, after = start, end
            while before > 0 and text[before - 1] in " \t\n\r\\":
                before -= 1
            while after < len(text) and text[after] in " \t\n\r\\":
                after += 1
            if before > 0 and after < len(text) and text[before - 1] == "(" and text[after] == ")":
                if _is_call_paren(text, before - 1):
                    break
                start, end = before - 1, after + 1
                continue
            break
        code = text[start:end]
        if "\n" not in code:
            return code
        # libcst prints a node alone without the indentation of its block on its continuation lines
        line = self.lines[(statement_line or node.lineno) - 1]
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        first, *rest = code.split("\n")
        return "\n".join([first, *(r[len(indent) :] if indent and r.startswith(indent) else r for r in rest)])

    def indented_body(self, node: ast.ClassDef) -> bool:
        """Whether the class body is an indented block (not `class C: x = 1` on the header's line)."""
        first = node.body[0]
        line = self.lines[first.lineno - 1] if first.lineno <= len(self.lines) else ""
        return not line[: _char_column(line, first.col_offset)].strip()


def _char_column(line: str, byte_column: int) -> int:
    return byte_column if line.isascii() else len(line.encode()[:byte_column].decode(errors="ignore"))


def _is_call_paren(text: str, paren: int) -> bool:
    """Whether the `(` at `paren` opens a call's argument list (a name or closing bracket before it)."""
    before = paren
    while before > 0 and text[before - 1] in " \t":
        before -= 1
    return before > 0 and (text[before - 1].isalnum() or text[before - 1] in "_)]")


def _field_spelling(tree: ast.Module) -> tuple[str, tuple[tuple[str, str | None], ...]]:
    """Use an existing `field` import, else `<dataclasses alias>.field`, else add `from dataclasses import field`."""
    module_alias = None
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "dataclasses":
            for alias in stmt.names:
                if alias.name == "field":
                    return (alias.asname or alias.name, ())
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.name == "dataclasses":
                    module_alias = alias.asname or alias.name
    if module_alias is not None:
        return (f"{module_alias}.field", ())
    if _binds(tree.body, "field"):
        return ("dataclasses.field", (("dataclasses", None),))
    return ("field", (("dataclasses", "field"),))


def _hashable_dataclass(deco: ast.expr) -> bool:
    """frozen=True, unsafe_hash=True or eq=False make dataclass instances hashable."""
    if not isinstance(deco, ast.Call):
        return False
    for keyword in deco.keywords:
        if keyword.arg is None or not isinstance(keyword.value, ast.Constant):
            continue
        if keyword.arg in {"frozen", "unsafe_hash"} and keyword.value.value is True:
            return True
        if keyword.arg == "eq" and keyword.value.value is False:
            return True
    return False


def _defines_eq_without_hash(node: ast.ClassDef) -> bool:
    names = {stmt.name for stmt in node.body if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)}
    return "__eq__" in names and "__hash__" not in names


def _defines_hash(node: ast.ClassDef) -> bool:
    """A `def __hash__` in the class body: `@dataclass` keeps it, so the instances stay hashable."""
    return any(
        isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == "__hash__" for s in node.body
    )


def _class_binds(node: ast.ClassDef, name: str) -> bool:
    return _binds(node.body, name)


def _binds(body: list[ast.stmt], name: str) -> bool:
    """Whether these statements bind `name` anywhere inside (a def, a class, an assignment or an import)."""
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.AnnAssign | ast.Assign):
                targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
                if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                    return True
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if node.name == name:
                    return True
            elif isinstance(node, ast.alias) and (node.asname or node.name) == name:
                return True
    return False
