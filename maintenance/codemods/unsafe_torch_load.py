"""MNT003 UnsafeTorchLoad: `torch.load` without `weights_only`, or with `weights_only=False`."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import ClassVar

from maintenance.astutil import parents, tree_nodes
from maintenance.codemods.base import (
    AstFinding,
    AstRule,
    FileContext,
    Invalid,
    NodeRef,
    cst,
    import_aliases,
    resolve_dotted,
)
from maintenance.index import dotted
from maintenance.index.checkpoints import (
    TORCH_LOAD,
    TORCH_SAVE,
    Function,
    Places,
    assigned_values,
    loaded_path,
    loads_everything,
    may_be_torch_io,
    module_qualifier,
    path_keys,
    plain_state,
    saved_path,
    shared_keys,
)

# what a load refused by weights_only=True raises (pickle.UnpicklingError) and the handlers that catch it
BROAD_EXCEPTIONS = frozenset({"Exception", "BaseException", "UnpicklingError", "PickleError"})


class UnsafeTorchLoad(AstRule):
    """`torch.load` called without `weights_only=True`.

    ## What it does
    Finds calls to `torch.load` (also as `from torch import load as tload` or `import torch as T`) that
    do not pass `weights_only`, and adds `weights_only=True`. An explicit `weights_only=False` is
    reported and left as it is; so is a call that passes `pickle_module`, which `weights_only=True`
    refuses, or `**kwargs`, which may already carry the argument.

    ## Why is this bad?
    With `weights_only=False`, `torch.load` unpickles arbitrary objects: loading a checkpoint from
    someone else runs their code. Older torch versions default to it and warn on every load (the
    `FutureWarning` of the project we replace), newer ones default to `True`, so code without the
    argument behaves differently across versions.

    ## Example
    ```python
    state = torch.load(path, map_location="cpu")
    ```

    ## Use instead
    ```python
    state = torch.load(path, map_location="cpu", weights_only=True)
    ```

    ## Fix safety
    Safe for checkpoints made of tensors, dicts, lists and numbers (the default of torch >= 2.6). A
    checkpoint that pickles other objects then fails to load with an error that names the type: add it
    with `torch.serialization.add_safe_globals`, or save plain state dicts. The fix is unsafe (applied
    only with `--unsafe-fixes`, and the message says why) where that error would go unnoticed or is
    likely: inside a `try` whose handler catches `Exception`/`UnpicklingError` (the fixed program would
    silently skip the checkpoint), or where the checkpoint it reads (a path literal or path name shared
    with a save or load of the same file, or a file name such as `"artifacts/model.pt"` shared with
    another module of the project, directly or through a local the function builds from it) is written with objects other than tensors' containers, or is
    loaded elsewhere with `weights_only=False`; the message names that save or load. State dicts, their
    copies (`copy.deepcopy(m.state_dict())`) and dicts of them are tensors only.
    `weights_only=False` is never changed by the fixer: that decision needs a person. A load in an
    `except TypeError:` handler of a `try` that loads with `weights_only=` is the fallback for a torch that
    does not know the argument (passing it there would raise again): it is not reported.
    """

    CODE: ClassVar[str] = "MNT003"
    NAME: ClassVar[str] = "UnsafeTorchLoad"
    FIX_TITLE: ClassVar[str] = "Pass `weights_only=True`"
    FIX_SAFETY = "safe"
    TRIGGERS: ClassVar[tuple[str, ...]] = ("load",)
    PREFILTER_WITHOUT_INDEX: ClassVar[bool] = True

    INVALID = (
        Invalid(
            "import torch\n\nsd = torch.load(p)\n", "import torch\n\nsd = torch.load(p, weights_only=True)\n"
        ),
        Invalid(
            "import torch\n\nsd = torch.load(p, map_location='cpu')\n",
            "import torch\n\nsd = torch.load(p, map_location='cpu', weights_only=True)\n",
        ),
        Invalid(
            "from torch import load as tload\n\nsd = tload(p)\n",
            "from torch import load as tload\n\nsd = tload(p, weights_only=True)\n",
        ),
        Invalid("import torch as T\n\nT.load(f)\n", "import torch as T\n\nT.load(f, weights_only=True)\n"),
        Invalid("import torch\n\nsd = torch.load(p, weights_only=False)\n", None),
        Invalid(
            "import torch\n\nsd = torch.load(\n    p,\n    map_location=dev,\n)\n",
            "import torch\n\nsd = torch.load(\n    p,\n    map_location=dev, weights_only=True,\n)\n",
        ),
        Invalid("import torch\nimport pickle\n\nsd = torch.load(p, pickle_module=pickle)\n", None),
        Invalid(
            "def f(p):\n    import torch\n\n    return torch.load(p)['model']\n",
            "def f(p):\n    import torch\n\n    return torch.load(p, weights_only=True)['model']\n",
        ),
        Invalid(
            "from torch import serialization\n\nserialization.load(p)\n",
            "from torch import serialization\n\nserialization.load(p, weights_only=True)\n",
        ),
        # unsafe: a refused checkpoint would be skipped silently by the handler
        Invalid("import torch\n\ntry:\n    sd = torch.load(p)\nexcept Exception:\n    sd = None\n", None),
        Invalid(
            "import torch\n\ntry:\n    sd = torch.load(p)\nexcept Exception:\n    sd = None\n",
            "import torch\n\ntry:\n    sd = torch.load(p, weights_only=True)\nexcept Exception:\n    sd = None\n",
            unsafe_fixes=True,
        ),
        # unsafe: the checkpoint it reads is saved with a whole config object
        Invalid(
            "import torch\n\n\ndef save(m, cfg, p):\n    torch.save({'model': m.state_dict(), 'cfg': cfg}, p)\n\n\n"
            "def load(p):\n    return torch.load(p)\n",
            None,
        ),
        # unsafe: the path is a local built from the file name the save writes other objects to
        Invalid(
            "import torch\n\nMETA = 'meta.pt'\n\n\ndef save(folder, info):\n    torch.save(info, folder / META)\n\n\n"
            "def load(folder):\n    extra = folder / META\n    return torch.load(extra)\n",
            None,
        ),
        # unsafe: the same checkpoint is loaded elsewhere with weights_only=False
        Invalid(
            "import torch\n\nfull = torch.load('run.ckpt', weights_only=False)\nsd = torch.load('run.ckpt')\n",
            None,
        ),
        # safe: a copy of a state dict is tensors only
        Invalid(
            "import copy\nimport torch\n\nbest = copy.deepcopy(m.state_dict())\ntorch.save(best, 'best.pt')\n"
            "sd = torch.load('best.pt')\n",
            "import copy\nimport torch\n\nbest = copy.deepcopy(m.state_dict())\ntorch.save(best, 'best.pt')\n"
            "sd = torch.load('best.pt', weights_only=True)\n",
        ),
        # safe: the file saves objects, but into another checkpoint than the one loaded
        Invalid(
            "import torch\n\ntorch.save(trainer, 'trainer.pkl')\nsd = torch.load('weights.pt')\n",
            "import torch\n\ntorch.save(trainer, 'trainer.pkl')\nsd = torch.load('weights.pt', weights_only=True)\n",
        ),
    )
    VALID = (
        "import torch\n\nsd = torch.load(p, weights_only=True)\n",
        "import torch\n\nsd = torch.load(p, weights_only=trusted)\n",
        "import json\n\nd = json.load(f)\n",
        "import pickle\n\nd = pickle.load(f)\n",
        "import torch\n\nsd = torch.load(p, **kwargs)\n",
        "def load(p):\n    return p\n\n\nload(1)\n",
        "import numpy as np\n\narr = np.load(p)\n",
        "import torch\n\ntorch.save(m, p)\n",
        "from safetensors.torch import load_file\n\nsd = load_file(p)\n",
        "import torch\n\ntry:\n    sd = torch.load(p, weights_only=True)\nexcept Exception:\n    sd = None\n",
        # the fallback for a torch without the argument: passing it there would raise the TypeError again
        "import torch\n\n\ndef read(p, trusted=False):\n    try:\n        return torch.load(p, weights_only=not trusted)\n"
        "    except TypeError:\n        if not trusted:\n            raise\n        return torch.load(p)\n",
        "import torch\n\n\ndef read(p, **kw):\n    try:\n        return torch.load(p, **kw)\n    except TypeError:\n"
        "        return torch.load(p)\n",
    )

    @classmethod
    def may_match(cls, tree: ast.Module, source: str, context: FileContext) -> bool:
        """Some call resolves to `torch.load` (by the module's imports; `findings` decides the rest)."""
        if not (super().may_match(tree, source, context) and "torch" in source):
            return False
        aliases = import_aliases(tree)
        return any(_may_load(call.func, aliases) for call in tree_nodes(tree).of(ast.Call))

    @classmethod
    def findings(cls, tree: ast.Module, source: str, context: FileContext) -> list[AstFinding]:
        """Every `torch.load` call, decided on `ast`; libcst only parses the file to add the argument."""
        aliases = import_aliases(tree)
        nodes = tree_nodes(tree)
        lines = source.splitlines()
        loads: list[tuple[ast.Call, bool, Function | None]] = []
        checkpoints: list[_Checkpoint] = []
        values = assigned_values(nodes.of(ast.Assign))  # type: ignore[arg-type]
        places = Places(nodes, _broad)
        for node in nodes.of(ast.Call):
            if not may_be_torch_io(node.func):
                continue
            name = resolve_dotted(node.func, aliases)
            if name in TORCH_LOAD:
                function, in_broad_try = places.of(node)
                loads.append((node, in_broad_try, function))
                checkpoints.append(_Checkpoint.of_load(node, function))
            elif name in TORCH_SAVE and node.args:
                checkpoints.append(_Checkpoint.of_save(node, values, places.of(node)[0]))
        checkpoints.sort(key=lambda c: c.line)  # the message names the first refusing one in the file
        found = []
        fallbacks = _compat_fallbacks(tree, aliases)
        for call, in_broad_try, function in sorted(
            loads, key=lambda item: (item[0].lineno, item[0].col_offset)
        ):
            if id(call) in fallbacks:
                continue
            load = _Checkpoint.of_load(call, function)
            refused = _refusing(load, checkpoints) or _refused_elsewhere(call, context, function)
            finding = _finding(call, lines, in_broad_try, refused, tree)
            if finding is not None:
                found.append(finding)
        return found


def _compat_fallbacks(tree: ast.Module, aliases: dict[str, str]) -> set[int]:
    """The loads in an `except TypeError:` handler of a `try` that loads with `weights_only=...` (or with
    `**kwargs`): the fallback for a torch that does not know the argument, where passing it would raise again."""
    found: set[int] = set()
    for node in tree_nodes(tree).of(ast.Try, ast.TryStar):
        handlers = [h for h in node.handlers if _catches_type_error(h)]
        tried = [c for stmt in node.body for c in ast.walk(stmt) if isinstance(c, ast.Call)]
        # a load with the argument, or with `**kwargs` that may hold it
        if not handlers or not any(
            _may_load(c.func, aliases) and any(k.arg in ("weights_only", None) for k in c.keywords)
            for c in tried
        ):
            continue
        for handler in handlers:
            for stmt in handler.body:
                for call in ast.walk(stmt):
                    if isinstance(call, ast.Call) and _may_load(call.func, aliases):
                        found.add(id(call))
    return found


def _catches_type_error(handler: ast.ExceptHandler) -> bool:
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(t, ast.Name) and t.id == "TypeError" for t in types)


