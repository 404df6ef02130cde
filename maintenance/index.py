"""The project index: one cheap `ast` pass over every file of a run, so that codemods see across modules.

For each module the index keeps a JSON-able summary (`ModuleInfo`): its top-level classes (`ClassInfo`:
bases as written and resolved, dataclass / frozen / `__eq__` without `__hash__`, methods with their
signatures, `self.<attr> = Cls(...)` bindings made in `__init__`), its top-level functions (`FunctionInfo`:
signature, decorators, whether it never returns by a *sound* inference), its import bindings (absolute,
relative, `import a.b as c`, inside `try/except` and `if TYPE_CHECKING`) and the names that something in
the module may rebind. `ProjectIndex` maps module names to summaries and resolves a name through imports
and `__init__.py` re-exports to the class, function or module it denotes (`resolve`), follows base
classes across modules (`mro`), and says which modules depend on which (`dependencies`), which is what
the result cache keys on so that a change in one file invalidates the results of the files that use it.

How a codemod reaches it: the engine puts the index and the summary of the file being analysed on the
`FileContext` (`context.index`, `context.module`); the `ast` prefilter `Codemod.may_match(tree, source,
context)` receives the same context. When a single text is analysed on its own (`analyze_text` without an
index, as the examples tests do), the engine builds a one-module index of that text, so `context.index`
is never `None`. Typical use:

    info = context.index.resolve(context.module.name, "FeatureParams")   # ClassInfo | FunctionInfo | ...
    if isinstance(info, ClassInfo) and context.index.unhashable(info): ...

Module names are resolved against the run's root and the usual layouts: a file inside packages (folders
with `__init__.py`) is named from its outermost package (`src/pkg/a.py` -> `pkg.a`); every file is also
reachable by its root-relative dotted path (`src.pkg.a`, `scripts.train`), and a file outside any package
by its stem (`train`), which is how a script that puts its folder on `sys.path` imports its neighbours.
Whatever the index cannot see (third-party code, a dynamic import) resolves to `None`: callers skip it.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import hashlib
import json
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)
INDEX_FORMAT = 1

EXIT_FUNCTIONS = frozenset(
    {
        "sys.exit",
        "os._exit",
        "os.abort",
        "builtins.exit",
        "builtins.quit",
        "exit",
        "quit",
        "typing.assert_never",
        "typing_extensions.assert_never",
    }
)
NO_RETURN_NAMES = frozenset({"NoReturn", "Never"})
DATACLASS_DECORATORS = frozenset({"dataclasses.dataclass", "dataclass"})
NN_MODULE = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"})
# a method call on a module that returns the same module (MNT004 follows `model = Net().to(device)`)
SAME_MODULE_METHODS = frozenset(
    {"to", "cuda", "cpu", "float", "half", "double", "bfloat16", "train", "eval", "requires_grad_"}
)
# wrappers whose call forwards to the wrapped module with the same signature
SIGNATURE_KEEPING_WRAPPERS = frozenset(
    {
        "torch.compile",
        "torch.nn.parallel.DistributedDataParallel",
        "torch.nn.parallel.distributed.DistributedDataParallel",
        "torch.nn.DataParallel",
        "torch.nn.parallel.DataParallel",
        "torch.nn.parallel.data_parallel.DataParallel",
    }
)


# ------------------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class Signature:
    """What binding needs of a signature (the bound `self` already dropped)."""

    text: str
    positional: tuple[str, ...]  # positional-or-keyword and positional-only, in order
    positional_only: int
    required: frozenset[str]
    keyword_only: tuple[str, ...]
    varargs: bool
    varkw: bool

    def bind(self, n_positional: int, keywords: list[str]) -> str | None:
        """Python's own binding rules; the problem as a sentence, or `None` when the call binds."""
        slots = len(self.positional)
        if n_positional > slots and not self.varargs:
            return f"passes {n_positional} positional argument{'s' * (n_positional != 1)} but {self.text} takes {slots}"
        filled = set(self.positional[:n_positional])
        for name in keywords:
            if name in self.positional[: self.positional_only]:
                if not self.varkw:
                    return f"passes positional-only `{name}` by keyword to {self.text}"
            elif name in filled:
                return f"passes `{name}` twice (by position and by keyword) to {self.text}"
            elif name in self.positional or name in self.keyword_only:
                filled.add(name)
            elif not self.varkw:
                return f"passes unexpected keyword `{name}` to {self.text}"
        missing = sorted(self.required - filled, key=lambda n: (self._order(n), n))
        if missing:
            return f"misses required argument{'s' * (len(missing) > 1)} {', '.join(f'`{m}`' for m in missing)} of {self.text}"
        return None

    def _order(self, name: str) -> int:
        names = [*self.positional, *self.keyword_only]
        return names.index(name) if name in names else len(names)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (for the index cache)."""
        return {
            "text": self.text,
            "positional": list(self.positional),
            "positional_only": self.positional_only,
            "required": sorted(self.required),
            "keyword_only": list(self.keyword_only),
            "varargs": self.varargs,
            "varkw": self.varkw,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        """Inverse of `to_dict`."""
        return cls(
            text=data["text"],
            positional=tuple(data["positional"]),
            positional_only=data["positional_only"],
            required=frozenset(data["required"]),
            keyword_only=tuple(data["keyword_only"]),
            varargs=data["varargs"],
            varkw=data["varkw"],
        )


def signature_from_ast(name: str, args: ast.arguments, *, drop_first: bool) -> Signature:
    """The `Signature` of an `ast` function definition (`drop_first`: a method called through its instance)."""
    posonly = list(args.posonlyargs)
    regular = list(args.args)
    n_defaults = len(args.defaults)
    everything = [*posonly, *regular]
    with_default = {a.arg for a in everything[len(everything) - n_defaults :]} if n_defaults else set()
    if drop_first:
        if posonly:
            posonly = posonly[1:]
        elif regular:
            regular = regular[1:]
    positional = tuple(a.arg for a in (*posonly, *regular))
    required = {a for a in positional if a not in with_default}
    required |= {a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None}
    shown = list(positional)
    if args.vararg is not None:
        shown.append("*" + args.vararg.arg)
    elif args.kwonlyargs:
        shown.append("*")
    shown += [a.arg for a in args.kwonlyargs]
    if args.kwarg is not None:
        shown.append("**" + args.kwarg.arg)
    return Signature(
        text=f"`{name}({', '.join(shown)})`",
        positional=positional,
        positional_only=len(posonly),
        required=frozenset(required),
        keyword_only=tuple(a.arg for a in args.kwonlyargs),
        varargs=args.vararg is not None,
        varkw=args.kwarg is not None,
    )


@dataclass
class FunctionInfo:
    """A top-level function or a method.

    `never_returns` is sound: true only when every path ends in a raise, an exit or another
    never-returning call, or the function is annotated `NoReturn`/`Never`, AND nothing can rebind the
    name (see `ModuleInfo.rebindable`). Methods never-return only when annotated (a subclass may override).
    `signature` has the bound first parameter dropped for methods.
    """

    name: str
    line: int
    signature: Signature
    decorated: bool = False
    is_async: bool = False
    is_generator: bool = False
    annotated_no_return: bool = False
    never_returns: bool = False
    kind: str = "function"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (for the index cache)."""
        data = {f: getattr(self, f) for f in _FUNCTION_FIELDS}
        data["signature"] = self.signature.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FunctionInfo:
        """Inverse of `to_dict`."""
        return cls(**{**data, "signature": Signature.from_dict(data["signature"])})


