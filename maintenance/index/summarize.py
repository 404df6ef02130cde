"""The `ast` summariser: one pass over a parsed module builds its `ModuleInfo`."""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Callable, Iterator

from maintenance.astutil import dotted, first_line, nested_statements, tree_nodes
from maintenance.index.checkpoints import module_qualifier, refusing_calls
from maintenance.index.model import (
    NO_RETURN_NAMES,
    ClassInfo,
    FunctionInfo,
    ImportBinding,
    ModuleInfo,
    signature_from_ast,
)
from maintenance.index.names import resolve_relative
from maintenance.index.never_returns import infer_never_returning

# the text a refusing checkpoint call needs (`checkpoints.refusing_calls`): a `save(` or weights_only=False
_MAY_REFUSE = re.compile(r"save\s*\(|weights_only\s*=\s*False")


def _is_type_checking(test: ast.expr) -> bool:
    name = dotted(test)
    return name is not None and name.rsplit(".", 1)[-1] == "TYPE_CHECKING"


class Summarizer:
    """Builds one `ModuleInfo` from an `ast` tree."""

    def __init__(
        self, tree: ast.Module, name: str, path: str, is_package: bool, source: str | None = None
    ) -> None:
        self.tree = tree
        self.source = source
        self.info = ModuleInfo(name=name, path=path, is_package=is_package)
        self.rebindable: set[str] = set()
        self.counts: dict[str, int] = {}
        self._aliases: dict[str, str] = {}
        self._lines: list[str] | None = None
        self._walrus = source is None or ":=" in source  # (once: not for every statement)

    def run(self) -> ModuleInfo:
        self._module_level(self.tree.body, conditional=False, type_checking=False)
        self._aliases = {local: b[0].target for local, b in self.info.imports.items() if len(b) == 1}
        self._scan_everything()
        info = self.info
        info.binding_counts = self.counts
        for name, count in self.counts.items():
            bindings = info.imports.get(name, [])
            same_import = count == len(bindings) and len({b.target for b in bindings}) == 1
            if count > 1 and not same_import:
                self.rebindable.add(name)
        info.rebindable = sorted(self.rebindable)
        if self.source is None or ("torch" in self.source and _MAY_REFUSE.search(self.source)):  # (a walk)
            info.checkpoints = refusing_calls(self.tree, self._qualify, module_qualifier(info))
        for cls in info.classes.values():
            cls.bases = [self._qualify(b) if b else None for b in cls.bases]
            cls.decorators = [self._qualify(d) if d else None for d in cls.decorators]
            cls.instance_attributes = {k: self._qualify(v) for k, v in cls.instance_attributes.items()}
        return info

    def _qualify(self, name: str) -> str:
        head, _, rest = name.partition(".")
        if head in self.info.classes or head in self.info.functions:
            return f"{self.info.name}.{name}"
        target = self._aliases.get(head)
        if target is not None:
            return target + ("." + rest if rest else "")
        return name

    def _may_yield(self, node: ast.stmt) -> bool:
        """Whether the text of `node` mentions `yield` (a full walk is only needed then)."""
        if self.source is None:
            return True
        if self._lines is None:
            self._lines = self.source.splitlines()
        return any("yield" in line for line in self._lines[node.lineno - 1 : node.end_lineno])

    def _bind(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def _module_level(self, body: list[ast.stmt], *, conditional: bool, type_checking: bool) -> None:
        for stmt in body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                self._bind(stmt.name)
                if conditional:
                    self.rebindable.add(stmt.name)
                    continue
                func = _function_info(
                    stmt, drop_first=False, kind="function", may_yield=self._may_yield(stmt)
                )
                if func.decorated:
                    self.rebindable.add(stmt.name)
                if stmt.name == "__getattr__":
                    self.rebindable.add("*")
                self.info.functions[stmt.name] = func
            elif isinstance(stmt, ast.ClassDef):
                self._bind(stmt.name)
                if conditional:
                    self.rebindable.add(stmt.name)
                    continue
                self.info.classes[stmt.name] = _class_info(stmt, self.info.name, self._may_yield)
            elif isinstance(stmt, ast.Import | ast.ImportFrom):
                self._import(stmt, conditional=conditional, type_checking=type_checking)
            elif isinstance(stmt, ast.If):
                tc = _is_type_checking(stmt.test)
                self._module_level(stmt.body, conditional=True, type_checking=type_checking or tc)
                self._module_level(stmt.orelse, conditional=True, type_checking=type_checking)
            elif isinstance(stmt, ast.Try | ast.TryStar):
                self._optional_fallbacks(stmt)
                for block in (stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody):
                    self._module_level(block, conditional=True, type_checking=type_checking)
                for handler in stmt.handlers:
                    if handler.name:
                        self._bind(handler.name)
            elif isinstance(stmt, ast.For | ast.AsyncFor | ast.While | ast.With | ast.AsyncWith):
                for target in _stmt_targets(stmt, walrus=self._walrus):
                    self._bind(target)
                self._module_level(stmt.body, conditional=True, type_checking=type_checking)
                self._module_level(getattr(stmt, "orelse", []), conditional=True, type_checking=type_checking)
            elif isinstance(stmt, ast.Match):
                for case in stmt.cases:
                    self._module_level(case.body, conditional=True, type_checking=type_checking)
            else:
                for target in _stmt_targets(stmt, walrus=self._walrus):
                    self._bind(target)
                if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
                    self._all_names(stmt)

    def _optional_fallbacks(self, stmt: ast.Try | ast.TryStar) -> None:
        """Names imported in the `try` body that an `except ImportError` handler only sets to `None`."""
        imported = {
            alias.asname or alias.name
            for node in stmt.body
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        for handler in stmt.handlers:
            caught = (
                {
                    dotted(t)
                    for t in (handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type])
                }
                if handler.type
                else {None}
            )
            if not caught & {"ImportError", "ModuleNotFoundError"}:
                continue
            for node in handler.body:
                if (
                    isinstance(node, ast.Assign)
                    and isinstance(node.value, ast.Constant)
                    and node.value.value is None
                    and all(isinstance(t, ast.Name) for t in node.targets)
                ):
                    for target in node.targets:
                        if target.id in imported:  # type: ignore[attr-defined]
                            self.info.optional_imports.append(target.id)  # type: ignore[attr-defined]

    def _all_names(self, stmt: ast.Assign | ast.AnnAssign | ast.AugAssign) -> None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return
        value = stmt.value
        if isinstance(value, ast.List | ast.Tuple) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
        ):
            names = [e.value for e in value.elts]  # type: ignore[attr-defined]
            self.info.all_names = (
                (self.info.all_names or []) + names if isinstance(stmt, ast.AugAssign) else names
            )

    def _import(self, stmt: ast.Import | ast.ImportFrom, *, conditional: bool, type_checking: bool) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    local, target = alias.asname, alias.name
                else:
                    local = target = alias.name.split(".")[0]
                self._add_import(
                    ImportBinding(local, target, True, conditional, type_checking, full=alias.name)
                )
            return
        if stmt.level:
            base = resolve_relative(self.info.name, self.info.is_package, stmt.level, stmt.module)
        else:
            base = stmt.module
        for alias in stmt.names:
            if alias.name == "*":
                self.rebindable.add("*")
                continue
            if base is None:
                self._bind(alias.asname or alias.name)
                self.rebindable.add(alias.asname or alias.name)
                continue
            binding = ImportBinding(
                alias.asname or alias.name,
                f"{base}.{alias.name}",
                False,
                conditional,
                type_checking,
                stmt.level,
            )
            self._add_import(binding)

    def _add_import(self, binding: ImportBinding) -> None:
        self._bind(binding.local)
        self.info.imports.setdefault(binding.local, []).append(binding)

    def _scan_everything(self) -> None:
        """What can rebind a module name from anywhere: statements at any depth, and the few calls that can.

        The statements come from the shared walk (`tree_nodes`, which the codemods use next), in its order.
        Expressions are looked at only in statements whose lines name one of those calls (`setattr`,
        `patch`, `globals`, `vars`, `object`) and only when the text calls one somewhere (`_REBINDING_CALLS`):
        a call's name always stands on one of its statement's lines.
        """
        imported_modules = {local for local, b in self.info.imports.items() if b}
        nodes = tree_nodes(self.tree)
        for node in nodes.of(ast.Global):
            self.rebindable.update(node.names)
        for node in nodes.of(ast.Delete):
            for target in node.targets:
                self._attribute_rebind(target, imported_modules)
        for kind in (ast.Assign, ast.AugAssign, ast.AnnAssign):
            for node in nodes.of(kind):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for sub in _unpack(target):
                        self._attribute_rebind(sub, imported_modules)
        lines: list[int] | None = None  # (no text, or one with "\r" line breaks: every statement is read)
        if self.source is not None:
            if not _calls_rebinding(self.source):
                return
            if "\r" not in self.source:
                lines = _lines_naming(self.source, _REBINDING_NAMES)
        for kind in _CALLING_STATEMENTS:
            for node in nodes.of(kind):
                if lines is not None and not _names_a_line(lines, node):
                    continue
                for call in _statement_calls(node):
                    self._call(call, imported_modules)

    def _attribute_rebind(self, target: ast.AST, imported: set[str]) -> None:
        if isinstance(target, ast.Attribute):
            owner = dotted(target.value)
            if owner is not None:
                head = owner.split(".")[0]
                if head in imported:
                    self.info.external_rebinds.append((self._qualify(owner), target.attr))
        elif isinstance(target, ast.Subscript):
            owner = dotted(target.value) or ""
            if owner.endswith("modules") or (
                isinstance(target.value, ast.Call) and dotted(target.value.func) in {"globals", "vars"}
            ):
                self.rebindable.add("*")

    def _call(self, node: ast.Call, imported: set[str]) -> None:
        func = dotted(node.func) or ""
        last = func.rsplit(".", 1)[-1]
        if func == "globals" or (func == "vars" and not node.args):
            self.rebindable.add("*")  # the module namespace escapes: anything may be rebound
        elif last == "setattr" and node.args:
            owner = node.args[0]
            owner_name = dotted(owner)
            second = node.args[1] if len(node.args) > 1 else None
            attr = (
                second.value if isinstance(second, ast.Constant) and isinstance(second.value, str) else None
            )
            if isinstance(owner, ast.Constant) and isinstance(owner.value, str):
                self.info.patched.append(owner.value)  # monkeypatch.setattr("a.b.c", ...)
            elif owner_name is not None and owner_name.split(".")[0] in imported:
                self.info.external_rebinds.append((self._qualify(owner_name), attr or "*"))
            elif isinstance(owner, ast.Subscript) or (
                isinstance(owner, ast.Call)
                and dotted(owner.func) in {"sys.modules.get", "importlib.import_module"}
            ):
                self.rebindable.add("*")
        elif last in {"patch", "object"} and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                self.info.patched.append(first.value)
            elif last == "object" and len(node.args) > 1:
                owner_name = dotted(first)
                second = node.args[1]
                if owner_name and isinstance(second, ast.Constant) and isinstance(second.value, str):
                    self.info.external_rebinds.append((self._qualify(owner_name), second.value))