@dataclass(frozen=True)
class _Checkpoint:
    """A `torch.save` or `torch.load` of the file, with what names its checkpoint (`keys`: the string
    literals and the dotted names in the path expression) and what makes a `weights_only=True` load of
    it fail: a save of objects other than tensors' containers, or a load that unpickles everything."""

    line: int
    keys: frozenset[str]
    refuses: str | None  # why a weights_only=True load of this checkpoint fails, or None

    @classmethod
    def of_save(
        cls, call: ast.Call, values: dict[str, list[ast.expr]], function: Function | None
    ) -> _Checkpoint:
        plain = plain_state(call.args[0], values)
        refuses = (
            None if plain else f"the `torch.save` at line {call.lineno} writes objects other than tensors"
        )
        return cls(call.lineno, path_keys(saved_path(call), function), refuses)

    @classmethod
    def of_load(cls, call: ast.Call, function: Function | None) -> _Checkpoint:
        refuses = (
            f"the same checkpoint is loaded with weights_only=False at line {call.lineno}"
            if loads_everything(call)
            else None
        )
        return cls(call.lineno, path_keys(loaded_path(call), function), refuses)


def _refusing(load: _Checkpoint, checkpoints: list[_Checkpoint]) -> str | None:
    """Why a `weights_only=True` load of this call's checkpoint would fail, from the saves and loads of
    the same checkpoint (a shared path literal or path name); `None` when none says so."""
    for other in checkpoints:
        if other.refuses is not None and other.line != load.line and other.keys & load.keys:
            return other.refuses
    return None