@dataclass
class ClassInfo:
    """A top-level class: bases (qualified where an import says what they are), dataclass flags, methods.

    `bases` are the dotted names of the base expressions resolved through the module's imports
    (`nn.Module` -> `torch.nn.Module`; a class of the same module -> `<module>.<Name>`); `None` entries
    stand for bases that are not plain names (`make_base()`). `instance_attributes` maps `self.<attr>` to
    the dotted callee of a single `self.<attr> = Callee(...)` in `__init__` (assigned once in the class).
    """

    name: str
    line: int
    module: str
    bases: list[str | None] = field(default_factory=list)
    keyword_bases: bool = False
    decorators: list[str | None] = field(default_factory=list)
    dataclass: bool = False
    frozen: bool = False
    eq: bool = True
    unsafe_hash: bool = False
    defines_eq: bool = False
    defines_hash: bool = False
    methods: dict[str, FunctionInfo] = field(default_factory=dict)
    duplicate_methods: list[str] = field(default_factory=list)
    instance_attributes: dict[str, str] = field(default_factory=dict)

    @property
    def qualname(self) -> str:
        """`module.Name`."""
        return f"{self.module}.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (for the index cache)."""
        data = {f: getattr(self, f) for f in _CLASS_FIELDS}
        data["bases"] = list(self.bases)
        data["decorators"] = list(self.decorators)
        data["duplicate_methods"] = list(self.duplicate_methods)
        data["instance_attributes"] = dict(self.instance_attributes)
        data["methods"] = {k: v.to_dict() for k, v in self.methods.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassInfo:
        """Inverse of `to_dict`."""
        methods = {k: FunctionInfo.from_dict(v) for k, v in data["methods"].items()}
        return cls(**{**data, "methods": methods})


@dataclass(frozen=True)
class ImportBinding:
    """`local` is bound by an import to `target` (a module `a.b` or a member `a.b.Name`).

    `is_module`: `import a.b as c` / `import a` (the target is a module); `from a import b` may bind a
    module or a member, which only the index can tell. `conditional`: inside `try`/`except`/`if`
    (`TYPE_CHECKING` included) rather than unconditional at module level; `type_checking`: under
    `if TYPE_CHECKING:`. `level` > 0 for a relative import, already resolved into `target`.
    """

    local: str
    target: str
    is_module: bool = False
    conditional: bool = False
    type_checking: bool = False
    level: int = 0
    full: str = ""  # `import a.b.c` binds `a` (target) and imports `a.b.c` (full)


@dataclass
class ModuleInfo:
    """The summary of one module (see the module docstring)."""

    name: str
    path: str
    is_package: bool = False
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    imports: dict[str, list[ImportBinding]] = field(default_factory=dict)
    # names bound at module level by something other than one def/class/import, or rebindable from inside
    # (global, del, decorator, import of the same name anywhere); "*" = anything (globals(), setattr on the
    # module, module __getattr__, star import)
    rebindable: list[str] = field(default_factory=list)
    binding_counts: dict[str, int] = field(default_factory=dict)
    # `X.attr = ...` / `setattr(X, "attr", ...)` / `del X.attr` where X is an imported name: (X's target, attr)
    external_rebinds: list[tuple[str, str]] = field(default_factory=list)
    # string targets of `mock.patch("a.b.c")` / `monkeypatch.setattr("a.b.c", ...)`
    patched: list[str] = field(default_factory=list)
    all_names: list[str] | None = None
    # names imported in a `try` whose `except ImportError` handler only sets them to None
    optional_imports: list[str] = field(default_factory=list)
    # the qualified names of imported callees the never-returning inference asked about (all answered
    # "returns" by the local inference): only if one of them never returns can the cross-module one differ
    external_calls: list[str] = field(default_factory=list)
    # the digest of the summary as cached (before cross-module inference); not part of `to_dict`
    local_digest: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (for the index cache), without the name and path (a moved file stays cached)."""
        return {
            "is_package": self.is_package,
            "classes": {k: v.to_dict() for k, v in self.classes.items()},
            "functions": {k: v.to_dict() for k, v in self.functions.items()},
            "imports": {
                k: [{f: getattr(b, f) for f in _IMPORT_FIELDS} for b in v] for k, v in self.imports.items()
            },
            "rebindable": self.rebindable,
            "binding_counts": self.binding_counts,
            "external_rebinds": [list(x) for x in self.external_rebinds],
            "patched": self.patched,
            "all_names": self.all_names,
            "optional_imports": self.optional_imports,
            "external_calls": self.external_calls,
        }

    @classmethod
    def from_dict(cls, name: str, path: str, data: dict[str, Any]) -> ModuleInfo:
        """Inverse of `to_dict` (class summaries are re-labelled with `name`)."""
        classes = {k: ClassInfo.from_dict({**v, "module": name}) for k, v in data["classes"].items()}
        return cls(
            name=name,
            path=path,
            is_package=data["is_package"],
            classes=classes,
            functions={k: FunctionInfo.from_dict(v) for k, v in data["functions"].items()},
            imports={k: [ImportBinding(**b) for b in v] for k, v in data["imports"].items()},
            rebindable=list(data["rebindable"]),
            binding_counts=dict(data["binding_counts"]),
            external_rebinds=[(a, b) for a, b in data["external_rebinds"]],
            patched=list(data["patched"]),
            all_names=data["all_names"],
            optional_imports=list(data["optional_imports"]),
            external_calls=list(data["external_calls"]),
        )

    def import_target(self, local: str, *, optional: bool = False) -> str | None:
        """The single import target of `local` when an import is its only module-level binding.

        `optional=True` also accepts `try: from x import C` / `except ImportError: C = None` (the name is
        then either that class or `None`, and calling `None` fails anyway).
        """
        bindings = self.imports.get(local, [])
        targets = {b.target for b in bindings}
        if len(targets) != 1 or "*" in self.rebindable:
            return None
        if optional and local in self.optional_imports:
            return next(iter(targets))
        if self.binding_counts.get(local, 0) != len(bindings) or local in self.rebindable:
            return None
        return next(iter(targets))


_FUNCTION_FIELDS = tuple(f.name for f in fields(FunctionInfo))
_CLASS_FIELDS = tuple(f.name for f in fields(ClassInfo))
_IMPORT_FIELDS = tuple(f.name for f in fields(ImportBinding))


# ------------------------------------------------------------------------------------------ the ast pass


@contextlib.contextmanager
def cyclic_gc_paused(*, freeze: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector for one unit of work (one file, one chunk of files).

    The trees and summaries of a run are millions of long-lived objects without reference cycles; every
    full collection walks all of them again, which made `ast.parse` of the numpy sources 4x slower when
    the trees are kept (10.9 s against 2.6 s). Objects are still freed by reference counting while the
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


def _is_type_checking(test: ast.expr) -> bool:
    name = dotted(test)
    return name is not None and name.rsplit(".", 1)[-1] == "TYPE_CHECKING"


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str | None:
    """The absolute module of `from <level dots><name> import ...` written in `module`."""
    package = module if is_package else module.rpartition(".")[0]
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    if name:
        base.append(name)
    return ".".join(base) if base else None


class _Summarizer:
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
            base = _resolve_relative(self.info.name, self.info.is_package, stmt.level, stmt.module)
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

        Expressions are walked only where the text mentions one of those calls (`setattr`, `patch`,
        `globals`, `vars`): a full `ast.walk` costs ten times the parse.
        """
        imported_modules = {local for local, b in self.info.imports.items() if b}
        look_at_calls = self.source is None or _REBINDING_CALLS.search(self.source) is not None
        for node in _all_statements(self.tree):
            if isinstance(node, ast.Global):
                self.rebindable.update(node.names)
            elif isinstance(node, ast.Delete):
                for target in node.targets:
                    self._attribute_rebind(target, imported_modules)
            elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for sub in _unpack(target):
                        self._attribute_rebind(sub, imported_modules)
            if look_at_calls:
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


_REBINDING_CALLS = re.compile(r"\b(?:setattr|patch|globals|vars|object)\s*\(")


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


def _all_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Every statement at any depth (function and class bodies included), without walking expressions."""
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        stmt = stack.pop()
        yield stmt
        for attr in ("body", "orelse", "finalbody"):
            child = getattr(stmt, attr, None)
            if isinstance(child, list) and child and isinstance(child[0], ast.stmt):
                stack.extend(child)
        for sub in getattr(stmt, "handlers", ()) or getattr(stmt, "cases", ()):
            stack.extend(sub.body)


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
    for node in _all_statements(init):  # type: ignore[arg-type]
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
    info = _Summarizer(tree, name, path, is_package, source).run()
    infer_never_returning(tree, info, lambda _callee: False)
    return info


# ------------------------------------------------------------------------------- never-returning inference


NORMAL, RETURN, RAISE, BREAK, CONTINUE = "normal", "return", "raise", "break", "continue"


class Completion:
    """How statements complete (fall through, return, raise, break, continue), on `ast`.

    `never_returns(call)` decides whether an expression-statement call never returns; `with` blocks
    always may complete (their context manager may swallow an exception).
    """

    def __init__(self, never_returns: Any) -> None:
        self.never_returns = never_returns
        self._memo: dict[int, set[str]] = {}

    def kinds(self, stmt: ast.stmt) -> set[str]:
        key = id(stmt)
        if key not in self._memo:
            self._memo[key] = self._kinds(stmt)
        return self._memo[key]

    def _kinds(self, stmt: ast.stmt) -> set[str]:
        if isinstance(stmt, ast.Return):
            return {RETURN}
        if isinstance(stmt, ast.Raise):
            return {RAISE}
        if isinstance(stmt, ast.Break):
            return {BREAK}
        if isinstance(stmt, ast.Continue):
            return {CONTINUE}
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            return {RAISE} if self.never_returns(stmt.value) else {NORMAL}
        if isinstance(stmt, ast.If):
            return self.block(stmt.body) | (self.block(stmt.orelse) if stmt.orelse else {NORMAL})
        if isinstance(stmt, ast.While | ast.For | ast.AsyncFor):
            body = self.block(stmt.body)
            out = body & {RETURN, RAISE}
            if BREAK in body:
                out.add(NORMAL)
            infinite = (
                isinstance(stmt, ast.While) and isinstance(stmt.test, ast.Constant) and bool(stmt.test.value)
            )
            if not infinite:
                out |= self.block(stmt.orelse) if stmt.orelse else {NORMAL}
            return out
        if isinstance(stmt, ast.With | ast.AsyncWith):
            return self.block(stmt.body) | {NORMAL}
        if isinstance(stmt, ast.Try | ast.TryStar):
            body = self.block(stmt.body)
            out = body - {NORMAL}
            if NORMAL in body:
                out |= self.block(stmt.orelse) if stmt.orelse else {NORMAL}
            for handler in stmt.handlers:
                out |= self.block(handler.body)
            if stmt.finalbody:
                final = self.block(stmt.finalbody)
                out = final if NORMAL not in final else out | (final - {NORMAL})
            return out
        if isinstance(stmt, ast.Match):
            out = {NORMAL}
            for case in stmt.cases:
                out |= self.block(case.body)
            return out
        return {NORMAL}

    def block(self, stmts: list[ast.stmt]) -> set[str]:
        acc: set[str] = set()
        for stmt in stmts:
            k = self.kinds(stmt)
            acc |= k - {NORMAL}
            if NORMAL not in k:
                return acc
        return acc | {NORMAL}


def can_rebind(info: ModuleInfo, name: str) -> bool:
    """Whether something in the module itself may rebind the top-level `name` (sound: unsure = True)."""
    return "*" in info.rebindable or name in info.rebindable or info.binding_counts.get(name, 0) != 1


def local_call_resolver(tree: ast.Module, info: ModuleInfo, external: Any) -> Any:
    """A `never_returns(call)` for calls in `tree`: exits, local never-returning functions, `external(q)`."""
    aliases = {local: info.import_target(local) for local in info.imports}

    def never_returns(call: ast.Call) -> bool:
        name = dotted(call.func)
        if name is None:
            return False
        head, _, rest = name.partition(".")
        if head in info.functions and not rest:
            func = info.functions[head]
            return func.never_returns
        target = aliases.get(head)
        if target is not None:
            qualified = target + ("." + rest if rest else "")
            return qualified in EXIT_FUNCTIONS or bool(external(qualified))
        if head in info.binding_counts or head in info.classes:
            return False
        return name in {"exit", "quit"}

    return never_returns


def infer_never_returning(tree: ast.Module, info: ModuleInfo, external: Any) -> None:
    """Mark the module's functions that never return, to a fixpoint (sound; see `FunctionInfo`).

    `external(qualified)` says whether an imported callee never returns; the names it is asked about are
    added to `info.external_calls`. The inference is deterministic, so with the same answers to those
    names it takes the same path and gives the same result: a later run whose `external` says "returns"
    to each of them needs no tree (`_infer_across`).
    """
    asked: set[str] = set(info.external_calls)

    def ask(qualified: str) -> bool:
        asked.add(qualified)
        return bool(external(qualified))

    defs = {
        s.name: s
        for s in tree.body
        if isinstance(s, ast.FunctionDef) and s.name in info.functions and not can_rebind(info, s.name)
    }
    candidates = [
        defs[n]
        for n, f in info.functions.items()
        if n in defs and not f.decorated and not f.is_async and not f.is_generator
    ]
    for func in info.functions.values():
        func.never_returns = False
    for stmt in candidates:
        if info.functions[stmt.name].annotated_no_return:
            info.functions[stmt.name].never_returns = True
    completion = Completion(local_call_resolver(tree, info, ask))
    changed = True
    while changed:
        changed = False
        for stmt in candidates:
            func = info.functions[stmt.name]
            if not func.never_returns and completion.block(stmt.body) == {RAISE}:
                func.never_returns = True
                completion._memo.clear()
                changed = True
    info.external_calls = sorted(asked)


# ------------------------------------------------------------------------------------------ module names


def module_names(path: Path, root: Path) -> list[str]:
    """Every dotted name the file at `path` can be imported by, the canonical (package-based) one first."""
    path = path.resolve()
    root = root.resolve()
    try:
        rel = path.relative_to(root)
    except ValueError:
        rel = Path(path.name)
    stem_parts = list(rel.with_suffix("").parts)
    is_init = path.name == "__init__.py"
    if is_init:
        stem_parts = stem_parts[:-1]
    # outermost package: climb while the parent folder has an __init__.py
    folder = path.parent
    package_parts: list[str] = [] if is_init else [path.stem]
    if is_init:
        package_parts = [folder.name]
        folder = folder.parent
    while (folder / "__init__.py").exists() and folder != folder.parent and folder != root.parent:
        package_parts.insert(0, folder.name)
        folder = folder.parent
    names: list[str] = []
    for candidate in (".".join(package_parts), ".".join(stem_parts)):
        if candidate and candidate not in names and all(p.isidentifier() for p in candidate.split(".")):
            names.append(candidate)
    if stem_parts and stem_parts[0] in {"src", "lib"} and len(stem_parts) > 1:
        alt = ".".join(stem_parts[1:])
        if alt not in names:
            names.append(alt)
    return names


# ------------------------------------------------------------------------------------------- the index


Symbol = ClassInfo | FunctionInfo | ModuleInfo


class ProjectIndex:
    """Module summaries of one run, keyed by module name, with cross-module resolution."""

    def __init__(self, modules: Iterable[ModuleInfo] = (), aliases: dict[str, str] | None = None) -> None:
        self.modules: dict[str, ModuleInfo] = {}
        self.by_path: dict[str, ModuleInfo] = {}
        for info in modules:
            self.add(info)
        for alias, canonical in (aliases or {}).items():
            if alias not in self.modules and canonical in self.modules:
                self.modules[alias] = self.modules[canonical]
        self._forget()

    def _forget(self) -> None:
        """Empty the memos (keyed by `id()` of summaries: meaningless in another process)."""
        self._rebound: set[str] | None = None
        self._digests: dict[int, str] = {}
        self._digests_text: dict[str, str] = {}
        self._dependencies: dict[int, frozenset[str]] = {}
        self._imported: dict[int, frozenset[str]] = {}
        self._entries: dict[str, bytes] = {}  # context_digest: module name + its summary digest

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (for the worker processes) without the memos: ids do not survive the trip."""
        return {"modules": self.modules, "by_path": self.by_path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.modules = state["modules"]
        self.by_path = state["by_path"]
        self._forget()

    def add(self, info: ModuleInfo, *aliases: str) -> None:
        """Register a module summary under its name (and any alias names)."""
        self.modules[info.name] = info
        for alias in aliases:
            self.modules.setdefault(alias, info)
        self.by_path[info.path] = info
        self._rebound = None
        self._digests = {}
        self._digests_text = {}
        self._dependencies = {}
        self._imported = {}

    def module_for_path(self, path: str) -> ModuleInfo | None:
        """The summary of the file at `path` (as the run names it)."""
        return self.by_path.get(path)

    # ------------------------------------------------------------------------- resolution

    def resolve(self, module: str, local: str, _depth: int = 0, *, optional: bool = True) -> Symbol | None:
        """What the top-level name `local` of `module` denotes: a class, function or module of the project.

        Follows imports and re-exports (`from .a import X` in an `__init__.py`) to the definition; `None`
        when the name is bound more than once, may be rebound, or leads outside the project. `optional`
        follows `try: from x import C` / `except ImportError: C = None` (see `ModuleInfo.import_target`).
        """
        info = self.modules.get(module)
        if info is None or _depth > 20:
            return None
        if local in info.classes and not can_rebind(info, local):
            return info.classes[local]
        if local in info.functions and not can_rebind(info, local):
            return info.functions[local]
        target = info.import_target(local, optional=optional)
        if target is None:
            return None
        return self.resolve_qualified(target, _depth + 1, optional=optional)

    def resolve_qualified(self, qualified: str, _depth: int = 0, *, optional: bool = True) -> Symbol | None:
        """What `a.b.Name` (or the module `a.b`) denotes in the project, or `None`."""
        if _depth > 20:
            return None
        if qualified in self.modules:
            return self.modules[qualified]
        owner, _, attr = qualified.rpartition(".")
        if not owner:
            return None
        parent = self.resolve_qualified(owner, _depth + 1, optional=optional)
        if isinstance(parent, ModuleInfo):
            if f"{parent.name}.{attr}" in self.modules:
                return self.modules[f"{parent.name}.{attr}"]
            return self.resolve(parent.name, attr, _depth + 1, optional=optional)
        if isinstance(parent, ClassInfo):
            return parent.methods.get(attr)
        return None

    def resolve_in(self, module: str, dotted_name: str) -> Symbol | None:
        """What the expression `a.b.C` written in `module` denotes (through the module's own bindings)."""
        head, _, rest = dotted_name.partition(".")
        symbol = self.resolve(module, head)
        for part in rest.split(".") if rest else []:
            if isinstance(symbol, ModuleInfo):
                symbol = self.resolve_qualified(f"{symbol.name}.{part}")
            elif isinstance(symbol, ClassInfo):
                symbol = symbol.methods.get(part)
            else:
                return None
        return symbol

    def qualified_name_in(self, module: str, dotted_name: str) -> str | None:
        """`dotted_name` written in `module` with its head replaced by its import target (third party too)."""
        info = self.modules.get(module)
        if info is None:
            return None
        head, _, rest = dotted_name.partition(".")
        if head in info.classes or head in info.functions:
            return f"{info.name}.{dotted_name}"
        target = info.import_target(head)
        if target is None:
            return None if head in info.binding_counts else dotted_name
        return target + ("." + rest if rest else "")

    # ------------------------------------------------------------------------- classes

    def base_classes(self, cls: ClassInfo) -> list[ClassInfo | str] | None:
        """Each base as the project class it names, or as its qualified name when it is outside the project.

        `None` when a base is not a plain (dotted) name.
        """
        out: list[ClassInfo | str] = []
        for base in cls.bases:
            if base is None:
                return None
            found = self.resolve_qualified(base)
            out.append(found if isinstance(found, ClassInfo) else base)
        return out

    def is_subclass_of(self, cls: ClassInfo, qualified: frozenset[str], _depth: int = 0) -> bool:
        """Whether `cls` derives, through project classes, from one of the `qualified` external classes."""
        bases = self.base_classes(cls)
        if bases is None or _depth > 30:
            return False
        for base in bases:
            if isinstance(base, str):
                if base in qualified:
                    return True
            elif self.is_subclass_of(base, qualified, _depth + 1):
                return True
        return False

    def is_nn_module(self, cls: ClassInfo) -> bool:
        """Whether `cls` derives from `torch.nn.Module` (through project base classes)."""
        return self.is_subclass_of(cls, NN_MODULE)

    def method(self, cls: ClassInfo, name: str, _depth: int = 0) -> FunctionInfo | None:
        """The method `name` of `cls` or of its bases (single inheritance through project classes only).

        `None` when it is defined twice, decorated (other than static/class method), or a base the index
        cannot see might define it.
        """
        if _depth > 30:
            return None
        if name in cls.methods:
            method = cls.methods[name]
            if name in cls.duplicate_methods or (method.decorated and method.kind == "method"):
                return None
            return method
        bases = self.base_classes(cls)
        if bases is None:
            return None
        project = [b for b in bases if isinstance(b, ClassInfo)]
        external = [b for b in bases if isinstance(b, str) and b not in {"object", "builtins.object"}]
        if len(project) != 1:
            return None
        if external and not (set(external) <= NN_MODULE and name in {"forward", "__init__"}):
            return None
        return self.method(project[0], name, _depth + 1)

    def unhashable(self, cls: ClassInfo) -> bool:
        """Whether instances of `cls` are unhashable: a dataclass with eq and neither frozen nor unsafe_hash,
        or a plain class that defines `__eq__` without `__hash__`."""
        if cls.dataclass:
            return cls.eq and not cls.frozen and not cls.unsafe_hash
        return cls.defines_eq and not cls.defines_hash

    # ------------------------------------------------------------------------- functions

    def externally_rebound(self) -> set[str]:
        """Qualified names that some module of the project rebinds (`mod.f = ...`, `setattr`, `patch`)."""
        if self._rebound is None:
            out: set[str] = set()
            for info in {id(m): m for m in self.modules.values()}.values():
                for owner, attr in info.external_rebinds:
                    symbol = self.resolve_qualified(owner)
                    owner_name = symbol.name if isinstance(symbol, ModuleInfo) else owner
                    out.add(f"{owner_name}.{attr}")
                    if attr == "*":
                        out.add(f"{owner_name}.*")
                for target in info.patched:
                    out.add(target)
                    owner, _, attr = target.rpartition(".")
                    symbol = self.resolve_qualified(owner) if owner else None
                    if isinstance(symbol, ModuleInfo):
                        out.add(f"{symbol.name}.{attr}")
            self._rebound = out
        return self._rebound

    def never_returns(self, qualified: str) -> bool:
        """Whether the project function `qualified` (`pkg.utils.die`) never returns, soundly.

        Also false when any module of the project rebinds or patches that name.
        """
        if qualified in EXIT_FUNCTIONS:
            return True
        owner, _, attr = qualified.rpartition(".")
        symbol = self.resolve_qualified(qualified, optional=False)
        if not isinstance(symbol, FunctionInfo) or not symbol.never_returns or symbol.kind != "function":
            return False
        module = self.resolve_qualified(owner)
        names = {qualified}
        if isinstance(module, ModuleInfo):
            names |= {f"{module.name}.{attr}", f"{module.name}.*"}
            # the defining module, wherever it is re-exported from
            for candidate in self.modules.values():
                if candidate.functions.get(symbol.name) is symbol:
                    names |= {f"{candidate.name}.{symbol.name}", f"{candidate.name}.*"}
        return not (names & self.externally_rebound())

    # ------------------------------------------------------------------------- dependencies

    def imported_modules(self, info: ModuleInfo) -> set[str]:
        """Canonical names of the project modules `info` imports from (directly)."""
        memo = self._imported.get(id(info))
        if memo is None:
            memo = frozenset(self._imported_modules(info))
            self._imported[id(info)] = memo
        return set(memo)

    def _imported_modules(self, info: ModuleInfo) -> set[str]:
        out: set[str] = set()
        for bindings in info.imports.values():
            for binding in bindings:
                target = binding.target
                while target:
                    found = self.modules.get(target)
                    if found is not None:
                        out.add(found.name)
                        break
                    target = target.rpartition(".")[0]
                # `from pkg import mod` binds a submodule; `import pkg.mod` imports one
                for name in (binding.target, binding.full):
                    sub = self.modules.get(name) if name else None
                    if sub is not None:
                        out.add(sub.name)
        out.discard(info.name)
        return out

    def dependencies(self, info: ModuleInfo) -> set[str]:
        """Canonical names of every project module `info` depends on, transitively (itself excluded)."""
        memo = self._dependencies.get(id(info))
        if memo is None and not self._dependencies:
            self._all_dependencies()
            memo = self._dependencies.get(id(info))
        if memo is None:  # (a summary that is not one of the index's modules)
            memo = frozenset(self._dependencies_of(info))
            self._dependencies[id(info)] = memo
        return set(memo)

    def _direct(self, info: ModuleInfo) -> set[str]:
        """The names one step from `info` in `_dependencies_of`: its imports and its parent packages."""
        names = set(self.imported_modules(info))
        parent = info.name.rpartition(".")[0]
        while parent:
            if parent in self.modules:
                names.add(parent)
            parent = parent.rpartition(".")[0]
        return names

    def _all_dependencies(self) -> None:
        """`_dependencies_of` of every module at once: the strongly connected components of the import
        graph (Tarjan's algorithm, iterative) in reverse topological order, each closure the union of its
        members' direct names and its successors' closures. Same sets, without a search per module."""
        unique = list({id(m): m for m in self.modules.values()}.values())
        direct = {id(m): self._direct(m) for m in unique}
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
                    succ = self.modules[name]
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
                        target = id(self.modules[name])
                        if target not in ids:
                            reach |= closure[target]
                frozen = frozenset(reach)
                for member in members:
                    closure[id(member)] = frozen
        for m in unique:
            self._dependencies[id(m)] = closure[id(m)] - {m.name}

    def _dependencies_of(self, info: ModuleInfo) -> set[str]:
        seen: set[str] = set()
        stack = [info]
        while stack:
            current = stack.pop()
            for name in self.imported_modules(current):
                if name not in seen:
                    seen.add(name)
                    stack.append(self.modules[name])
                    # packages on the way are imported too (their __init__ runs, and may re-export)
            parent = current.name.rpartition(".")[0]
            while parent:
                if parent in self.modules and parent not in seen:
                    seen.add(parent)
                    stack.append(self.modules[parent])
                parent = parent.rpartition(".")[0]
        seen.discard(info.name)
        return seen

    def dependents(self, module: str) -> set[str]:
        """Canonical names of the modules that depend on `module` (the results a change to it invalidates)."""
        target = self.modules.get(module)
        if target is None:
            return set()
        unique = {id(m): m for m in self.modules.values()}.values()
        return {m.name for m in unique if target.name in self.dependencies(m)}

    def summary_digest(self, info: ModuleInfo) -> str:
        """A hash of one module's summary."""
        digest = self._digests.get(id(info))
        if digest is None:
            never = sorted(n for n, f in info.functions.items() if f.never_returns)
            local = info.local_digest if info.local_digest is not None else _json_digest(info.to_dict())
            digest = _json_digest([local, never])
            self._digests[id(info)] = digest
        return digest

    def context_digest(self, info: ModuleInfo) -> str:
        """A hash of the summaries of everything `info` depends on: part of its result-cache key."""
        digest = hashlib.blake2b(digest_size=12)
        entries = self._entries
        for name in sorted(self.dependencies(info)):
            if name not in entries:
                entries[name] = (name + self.summary_digest(self.modules[name])).encode()
            digest.update(entries[name])
        if "rebound" not in self._digests_text:
            self._digests_text["rebound"] = "\n".join(sorted(self.externally_rebound()))
        digest.update(self._digests_text["rebound"].encode())
        return digest.hexdigest()


# --------------------------------------------------------------------------------------- build + cache


class IndexCache:
    """Module summaries by file content under `<root>/.maintenance_cache/index-<version>.json`."""

    def __init__(self, directory: Path | None, fingerprint: str) -> None:
        self.file = directory / f"index-{fingerprint}.json" if directory is not None else None
        self.entries: dict[str, dict[str, Any]] = {}
        self.dirty = False
        if self.file is not None:
            try:
                self.entries = json.loads(self.file.read_text(encoding="utf-8"))
            except FileNotFoundError:
                pass
            except (OSError, ValueError) as err:
                LOG.warning("ignoring the unreadable index cache %s (%s)", self.file, err)

    def get(self, digest: str) -> dict[str, Any] | None:
        """The cached summary of content `digest`, or `None`."""
        return self.entries.get(digest)

    def get_cross(self, key: str) -> set[str] | None:
        """The never-returning functions of a module for `key` (its and its dependencies' contents)."""
        found = self.entries.get("cross:" + key)
        return set(found) if found is not None else None  # type: ignore[arg-type]

    def put_cross(self, key: str, names: list[str]) -> None:
        """Remember the cross-module never-returning functions of a module."""
        if self.entries.get("cross:" + key) != names:
            self.entries["cross:" + key] = names  # type: ignore[assignment]
            self.dirty = True

    def put(self, digest: str, data: dict[str, Any]) -> None:
        """Remember a summary."""
        self.entries[digest] = data
        self.dirty = True

    def save(self) -> None:
        """Write the cache atomically (a failure only costs speed next time, so it is logged)."""
        if self.file is None or not self.dirty:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.entries, handle)
            Path(tmp).replace(self.file)
        except OSError as err:
            LOG.warning("could not write the index cache %s (%s)", self.file, err)


Summaries = Callable[[list[tuple[Path, str, str]]], dict[str, dict[str, Any] | None]]


def summarize_file(path: Path, display: str, text: str, root: Path) -> tuple[ModuleInfo, ast.Module] | None:
    """One file's summary (local never-returning inference only) and its tree; `None` when it does not parse."""
    names = module_names(path, root)
    if not names:
        return None
    try:
        tree = parse(text)
    except (SyntaxError, ValueError):
        return None
    info = _Summarizer(tree, names[0], display, path.name == "__init__.py", text).run()
    infer_never_returning(tree, info, lambda _qualified: False)  # local only: safe to cache
    return info, tree


def summary_data(info: ModuleInfo) -> dict[str, Any]:
    """The JSON-able summary of a module as the index cache stores it (with its `digest`)."""
    data = info.to_dict()
    data["digest"] = _json_digest(data)
    return data


def build_index(
    sources: Iterable[tuple[Path, str, str, str]],
    root: Path,
    cache: IndexCache | None = None,
    summarize: Summaries | None = None,
) -> ProjectIndex:
    """The index of a run from `(path, display path, text, content digest)` of each file.

    A file whose text does not parse is left out (the engine reports it as MNT000). With `cache`, an
    unchanged file's summary is reused (keyed by content and by its module name, which relative imports
    depend on). `summarize` computes the summaries the cache lacks elsewhere (`maintenance.fix` runs them
    in its worker processes, which keep the trees for the analysis): it receives `(path, display, text)`
    and returns display path -> `summary_data` (or `None` for a file that does not parse); without it they
    are computed here. Never-returning functions are then inferred across modules to a fixpoint.
    """
    index = ProjectIndex()
    trees: dict[str, ast.Module] = {}
    texts: dict[str, str] = {}
    keys: dict[str, str] = {}  # display path -> cache key (content digest, module name, package flag)
    entries: list[tuple[Path, str, list[str], dict[str, Any] | None]] = []
    missing: list[tuple[Path, str, str]] = []
    for path, display, text, digest in sources:
        names = module_names(path, root)
        if not names:
            continue
        key = f"{digest}|{names[0]}|{path.name == '__init__.py'}"
        keys[display] = key
        texts[display] = text
        data = cache.get(key) if cache is not None else None
        entries.append((path, display, names, data))
        if data is None:
            missing.append((path, display, text))
    computed: dict[str, dict[str, Any] | None] = {}
    if summarize is not None and missing:
        computed = summarize(missing)
    else:
        for path, display, text in missing:
            summary = summarize_file(path, display, text, root)
            if summary is not None:
                computed[display], trees[display] = summary_data(summary[0]), summary[1]
            else:
                computed[display] = None
    for _path, display, names, data in entries:
        fresh = data is None
        data = computed.get(display) if fresh else data
        if data is None:
            continue  # does not parse
        info = ModuleInfo.from_dict(names[0], display, data)
        info.local_digest = data.get("digest")
        if fresh and cache is not None and cache.file is not None:
            cache.put(keys[display], data)
        index.add(info, *names[1:])
    # cross-module never-returning inference: a module that imports project functions or modules is
    # re-inferred, unless the cache holds its result for the same contents of it and all its dependencies
    crossing = [
        info
        for info in {id(m): m for m in index.modules.values()}.values()
        if info.functions
        and any(
            isinstance(index.resolve_qualified(b.target, optional=False), FunctionInfo | ModuleInfo)
            for bindings in info.imports.values()
            for b in bindings
        )
    ]
    cross_keys: dict[str, str] = {}
    rebound = _json_digest(sorted(index.externally_rebound()))  # a patch anywhere changes the inference
    pending: list[ModuleInfo] = []
    for info in crossing:
        deps = sorted(keys.get(index.modules[d].path, "") for d in index.dependencies(info))
        cross_keys[info.path] = _json_digest([keys.get(info.path, ""), deps, rebound])
        stored = cache.get_cross(cross_keys[info.path]) if cache is not None else None
        if stored is not None and info.path not in trees:  # (the summary was cached or made by a worker)
            for fname, func in info.functions.items():
                func.never_returns = fname in stored
        else:
            pending.append(info)

    def tree_of(info: ModuleInfo) -> ast.Module:
        if info.path not in trees:
            trees[info.path] = parse(texts[info.path])  # it parsed for its summary: it parses again
        return trees[info.path]

    with cyclic_gc_paused():
        _infer_across(index, pending, tree_of)
    if cache is not None and cache.file is not None:
        for info in crossing:
            cache.put_cross(
                cross_keys[info.path], sorted(n for n, f in info.functions.items() if f.never_returns)
            )
        cache.save()
    return index


def _json_digest(data: object) -> str:
    text = json.dumps(data, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _infer_across(
    index: ProjectIndex, pending: list[ModuleInfo], tree_of: Callable[[ModuleInfo], ast.Module]
) -> None:
    """Never-returning inference of the `pending` modules across the project, to a fixpoint.

    Every summary holds the local inference (each imported callee taken to return) and the imported
    callees it asked about (`ModuleInfo.external_calls`). A module is re-inferred with the cross-module
    resolver only when the answers for those callees change: while every one of them returns, the local
    result is the cross-module one, and the module needs no tree (`tree_of` parses on demand).
    """
    changed = True
    rounds = 0
    answered: dict[int, frozenset[str]] = {}  # module -> the callees found never-returning at its inference
    while changed and rounds < 10:
        changed = False
        rounds += 1
        for info in pending:
            hits = frozenset(q for q in info.external_calls if index.never_returns(q))
            if hits == answered.get(id(info), frozenset()):
                continue
            answered[id(info)] = hits
            before = {n for n, f in info.functions.items() if f.never_returns}
            infer_never_returning(tree_of(info), info, index.never_returns)
            after = {n for n, f in info.functions.items() if f.never_returns}
            if before != after:
                changed = True


def single_module_index(
    tree: ast.Module, path: str, name: str = "__main__", source: str | None = None
) -> ProjectIndex:
    """The index of one text analysed on its own (no project around it)."""
    info = _Summarizer(tree, name, path, False, source).run()
    index = ProjectIndex([info])
    infer_never_returning(tree, info, index.never_returns)
    return index
