"""MNT003 UnsafeTorchLoad: `torch.load` without `weights_only`, or with `weights_only=False`."""

from __future__ import annotations

import ast
from typing import ClassVar

import libcst as cst
from libcst.metadata import PositionProvider, QualifiedNameProvider

from maintenance.codemods.base import Codemod, Invalid, import_aliases, resolve_dotted

TORCH_LOAD = frozenset({"torch.load", "torch.serialization.load"})


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
    with `torch.serialization.add_safe_globals`, or save plain state dicts. `weights_only=False` is
    never changed by the fixer: that decision needs a person.
    """

    CODE: ClassVar[str] = "MNT003"
    NAME: ClassVar[str] = "UnsafeTorchLoad"
    FIX_TITLE: ClassVar[str] = "Pass `weights_only=True`"
    FIX_SAFETY = "safe"
    TRIGGERS: ClassVar[tuple[str, ...]] = ("load",)
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider)

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
    )

    @classmethod
    def ast_may_match(cls, tree: ast.Module, source: str) -> bool:
        """A call that resolves, through the import aliases, to `torch.load`."""
        if "torch" not in source:
            return False
        aliases = import_aliases(tree)
        return any(
            isinstance(node, ast.Call) and resolve_dotted(node.func, aliases) in TORCH_LOAD
            for node in ast.walk(tree)
        )

    def visit_Call(self, node: cst.Call) -> None:
        names = {q.name for q in self.get_metadata(QualifiedNameProvider, node.func, set())}
        if not names & TORCH_LOAD:
            return
        keywords = {arg.keyword.value: arg for arg in node.args if arg.keyword is not None}
        if any(arg.star == "**" for arg in node.args):
            return
        weights_only = keywords.get("weights_only")
        if weights_only is not None:
            if isinstance(weights_only.value, cst.Name) and weights_only.value.value == "False":
                self.report(
                    node,
                    "`torch.load(..., weights_only=False)` unpickles arbitrary objects (runs code from the "
                    "file); save plain state dicts and load them with weights_only=True",
                )
            return
        positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
        if "pickle_module" in keywords or len(positional) >= 3:
            self.report(
                node,
                "`torch.load` with a custom `pickle_module` and no `weights_only`: it unpickles arbitrary "
                "objects; weights_only=True refuses a pickle_module, so save plain state dicts instead",
            )
            return
        self.report(
            node,
            "`torch.load` without `weights_only`: older torch unpickles arbitrary objects (runs code from "
            "the file); pass weights_only=True",
            replacement=_add_weights_only,
        )


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