def _refused_elsewhere(call: ast.Call, context: FileContext, function: Function | None) -> str | None:
    """Why a `weights_only=True` load fails, from another module of the project that saves the same
    checkpoint (the same file name, or the same constant: `checkpoints.shared_keys`) with objects other
    than tensors, or loads it with weights_only=False; `None` when none does (or the run has no index)."""
    module = context.module
    if context.index is None or module is None:
        return None
    hit = context.index.checkpoint_refusal(
        shared_keys(loaded_path(call), module_qualifier(module), function), module.path
    )
    if hit is None:
        return None
    path, line, kind = hit
    if kind == "save":
        return f"the `torch.save` at {path}:{line} writes this checkpoint with objects other than tensors"
    return f"the same checkpoint is loaded with weights_only=False at {path}:{line}"


def _may_load(func: ast.expr, aliases: dict[str, str]) -> bool:
    """Whether a call of `func` resolves to `torch.load` (what `resolve_dotted` says, without resolving
    every callee: only `<x>.load(...)` and names imported as it can)."""
    if isinstance(func, ast.Name):
        return aliases.get(func.id) in TORCH_LOAD
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "load"
        and resolve_dotted(func, aliases) in TORCH_LOAD
    )


def _finding(
    call: ast.Call, lines: list[str], in_broad_try: bool, refused: str | None, tree: ast.Module
) -> AstFinding | None:
    ref = NodeRef.of(call, lines)
    if any(k.arg is None for k in call.keywords):
        return None
    keywords = {k.arg: k for k in call.keywords if k.arg is not None}
    weights_only = keywords.get("weights_only")
    if weights_only is not None:
        if isinstance(weights_only.value, ast.Constant) and weights_only.value.value is False:
            return AstFinding(
                ref,
                "`torch.load(..., weights_only=False)` unpickles arbitrary objects (runs code from the "
                "file); save plain state dicts and load them with weights_only=True",
            )
        return None
    positional = [arg for arg in call.args if not isinstance(arg, ast.Starred)]
    if "pickle_module" in keywords or len(positional) >= 3:
        return AstFinding(
            ref,
            "`torch.load` with a custom `pickle_module` and no `weights_only`: it unpickles arbitrary "
            "objects; weights_only=True refuses a pickle_module, so save plain state dicts instead",
        )
    message = (
        "`torch.load` without `weights_only`: older torch unpickles arbitrary objects (runs code from "
        "the file); pass weights_only=True"
    )
    unsafe = in_broad_try or refused is not None
    if unsafe:
        where = (
            "the call sits in a `try` whose handler catches the error a refused checkpoint raises, so the "
            "fixed program would skip the checkpoint without a word"
            if in_broad_try
            else f"{refused}, which a weights_only=True load refuses"
        )
        message += (
            f" (unsafe fix: {where}; allow the checkpoint's types with "
            "torch.serialization.add_safe_globals([...]), or migrate the checkpoint once: load it with "
            "weights_only=False from a trusted file and re-save plain state dicts)"
        )
    return AstFinding(
        ref,
        message,
        fixes=((ref, _add_weights_only),),
        unsafe=unsafe,
        insertions=_weights_only_insertions(call, ref, lines, tree),
    )


