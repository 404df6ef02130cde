"""MNT003 UnsafeTorchLoad: `torch.load` without `weights_only`, or with `weights_only=False`."""

from __future__ import annotations

import ast
from typing import ClassVar

import libcst as cst
from libcst.metadata import PositionProvider

from maintenance.codemods.base import (
    AstFinding,
    Codemod,
    FileContext,
    Invalid,
    NodeRef,
    import_aliases,
    resolve_dotted,
    tree_nodes,
)
from maintenance.index import dotted

TORCH_LOAD = frozenset({"torch.load", "torch.serialization.load"})
TORCH_SAVE = frozenset({"torch.save", "torch.serialization.save"})
# what a load refused by weights_only=True raises (pickle.UnpicklingError) and the handlers that catch it
BROAD_EXCEPTIONS = frozenset({"Exception", "BaseException", "UnpicklingError", "PickleError"})


class UnsafeTorchLoad(Codemod):
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
    silently skip the checkpoint), or in a file that also `torch.save`s objects other than state dicts.
    `weights_only=False` is never changed by the fixer: that decision needs a person.
    """

    CODE: ClassVar[str] = "MNT003"
    NAME: ClassVar[str] = "UnsafeTorchLoad"
    FIX_TITLE: ClassVar[str] = "Pass `weights_only=True`"
    FIX_SAFETY = "safe"
    TRIGGERS: ClassVar[tuple[str, ...]] = ("load",)
    METADATA_DEPENDENCIES = (PositionProvider,)

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
        # unsafe: the same file saves a whole config object into its checkpoints
        Invalid(
            "import torch\n\n\ndef save(m, cfg, p):\n    torch.save({'model': m.state_dict(), 'cfg': cfg}, p)\n\n\n"
            "def load(p):\n    return torch.load(p)\n",
            None,
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
    )

    @classmethod
    def ast_may_match(cls, tree: ast.Module, source: str) -> bool:
        """A call that resolves, through the import aliases, to `torch.load`."""
        return "torch" in source

    @classmethod
    def ast_findings(cls, tree: ast.Module, source: str, context: FileContext) -> list[AstFinding]:
        """Every `torch.load` call, decided on `ast`; libcst only parses the file to add the argument."""
        aliases = import_aliases(tree)
        if not any(_may_load(call.func, aliases) for call in tree_nodes(tree).of(ast.Call)):
            return []  # no call is torch.load (the shared walk); the walk below tracks the enclosing `try`s
        lines = source.splitlines()
        loads: list[tuple[ast.Call, bool]] = []
        saves_objects = False
        stack: list[tuple[ast.AST, bool]] = [(tree, False)]
        while stack:
            node, in_broad_try = stack.pop()
            if isinstance(node, ast.Call):
                name = resolve_dotted(node.func, aliases)
                if name in TORCH_LOAD:
                    loads.append((node, in_broad_try))
                elif name in TORCH_SAVE and node.args and not _plain_state(node.args[0]):
                    saves_objects = True
            if isinstance(node, ast.Try | ast.TryStar) and any(_broad(h) for h in node.handlers):
                stack.extend((child, True) for child in node.body)
                others = [*node.handlers, *node.orelse, *node.finalbody]
                stack.extend((child, in_broad_try) for child in others)
                continue
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                in_broad_try = False  # the body runs when called, not inside this try
            stack.extend((child, in_broad_try) for child in ast.iter_child_nodes(node))
        found = []
        for call, in_broad_try in sorted(loads, key=lambda item: (item[0].lineno, item[0].col_offset)):
            finding = _finding(call, lines, in_broad_try, saves_objects)
            if finding is not None:
                found.append(finding)
        return found


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


def _finding(call: ast.Call, lines: list[str], in_broad_try: bool, saves_objects: bool) -> AstFinding | None:
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
    unsafe = in_broad_try or saves_objects
    if unsafe:
        where = (
            "the call sits in a `try` whose handler catches the error a refused checkpoint raises, so the "
            "fixed program would skip the checkpoint without a word"
            if in_broad_try
            else "this file also saves objects other than state dicts with torch.save, which "
            "weights_only=True refuses to load"
        )
        message += (
            f" (unsafe fix: {where}; allow the checkpoint's types with "
            "torch.serialization.add_safe_globals([...]), or migrate the checkpoint once: load it with "
            "weights_only=False from a trusted file and re-save plain state dicts)"
        )
    return AstFinding(ref, message, fixes=((ref, _add_weights_only),), unsafe=unsafe)


def _broad(handler: ast.ExceptHandler) -> bool:
    """A handler that catches what a refused `weights_only` load raises (UnpicklingError, Exception, ...)."""
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any((dotted(t) or "").rsplit(".", 1)[-1] in BROAD_EXCEPTIONS for t in types)


def _plain_state(value: ast.expr) -> bool:
    """Whether `torch.save(value, ...)` saves only state dicts, tensors' containers of them, or constants."""
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.Call):
        name = dotted(value.func) or ""
        return name.endswith("state_dict")
    if isinstance(value, ast.Name | ast.Attribute):
        name = dotted(value) or ""
        return name.rsplit(".", 1)[-1].endswith(("state_dict", "state", "sd", "weights"))
    if isinstance(value, ast.Dict):
        return all(v is not None and _plain_state(v) for v in value.values)
    return False


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
