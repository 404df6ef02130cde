"""`ProjectIndex`: the module summaries of one run, keyed by module name, and the questions codemods ask them.

Name resolution follows imports and `__init__.py` re-exports to the class, function or module a name
denotes (`resolve`, `resolve_qualified`, `resolve_in`). The class hierarchy is asked here and nowhere
else: `base_classes`, `is_subclass_of`, `method` (through project bases), `unhashable`. Never-returning
functions are answered soundly (`never_returns`, false for any name something in the project rebinds).
The dependencies of a module (`dependencies`, from `graph`) and digests of the summaries it depends on
(`context_digest`, a Merkle hash over the import graph's components) key the result cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from maintenance.index.graph import closure_digests, dependency_closures
from maintenance.index.model import (
    EXIT_FUNCTIONS,
    NN_MODULE,
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    Symbol,
    can_rebind,
    json_digest,
)


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
        self._closures: dict[str, dict[int, str]] = {}  # leaf kind -> `closure_digests` of every module
        self._checkpoints: dict[str, list[tuple[str, int, str]]] | None = None  # key -> refusing calls

    def unique_modules(self) -> list[ModuleInfo]:
        """Every module summary once (`modules` also holds a summary under its aliases)."""
        return list({id(m): m for m in self.modules.values()}.values())

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

    def defines(self, cls: ClassInfo, names: Iterable[str]) -> bool:
        """Whether `cls` or a project class it derives from (any depth, every base) defines one of `names`."""
        wanted = set(names)
        stack: list[ClassInfo] = [cls]
        seen: set[str] = set()
        while stack:
            current = stack.pop()
            if current.qualname in seen:
                continue
            seen.add(current.qualname)
            if wanted & set(current.methods):
                return True
            stack.extend(b for b in self.base_classes(current) or () if isinstance(b, ClassInfo))
        return False

    def unhashable(self, cls: ClassInfo) -> bool:
        """Whether instances of `cls` are unhashable: a dataclass with eq and neither frozen, unsafe_hash nor
        a `__hash__` of its own, or a plain class that defines `__eq__` without `__hash__`."""
        if cls.dataclass:  # a `def __hash__` of its own is kept by `@dataclass`
            return cls.eq and not cls.frozen and not cls.unsafe_hash and not cls.defines_hash
        return cls.defines_eq and not cls.defines_hash

    # ------------------------------------------------------------------------- functions

    def externally_rebound(self) -> set[str]:
        """Qualified names that some module of the project rebinds (`mod.f = ...`, `setattr`, `patch`)."""
        if self._rebound is None:
            out: set[str] = set()
            for info in self.unique_modules():
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
        if memo is None:  # (a summary that is not one of the index's modules: one step, then the closures)
            reach: set[str] = set()
            for name in self._direct(info):
                reach.add(name)
                reach |= self.dependencies(self.modules[name])
            memo = frozenset(reach - {info.name})
            self._dependencies[id(info)] = memo
        return set(memo)

    def _direct(self, info: ModuleInfo) -> set[str]:
        """The names one step from `info` in the import graph: its imports and its parent packages."""
        names = set(self.imported_modules(info))
        parent = info.name.rpartition(".")[0]
        while parent:
            if parent in self.modules:
                names.add(parent)
            parent = parent.rpartition(".")[0]
        return names

    def _all_dependencies(self) -> None:
        """The dependencies of every module of the index at once (`graph.dependency_closures`)."""
        unique = self.unique_modules()
        direct = {id(m): self._direct(m) for m in unique}
        closure = dependency_closures(unique, direct, self.modules)
        for m in unique:
            self._dependencies[id(m)] = closure[id(m)] - {m.name}

    def dependents(self, module: str) -> set[str]:
        """Canonical names of the modules that depend on `module` (the results a change to it invalidates)."""
        target = self.modules.get(module)
        if target is None:
            return set()
        unique = self.unique_modules()
        return {m.name for m in unique if target.name in self.dependencies(m)}

    def summary_digest(self, info: ModuleInfo) -> str:
        """A hash of one module's summary."""
        digest = self._digests.get(id(info))
        if digest is None:
            never = sorted(n for n, f in info.functions.items() if f.never_returns)
            local = info.local_digest if info.local_digest is not None else json_digest(info.to_dict())
            digest = json_digest([local, never])
            self._digests[id(info)] = digest
        return digest

    def closure_digest(self, info: ModuleInfo, kind: str, leaf: Callable[[ModuleInfo], str]) -> str:
        """A digest of `leaf(d)` over every module `d` that `info` depends on (`graph.closure_digests`,
        computed for every module at the first call of a `kind`); the closure's members are hashed, never
        listed, so memory grows with the graph, not with the square of it."""
        closures = self._closures.get(kind)
        if closures is None:
            unique = self.unique_modules()
            direct = {id(m): self._direct(m) for m in unique}
            closures = self._closures[kind] = closure_digests(unique, direct, self.modules, leaf)
        digest = hashlib.blake2b(digest_size=12)
        for part in sorted({closures[id(self.modules[name])] for name in self._direct(info)}):
            digest.update(part.encode())
        return digest.hexdigest()

    def checkpoint_refusal(self, keys: Iterable[str], path: str) -> tuple[str, int, str] | None:
        """A call of another module that makes a `weights_only=True` load of a checkpoint named by one of
        `keys` (`checkpoints.shared_keys`) fail: (its path, line, "save" | "load"), the first by path and
        line; `None` if none."""
        if self._checkpoints is None:
            by_key: dict[str, list[tuple[str, int, str]]] = {}
            for module in self.unique_modules():
                for line, kind, names in module.checkpoints:
                    for name in names:
                        by_key.setdefault(name, []).append((module.path, line, kind))
            self._checkpoints = {k: sorted(v) for k, v in by_key.items()}
        found = [c for key in keys for c in self._checkpoints.get(key, []) if c[0] != path]
        return min(found) if found else None

    def context_digest(self, info: ModuleInfo) -> str:
        """A hash of the summaries of everything `info` depends on: part of its result-cache key. The
        project's checkpoint facts are in it too: MNT003 judges a load by a save in any module."""
        digest = hashlib.blake2b(digest_size=12)
        digest.update(
            self.closure_digest(info, "summary", lambda m: m.name + self.summary_digest(m)).encode()
        )
        if "checkpoints" not in self._digests_text:
            facts = sorted((m.path, *map(str, c)) for m in self.unique_modules() for c in m.checkpoints)
            self._digests_text["checkpoints"] = json_digest(facts)
        digest.update(self._digests_text["checkpoints"].encode())
        if "rebound" not in self._digests_text:
            self._digests_text["rebound"] = "\n".join(sorted(self.externally_rebound()))
        digest.update(self._digests_text["rebound"].encode())
        return digest.hexdigest()