def _weights_only_insertions(
    call: ast.Call, ref: NodeRef, lines: list[str], tree: ast.Module
) -> tuple[tuple[int, int, str], ...] | None:
    """`_add_weights_only` as text insertions, for the plain layouts whose libcst rendering (fixed text and
    `after`) is exactly that (`tests/maintenance/test_engine_snippets.py` holds the renderings equal): a
    call on one line, not in parentheses of its own, whose arguments end in whitespace or one trailing
    comma; `None` (libcst renders it) for anything else (a comment or a parenthesized argument before the
    closing parenthesis, a lone generator argument)."""
    close_line, close = ref.end_line, ref.end_column - 1
    if ref.line != close_line or lines[close_line - 1][close : close + 1] != ")":
        return None
    if _parenthesized(call, ref, lines, tree):
        return None
    items: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
    if not items:
        return ((close_line, close, "weights_only=True"),)
    if any(isinstance(item, ast.GeneratorExp) for item in call.args):
        return None
    last = NodeRef.of(max(items, key=lambda item: (item.end_lineno or 0, item.end_col_offset or 0)), lines)
    gap = lines[close_line - 1][last.end_column : close]  # the call is on one line, so is its last argument
    if not gap.strip():
        return ((last.end_line, last.end_column, ", "), (close_line, close, "weights_only=True"))
    if re.fullmatch(r"[ \t]*,\s*", gap):
        return ((last.end_line, last.end_column, ", weights_only=True"),)
    return None


