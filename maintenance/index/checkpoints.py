"""Checkpoint facts of a module: which `torch.save`/`torch.load` calls make a `weights_only=True` load of
the same checkpoint fail, and what names the checkpoint.

MNT003 judges a load by the saves and loads of its checkpoint. Within a file it matches them by the
path's string literals and names (`unsafe_torch_load`); across files only the string literals mean the
same thing, so each module's summary records its refusing calls with their file names and constants
(`refusing_calls`, `shared_keys`) and the project index answers for the whole project
(`ProjectIndex.checkpoint_refusal`). Only a literal that names a whole file (`names_a_file`: `model.pt`,
not `.pt`) or a constant resolved to the module that defines it links two modules.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass

from maintenance.astutil import TreeNodes, dotted, tree_nodes
from maintenance.index.model import ModuleInfo

TORCH_LOAD = frozenset({"torch.load", "torch.serialization.load"})
TORCH_SAVE = frozenset({"torch.save", "torch.serialization.save"})
PATH_MODULES = frozenset({"os", "pathlib", "Path", "osp", "str"})

Function = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
# a literal that names one file (`model.pt`, `out/best.ckpt`), not a piece of a built path (`.pt`, `_`,
# `{root}/`): only those name the same checkpoint in two modules (`.pt` alone matched torch's and
# torch_geometric's unrelated files on a real tree)
_FILE_NAME = re.compile(r"(?:^|[/\\])[^/\\]*[A-Za-z0-9][^/\\]*\.[A-Za-z0-9]+$")


def names_a_file(literal: str) -> bool:
    """Whether a path literal names a whole file, with a stem and an extension (see `_FILE_NAME`)."""
    templated = "{" in literal or "%" in literal  # a `str.format` or `%` template names many files
    return _FILE_NAME.search(literal) is not None and not literal.startswith(".") and not templated


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def saved_path(call: ast.Call) -> ast.expr | None:
    """The path argument of a `torch.save` call."""
    return call.args[1] if len(call.args) > 1 else keyword(call, "f")


def loaded_path(call: ast.Call) -> ast.expr | None:
    """The path argument of a `torch.load` call."""
    return call.args[0] if call.args else keyword(call, "f")


def may_be_torch_io(func: ast.expr) -> bool:
    """Whether a call of `func` can be torch's save or load before its name is resolved: `<x>.load`,
    `<x>.save`, or a plain name (imported as one of them); every other call is not looked up."""
    return func.attr in _LOAD_SAVE if isinstance(func, ast.Attribute) else isinstance(func, ast.Name)


_LOAD_SAVE = frozenset({"load", "save"})


def loads_everything(call: ast.Call) -> bool:
    """A `torch.load(..., weights_only=False)`."""
    value = keyword(call, "weights_only")
    return isinstance(value, ast.Constant) and value.value is False


def path_keys(path: ast.expr | None, function: Function | None) -> frozenset[str]:
    """What names a checkpoint in a path expression: its string literals (`"best.pt"`, the parts of an
    f-string or `os.path.join`: `text:` keys) and its dotted names (`ckpt_path`, `self.checkpoint`; not the
    functions called on them: `name:` keys). A name the enclosing function assigns names a checkpoint of
    that function only: `b` in one test is not `b` in another; bound once, it also brings the keys of the
    value it was built from."""
    keys: set[str] = set()
    stack = [path] if path is not None else []
    followed: set[str] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str) and node.value.strip("/\\. "):
                keys.add(f"text:{node.value}")
            continue
        if isinstance(node, ast.Name | ast.Attribute):
            name = dotted(node)
            if name is not None:
                head = name.split(".")[0]
                if head not in PATH_MODULES:
                    if function is None or head not in _bindings(function).stores:
                        keys.add(f"name:{name}")
                        continue
                    keys.add(f"name:{function.lineno}:{name}")
                    # `extra = folder / META_FILE`: what the local was built from names it too
                    if isinstance(node, ast.Name) and name not in followed:
                        followed.add(name)
                        value = _bindings(function).single.get(name)
                        if value is not None:
                            stack.append(value)
                continue
        if isinstance(node, ast.Call):
            stack.extend([*node.args, *(k.value for k in node.keywords)])
            if isinstance(node.func, ast.Attribute) and dotted(node.func) is None:
                stack.append(node.func.value)  # `(root / "x").with_suffix(".pt")`: the object it is called on
            continue
        stack.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr))
    return frozenset(keys)


@dataclass(frozen=True)
class _Bindings:
    """The names a function assigns (`stores`: how often; its nested functions' included, an
    over-approximation that only makes two checkpoints look different) and, for a name bound once by a
    plain `name = value`, that value (`single`). Parameters are not among them: `save(model, path)` and
    `load(path)` of one module pass the same checkpoint around."""

    stores: dict[str, int]
    single: dict[str, ast.expr]


_BINDINGS: dict[int, tuple[Function, _Bindings]] = {}  # id(function) -> its bindings (a few functions a file)


def _bindings(function: Function) -> _Bindings:
    """The `_Bindings` of a function, walked once however many path names ask."""
    memo = _BINDINGS.get(id(function))
    if memo is not None and memo[0] is function:
        return memo[1]
    stores: dict[str, int] = {}
    assigned: dict[str, ast.expr] = {}
    body = [function.body] if isinstance(function, ast.Lambda) else function.body
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                stores[node.id] = stores.get(node.id, 0) + 1
            elif (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                assigned[node.targets[0].id] = node.value
    found = _Bindings(stores, {name: value for name, value in assigned.items() if stores.get(name) == 1})
    if len(_BINDINGS) > 256:
        _BINDINGS.clear()
    _BINDINGS[id(function)] = (function, found)
    return found


def plain_state(value: ast.expr, values: dict[str, list[ast.expr]], depth: int = 0) -> bool:
    """Whether `torch.save(value, ...)` saves only tensors' containers: state dicts, copies of them
    (`copy.deepcopy(m.state_dict())`, `{k: v.cpu() for k, v in sd.items()}`), dicts and lists of those,
    constants, and names every assignment of which in the module is one of those."""
    if depth > 5:
        return False
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.Call):
        name = dotted(value.func) or ""
        if name.endswith("state_dict"):
            return True
        if name.rsplit(".", 1)[-1] in {"deepcopy", "copy", "OrderedDict", "dict"} and len(value.args) == 1:
            return plain_state(value.args[0], values, depth + 1)
        func = value.func
        if isinstance(func, ast.Attribute) and func.attr in {"items", "values", "copy"} and not value.args:
            return plain_state(func.value, values, depth + 1)  # `sd.items()` in a dict comprehension
        return False
    if isinstance(value, ast.Name) and value.id in values:
        return all(plain_state(v, values, depth + 1) for v in values[value.id])
    if isinstance(value, ast.Name | ast.Attribute):
        name = dotted(value) or ""
        return name.rsplit(".", 1)[-1].endswith(("state_dict", "state", "sd", "weights"))
    if isinstance(value, ast.Dict):
        return all(v is not None and plain_state(v, values, depth + 1) for v in value.values)
    if isinstance(value, ast.List | ast.Tuple):
        return all(plain_state(v, values, depth + 1) for v in value.elts)
    if isinstance(value, ast.DictComp):
        return any(plain_state(g.iter, values, depth + 1) for g in value.generators) or plain_state(
            value.value, values, depth + 1
        )
    return False


def assigned_values(nodes: list[ast.Assign]) -> dict[str, list[ast.expr]]:
    """Name -> every value assigned to it by a plain `name = value` among `nodes` (what `plain_state`
    follows a saved name through)."""
    values: dict[str, list[ast.expr]] = {}
    for node in nodes:
        for target in node.targets:
            if isinstance(target, ast.Name):
                values.setdefault(target.id, []).append(node.value)
    return values


_CONSTANT = re.compile(r"_*[A-Z][A-Z0-9_]*$")


def shared_keys(
    path: ast.expr | None, qualify: Callable[[str], str | None], function: Function | None = None
) -> list[str]:
    """What names a checkpoint the same way in every module: the file names among its path's string
    literals (`file:model.pt`) and its constants (`NAME` or `_NAME`, by the naming convention) qualified
    through the module's imports or its own top level (`const:pkg.load._METADATA_FILENAME`): a save in
    one module and a load in another that use the same constant read the same file. A name the enclosing
    `function` binds once is followed to its value (`extra = folder / _METADATA_FILENAME`)."""
    keys = set()
    for key in path_keys(path, function):
        kind, _, value = key.partition(":")
        if kind == "text" and names_a_file(value):
            keys.add(f"file:{value}")
        elif kind == "name" and _CONSTANT.match(value.rsplit(".", 1)[-1]):
            qualified = qualify(value)
            if qualified is not None:
                keys.add(f"const:{qualified}")
    return sorted(keys)


def module_qualifier(info: ModuleInfo) -> Callable[[str], str | None]:
    """How a module qualifies a dotted name for `shared_keys`: through the import that binds its head
    (the import's target), or as one of the module's own top-level names; `None` otherwise."""

    def qualify(name: str) -> str | None:
        head, _, rest = name.partition(".")
        target = info.import_target(head)
        if target is not None:
            return target + ("." + rest if rest else "")
        return f"{info.name}.{name}" if head in info.binding_counts else None

    return qualify


def refusing_calls(
    tree: ast.Module, resolve: Callable[[str], str], qualify: Callable[[str], str | None]
) -> list[tuple[int, str, list[str]]]:
    """The module's calls that make a `weights_only=True` load of their checkpoint fail, with the keys that
    name it in any module (`shared_keys`): `(line, "save" | "load", keys)` for a `torch.save` of objects
    other than tensors' containers and a `torch.load(..., weights_only=False)`. `resolve` qualifies a
    callee through the module's imports (`torch.save`, `T.save`, `save` imported from torch)."""
    nodes = tree_nodes(tree)  # (the walk the codemods share: the last tree's is kept)
    found: list[tuple[int, str, list[str]]] = []
    values: dict[str, list[ast.expr]] | None = None
    places: Places | None = None
    for call in nodes.of(ast.Call):
        callee = dotted(call.func) if may_be_torch_io(call.func) else None
        if callee is None:
            continue
        name = resolve(callee)
        if name in TORCH_SAVE and call.args:
            if values is None:
                values = assigned_values(nodes.of(ast.Assign))
            if plain_state(call.args[0], values):
                continue
            kind, path = "save", saved_path(call)
        elif name in TORCH_LOAD and loads_everything(call):
            kind, path = "load", loaded_path(call)
        else:
            continue
        if places is None:
            places = Places(nodes)
        keys = shared_keys(path, qualify, places.of(call)[0])
        if keys:
            found.append((call.lineno, kind, keys))
    return sorted(found)


class Places:
    """Where a call sits: its innermost enclosing function (a `def` or a lambda; a class body keeps the
    function around it) and whether it runs inside the body of a `try` one of whose handlers is `broad`
    (a `def`, lambda or class in between runs its body later, outside that `try`). Found from the
    positions of the nodes of the shared walk, without walking the tree again."""

    def __init__(self, nodes: TreeNodes, broad: Callable[[ast.ExceptHandler], bool] | None = None) -> None:
        self.scopes = [
            (_start(n), _end(n), not isinstance(n, ast.ClassDef), n)
            for n in nodes.of(ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
        ]
        self.tries = [
            (_start(t.body[0]), _end(t.body[-1]))
            for t in nodes.of(ast.Try, ast.TryStar)
            if broad is not None and t.body and any(broad(h) for h in t.handlers)
        ]

    def of(self, call: ast.Call) -> tuple[Function | None, bool]:
        start, end = _start(call), _end(call)
        around = [s for s in self.scopes if s[0] <= start and end <= s[1]]
        function = max((s for s in around if s[2]), key=lambda s: s[0], default=None)
        innermost = max((s[0] for s in around), default=None)
        in_broad_try = any(
            t[0] <= start and end <= t[1] and (innermost is None or innermost < t[0]) for t in self.tries
        )
        return (function[3] if function is not None else None), in_broad_try  # type: ignore[return-value]


def _start(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset  # type: ignore[attr-defined]


def _end(node: ast.AST) -> tuple[int, int]:
    return node.end_lineno or node.lineno, node.end_col_offset or 0  # type: ignore[attr-defined]
