"""The records of the project index: one JSON-able summary per module (`ModuleInfo`) and what it holds.

A module's summary lists its top-level classes (`ClassInfo`), functions (`FunctionInfo`, with their
`Signature`), import bindings (`ImportBinding`) and the names something in the module may rebind. The
summaries are what the index cache stores and what the worker processes send back, so each record has
`to_dict` / `from_dict`.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any

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
    # calls that make a weights_only=True load of their checkpoint fail, with its path's string literals:
    # (line, "save" | "load", literals) (`checkpoints.refusing_calls`; MNT003 across files)
    checkpoints: list[tuple[int, str, list[str]]] = field(default_factory=list)
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
            "checkpoints": [list(c) for c in self.checkpoints],
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
            checkpoints=[(line, kind, list(keys)) for line, kind, keys in data.get("checkpoints", [])],
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


Symbol = ClassInfo | FunctionInfo | ModuleInfo


def can_rebind(info: ModuleInfo, name: str) -> bool:
    """Whether something in the module itself may rebind the top-level `name` (sound: unsure = True)."""
    return "*" in info.rebindable or name in info.rebindable or info.binding_counts.get(name, 0) != 1


def json_digest(data: object) -> str:
    """A short hash of a JSON-able record (keys sorted): how summaries and cache keys are compared."""
    text = json.dumps(data, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