def _parenthesized(call: ast.Call, ref: NodeRef, lines: list[str], tree: ast.Module) -> bool:
    """Whether the call may sit in parentheses of its own, `(torch.load(p))` (libcst's node then holds
    them): a `(` before it and a `)` after it that are not the argument list of a call it is an argument of,
    or a line that holds nothing else before or after it."""
    line = lines[ref.line - 1]
    before, after = line[: ref.column].rstrip(), line[ref.end_column :].lstrip()
    opens, closes = not before or before.endswith("("), not after or after.startswith(")")
    if not (opens and closes):
        return False
    if not before or not after:
        return True  # a `(` or `)` may be on another line: not looked at
    parent = parents(tree).get(id(call), (None, None))[0]
    if not isinstance(parent, ast.Call) or parent.func is call or call not in parent.args:
        return True
    func = NodeRef.of(parent.func, lines)
    return not (func.end_line == ref.line and line[func.end_column : ref.column].strip() == "(")


def _broad(handler: ast.ExceptHandler) -> bool:
    """A handler that catches what a refused `weights_only` load raises (UnpicklingError, Exception, ...)."""
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any((dotted(t) or "").rsplit(".", 1)[-1] in BROAD_EXCEPTIONS for t in types)


def _add_weights_only(node: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(node, cst.Call)
    args = list(node.args)
    tight = cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
    )
    new_arg = cst.Arg(value=cst.Name("True"), keyword=cst.Name("weights_only"), equal=tight)
    if args:
        last = args[-1]
        if last.comma == cst.MaybeSentinel.DEFAULT:
            args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            args.append(new_arg)
        else:
            # keep a trailing comma (and the layout after it) where the author put one
            args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            args.append(new_arg.with_changes(comma=last.comma))
    else:
        args.append(new_arg)
    return node.with_changes(args=args)