_REBINDING_NAMES = ("setattr", "patch", "globals", "vars", "object")
_REBINDING_CALLS = re.compile(r"\b(?:" + "|".join(_REBINDING_NAMES) + r")\s*\(")  # what the search finds
_WORD_CHAR = re.compile(r"\w")
_OPENS_CALL = re.compile(r"\s*\(")


def _calls_rebinding(source: str) -> bool:
    """Whether `_REBINDING_CALLS` matches `source`, found with `str.find` (a search with the alternation
    tries every position of the text: 4x slower on installed packages)."""
    for name in _REBINDING_NAMES:
        at = source.find(name)
        while at >= 0:
            if (at == 0 or not _WORD_CHAR.match(source, at - 1)) and _OPENS_CALL.match(
                source, at + len(name)
            ):
                return True
            at = source.find(name, at + 1)
    return False


def _lines_naming(source: str, names: tuple[str, ...]) -> list[int]:
    """The sorted numbers of the lines on which one of `names` stands (as part of any word or not)."""
    offsets: list[int] = []
    for name in names:
        at = source.find(name)
        while at >= 0:
            offsets.append(at)
            at = source.find(name, at + 1)
    offsets.sort()
    lines: list[int] = []
    line, counted = 1, 0
    for offset in offsets:
        line += source.count("\n", counted, offset)
        counted = offset
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines


def _names_a_line(lines: list[int], node: ast.stmt) -> bool:
    """Whether one of the sorted `lines` lies within the statement's lines (its decorators included)."""
    at = bisect.bisect_left(lines, first_line(node))
    return at < len(lines) and lines[at] <= (node.end_lineno or node.lineno)


# the statements whose expressions `_statement_calls` reads
_CALLING_STATEMENTS = (
    ast.Expr,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.Return,
    ast.With,
    ast.AsyncWith,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
)


def _statement_calls(stmt: ast.stmt) -> Iterator[ast.Call]:
    """The calls where a rebinding call is written: an expression statement, an assigned value, a `with`
    item, a decorator, and the calls they are made on (`globals().update(...)`, `mock.patch.object(...)`)."""
    roots: list[ast.expr] = []
    if isinstance(stmt, ast.Expr | ast.Assign | ast.AnnAssign | ast.AugAssign | ast.Return) and stmt.value:
        roots.append(stmt.value)
    elif isinstance(stmt, ast.With | ast.AsyncWith):
        roots.extend(item.context_expr for item in stmt.items)
    elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        roots.extend(stmt.decorator_list)
    while roots:
        expr = roots.pop()
        if isinstance(expr, ast.Call):
            yield expr
            roots.append(expr.func)
            roots.extend(expr.args)
        elif isinstance(expr, ast.Attribute):
            roots.append(expr.value)
        elif isinstance(expr, ast.Tuple | ast.List):
            roots.extend(expr.elts)


def _unpack(target: ast.expr) -> Iterator[ast.expr]:
    """The single targets of an assignment target (`a, (b.c, *d) = ...` -> a, b.c, d)."""
    if isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _unpack(element)
    elif isinstance(target, ast.Starred):
        yield from _unpack(target.value)
    else:
        yield target


def _stmt_targets(stmt: ast.stmt, *, walrus: bool = True) -> Iterator[str]:
    """Names a simple statement (or a loop/with header) binds at its own level."""
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
        targets = [stmt.target] if not (isinstance(stmt, ast.AnnAssign) and stmt.value is None) else []
    elif isinstance(stmt, ast.For | ast.AsyncFor):
        targets = [stmt.target]
    elif isinstance(stmt, ast.With | ast.AsyncWith):
        targets = [item.optional_vars for item in stmt.items if item.optional_vars is not None]
    elif isinstance(stmt, ast.Delete):
        targets = list(stmt.targets)
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                yield node.id
    if walrus and isinstance(stmt, ast.Expr | ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Return):
        value = stmt.value
        if value is not None:
            for node in ast.walk(value):
                if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
                    yield node.target.id


def _contains_yield(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def _annotated_no_return(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    returns = func.returns
    if isinstance(returns, ast.Constant) and isinstance(returns.value, str):
        text = returns.value
    else:
        text = dotted(returns) if returns is not None else None
    return text is not None and text.rsplit(".", 1)[-1] in NO_RETURN_NAMES


def _function_info(
    func: ast.FunctionDef | ast.AsyncFunctionDef, *, drop_first: bool, kind: str, may_yield: bool = True
) -> FunctionInfo:
    return FunctionInfo(
        name=func.name,
        line=func.lineno,
        signature=signature_from_ast(func.name, func.args, drop_first=drop_first),
        decorated=bool(func.decorator_list),
        is_async=isinstance(func, ast.AsyncFunctionDef),
        is_generator=may_yield and _contains_yield(func),
        annotated_no_return=_annotated_no_return(func),
        kind=kind,
    )


def _class_info(
    node: ast.ClassDef, module: str, may_yield: Callable[[ast.stmt], bool] | None = None
) -> ClassInfo:
    info = ClassInfo(name=node.name, line=node.lineno, module=module)
    info.bases = [dotted(b) for b in node.bases]
    info.keyword_bases = bool(node.keywords)
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        info.decorators.append(dotted(target))
        name = dotted(target) or ""
        if name.rsplit(".", 1)[-1] == "dataclass":
            info.dataclass = True
            if isinstance(deco, ast.Call):
                for kw in deco.keywords:
                    value = kw.value.value if isinstance(kw.value, ast.Constant) else None
                    if kw.arg == "frozen":
                        info.frozen = value is True
                    elif kw.arg == "eq":
                        info.eq = value is not False
                    elif kw.arg == "unsafe_hash":
                        info.unsafe_hash = value is True
    seen: set[str] = set()
    for stmt in node.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            if stmt.name in seen:
                info.duplicate_methods.append(stmt.name)
            seen.add(stmt.name)
            kind = "method"
            drop = True
            names = {dotted(d) for d in stmt.decorator_list}
            if names & {"staticmethod"}:
                kind, drop = "staticmethod", False
            elif names & {"classmethod"}:
                kind = "classmethod"
            method = _function_info(
                stmt, drop_first=drop, kind=kind, may_yield=may_yield(stmt) if may_yield else True
            )
            method.signature = signature_from_ast(f"{node.name}.{stmt.name}", stmt.args, drop_first=drop)
            # a method may be overridden by a subclass: it never returns only when annotated so
            method.never_returns = method.annotated_no_return and not method.decorated
            info.methods[stmt.name] = method
            if stmt.name == "__init__":
                info.instance_attributes = _init_attributes(stmt)
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name) and target.id in {"__eq__", "__hash__"}:
                    seen.add(target.id)
    info.defines_eq = "__eq__" in seen
    info.defines_hash = "__hash__" in seen
    return info


def _init_attributes(init: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, str]:
    """`self.attr = Callee(...)` made once in `__init__` (any depth), as attr -> dotted callee."""
    if not init.args.args:
        return {}
    me = init.args.args[0].arg
    found: dict[str, list[str | None]] = {}
    for node in nested_statements(init):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == me
                ):
                    value = node.value
                    callee = (
                        dotted(value.func)
                        if isinstance(value, ast.Call) and not isinstance(node, ast.AugAssign)
                        else None
                    )
                    found.setdefault(target.attr, []).append(callee)
    return {attr: callees[0] for attr, callees in found.items() if len(callees) == 1 and callees[0]}


def summarize(
    tree: ast.Module, name: str, path: str, *, is_package: bool = False, source: str | None = None
) -> ModuleInfo:
    """The `ModuleInfo` of one parsed module, with the never-returning functions of the module inferred."""
    info = Summarizer(tree, name, path, is_package, source).run()
    infer_never_returning(tree, info, lambda _callee: False)
    return info
