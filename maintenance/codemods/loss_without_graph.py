"""MNT006 LossWithoutGraph: a loss that returns a freshly built constant, a tensor with no autograd graph."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import ClassVar

from maintenance.astutil import child_nodes
from maintenance.codemods.base import AstFinding, AstRule, FileContext, Invalid, resolve_dotted
from maintenance.codemods.class_hierarchy import ModuleClasses, ProjectLookup, report_only

NN_MODULE_ROOTS = frozenset(
    {
        "torch.nn.Module",
        "torch.nn.modules.module.Module",
        "torch.nn.modules.loss._Loss",
        "torch.nn.modules.loss._WeightedLoss",
        "lightning.LightningModule",
        "pytorch_lightning.LightningModule",
    }
)
# calls that build a tensor from constants: name -> how many leading arguments are the shape (None: the
# first argument is the data itself)
CONSTANT_FACTORIES: dict[str, int | None] = {
    "torch.tensor": None,
    "torch.as_tensor": None,
    "torch.scalar_tensor": None,
    "torch.zeros": -1,
    "torch.ones": -1,
    "torch.empty": -1,
    "torch.full": 1,
}
TENSOR_METHODS: dict[str, int | None] = {
    "new_tensor": None,
    "new_zeros": -1,
    "new_ones": -1,
    "new_empty": -1,
    "new_full": 1,
}
# methods that keep a constant a constant (no graph appears)
PASS_THROUGH = frozenset(
    {"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "type_as", "detach", "squeeze", "view"}
)
NO_GRAD = frozenset({"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad"})
# a function whose name has one of these words only evaluates (nothing calls backward on what it returns)
EVALUATION_WORDS = frozenset(
    {"eval", "evaluate", "evaluation", "val", "valid", "validation", "test", "metric", "reference"}
)
# an `if` on a name with one of these words switches a term off by configuration (`if self.weight == 0`)
GUARD_WORDS = frozenset({"weight", "weights", "scale", "coef", "coeff", "factor", "lambda", "lambd", "lam"})
# a name with "loss" and one of these is a setting of the loss, not the loss (`loss_scale`, `loss_weight`)
SETTING_WORDS = frozenset(
    {"scale", "scaler", "weight", "weights", "coef", "coeff", "factor", "name", "names", "type"}
)


class LossWithoutGraph(AstRule):
    """A loss returns a freshly built constant tensor (or number) that has no autograd graph.

    ## What it does
    Finds `return` statements in the `forward` of an `nn.Module` subclass whose name ends in `Loss`, and
    in functions and methods whose name contains `loss` (in modules that import torch), that return a
    freshly built constant: `torch.tensor(0.0, device=...)`, `torch.as_tensor(<number>)`,
    `torch.zeros/ones/full(<constant shape>)`, `x.new_tensor(0.0)`, `x.new_zeros(())`, a bare Python
    number, or a local name whose only value is one of these. A tuple's first element counts (the
    common `return loss, logs`). Bases defined in another module of the project are taken to be
    `nn.Module` subclasses unless they come from a known non-torch library.

    ## Why is this bad?
    The constant has no `grad_fn`. When it is the only loss term, `loss.backward()` raises
    `RuntimeError: element 0 of tensors does not require grad`; summed with other terms, the step
    silently learns nothing from those batches, and with DDP the ranks that hit the degenerate batch
    skip the gradient all-reduce of the others. A ranking loss that returns
    `torch.tensor(0.0, device=scores.device)` for a batch with one item or labels with zero spread is the
    usual case.

    ## Example
    ```python
    class RankLoss(nn.Module):
        def forward(self, scores, labels):
            if scores.numel() < 2:
                return torch.tensor(0.0, device=scores.device)
            return pairwise_hinge(scores, labels)
    ```

    ## Use instead
    ```python
    class RankLoss(nn.Module):
        def forward(self, scores, labels):
            if scores.numel() < 2:
                return scores.sum() * 0.0  # zero, on the right device, connected to the graph
            return pairwise_hinge(scores, labels)
    ```

    ## Fix safety
    Report only: which input the zero should hang from is the author's decision. Returns inside
    `with torch.no_grad()` / `torch.inference_mode()`, functions decorated with either, functions
    whose name says they evaluate (`eval_loss`, `validation_loss`, `nll_reference`) and functions nested
    in them, a function that calls `backward()` itself (`loss_and_grads`: it returns a figure to report),
    the branch of `if not self.training:`, modules of a metrics package (`torchmetrics/...`,
    `metrics.py`), settings named like the loss (`loss_scale`, `loss_weight`), a function whose every
    return is a constant, a bare number where the return annotation admits one (`-> Tensor | float`),
    a term switched off by its weight (`if self.loss_scale == 0.0: return torch.tensor(0.0)`), and
    constants built with `requires_grad=...` are not reported.
    """

    CODE: ClassVar[str] = "MNT006"
    NAME: ClassVar[str] = "LossWithoutGraph"
    FIX_TITLE: ClassVar[str] = "Return a zero connected to the inputs (`scores.sum() * 0.0`)"
    FIX_SAFETY = "none"
    TRIGGERS: ClassVar[tuple[str, ...]] = ("loss", "Loss")
    PREFILTER_WITHOUT_INDEX: ClassVar[bool] = True

    INVALID = (
        Invalid(
            "import torch\nfrom torch import nn\n\n\nclass RankLoss(nn.Module):\n"
            "    def forward(self, scores, labels):\n        if scores.numel() < 2:\n"
            "            return torch.tensor(0.0, device=scores.device)\n"
            "        return (scores - labels).pow(2).mean()\n"
        ),
        Invalid(
            "import torch\n\n\ndef ranking_loss(pred, target):\n    if target.std() == 0:\n"
            "        return torch.tensor(0.0)\n    return (pred - target).abs().mean()\n"
        ),
        Invalid(
            "import torch\n\n\ndef compute_loss(pred, target, mask):\n    if not mask.any():\n"
            "        return 0.0\n    return ((pred - target)[mask] ** 2).mean()\n"
        ),
        Invalid(
            "import torch\n\n\ndef pair_loss(p, y):\n    if p.shape[0] < 2:\n"
            "        return torch.zeros(1, device=p.device)\n    return (p - y).mean()\n"
        ),
        Invalid(
            "import torch as T\n\n\ndef loss_fn(p, y):\n    if y.numel() == 0:\n"
            "        return T.as_tensor(0.0)\n    return (p - y).abs().sum()\n"
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\n\n\nclass QuantileLoss(nn.Module):\n"
            "    def forward(self, pred, y):\n        if y.numel() == 0:\n"
            "            return pred.new_tensor(0.0)\n        return (pred - y).abs().mean()\n"
        ),
        Invalid(
            "import torch\n\n\ndef corr_loss(p, y):\n    if p.numel() < 3:\n"
            "        return torch.full((), 0.0).to(p.device)\n    return -torch.corrcoef(torch.stack([p, y]))[0, 1]\n"
        ),
        Invalid(
            "import torch\nfrom torch.nn.modules.loss import _Loss\n\n\nclass BaseLoss(_Loss):\n    pass\n\n\n"
            "class HuberLoss(BaseLoss):\n    def forward(self, p, y):\n        if y.numel() == 0:\n"
            "            return torch.zeros(())\n        return (p - y).abs().mean()\n"
        ),
        Invalid(
            "import torch\n\n\ndef multi_loss(preds, y):\n    zero = torch.tensor(0.0)\n    if not preds:\n"
            "        return zero\n    return sum((p - y).pow(2).mean() for p in preds)\n"
        ),
        Invalid(
            "import torch\n\n\ndef horizon_loss(preds, targets):\n    if not preds:\n"
            "        return torch.tensor(0.0), {}\n    loss = (preds['h1'] - targets['h1']).pow(2).mean()\n"
            "    return loss, {'h1': loss.item()}\n"
        ),
        Invalid(
            "import torch\nfrom .base import BaseLoss\n\n\nclass IcLoss(BaseLoss):\n"
            "    def forward(self, p, y):\n        if p.numel() < 2:\n            return torch.tensor(0.0)\n"
            "        return -(p * y).mean()\n"
        ),
    )
    VALID = (
        "import torch\nfrom torch import nn\n\n\nclass RankLoss(nn.Module):\n"
        "    def forward(self, scores, labels):\n        if scores.numel() < 2:\n"
        "            return scores.sum() * 0.0\n        return (scores - labels).pow(2).mean()\n",
        "import torch\n\n\ndef ranking_loss(pred, target):\n    with torch.no_grad():\n"
        "        if target.std() == 0:\n            return torch.tensor(0.0)\n    return (pred - target).mean()\n",
        "import torch\n\n\n@torch.no_grad()\ndef eval_batch_loss(pred, y):\n    if y.numel() == 0:\n"
        "        return torch.tensor(0.0)\n    return (pred - y).abs().mean()\n",
        "import torch\n\n\ndef validation_loss(pred, y):\n    if y.numel() == 0:\n        return 0.0\n"
        "    return float((pred - y).abs().mean())\n",
        "import torch\n\n\ndef pair_loss(p, y):\n    if p.shape[0] < 2:\n"
        "        return torch.zeros(1, device=p.device, requires_grad=True)\n    return (p - y).mean()\n",
        "import torch\n\n\ndef make_features(x):\n    if x.numel() == 0:\n        return torch.tensor(0.0)\n"
        "    return x.mean()\n",
        "import numpy as np\n\n\ndef log_loss(y, p):\n    if len(y) == 0:\n        return 0.0\n"
        "    return float(-np.mean(y * np.log(p)))\n",
        "import torch\n\n\ndef loss_scale(step):\n    if step < 100:\n        return 1.0\n    return 2.0 ** (step // 100)\n",
        "import torch\n\n\ndef total_loss(parts):\n    loss = torch.tensor(0.0)\n    for part in parts:\n"
        "        loss = loss + part\n    return loss\n",
        "import torch\nfrom torch import nn\n\n\nclass RankLoss(nn.Module):\n    def forward(self, s, y):\n"
        "        return torch.zeros(s.shape, device=s.device) + s\n",
        "import torch\n\n\nclass ClipLoss(torch.autograd.Function):\n    @staticmethod\n"
        "    def forward(ctx, x):\n        if x.numel() == 0:\n            return torch.tensor(0.0)\n        return x.clamp(0)\n",
        "import torch\n\n\ndef zero_loss(p):\n    return torch.tensor(0.0)\n",
        # it runs backward itself: the value it returns is reported, never differentiated
        "import torch\n\n\ndef step_loss(model, x):\n    if x.numel() == 0:\n        return torch.tensor(0.0)\n"
        "    loss = model(x).sum()\n    loss.backward()\n    return loss.detach()\n",
        "import torch\nfrom torch import nn\n\n\nclass Conv(nn.Module):\n    def attention_loss(self):\n"
        "        if not self.training:\n            return torch.tensor([0])\n        return self.att.mean()\n",
        "import torch\n\n\ndef nll_reference(x, t):\n    def item_loss(i, j):\n        if j < 0:\n"
        "            return (0, 0)\n        return (-i[j], 1)\n\n    return [item_loss(i, j) for i, j in zip(x, t)]\n",
        "import torch\n\n\ndef aux_loss(layers) -> torch.Tensor | float:\n    if not layers:\n        return 0.0\n"
        "    return sum(layer.penalty() for layer in layers)\n",
        "import torch\nfrom torch import nn\n\n\nclass AuxLoss(nn.Module):\n    def forward(self, p):\n"
        "        if self.loss_scale == 0.0:\n            return torch.tensor(0.0, device=p.device)\n"
        "        return self.loss_scale * p.pow(2).mean()\n",
        "import torch\n\n\ndef accumulate_loss(parts):\n    total = torch.zeros(1)\n    for part in parts:\n"
        "        total.add_(part)\n    return total\n",
    )

    @classmethod
    def may_match(cls, tree: ast.Module, source: str, context: FileContext) -> bool:
        """The module imports torch (a loss without torch has no graph to lose)."""
        return super().may_match(tree, source, context) and "torch" in source

    @classmethod
    def findings(cls, tree: ast.Module, source: str, context: FileContext) -> list[AstFinding]:
        """Report-only: decided on `ast`, with base classes of other modules followed through the index."""
        if _is_metrics_module(context):
            return []
        return report_only(find_graphless_returns(tree, ProjectLookup.of(context)), source)


def _is_metrics_module(context: FileContext) -> bool:
    """Code in a metrics package or module (`torchmetrics/...`, `metrics.py`) evaluates; nothing trains on it."""
    name = context.module.name if context.module is not None else ""
    parts = [*name.split("."), *context.path.replace("\\", "/").removesuffix(".py").split("/")]
    return any("metric" in part.lower() for part in parts if part)


def find_graphless_returns(
    tree: ast.Module, lookup: ProjectLookup | None = None
) -> list[tuple[ast.Return, str]]:
    """Every `return` of a fresh constant in a loss of `tree`.

    `lookup` follows base classes defined in other modules of the project (the project index).
    """
    functions = list(_functions(tree))
    if not any(_may_be_loss(owner, func) for owner, func, _outer in functions):
        return []  # (before the classes of the module are collected: that needs the walk of every node)
    classes = ModuleClasses.of(tree, lookup)
    if not any(v == "torch" or v.startswith("torch.") for v in classes.aliases.values()):
        return []
    findings: list[tuple[ast.Return, str]] = []
    for owner, func, outer in functions:
        if not _is_loss(owner, func, classes):
            continue
        if any(_evaluates_only(f, classes.aliases) for f in (*outer, func)) or _runs_backward(func):
            continue
        constant_names = _constant_locals(func, classes.aliases)
        returns = list(_returns(func, classes.aliases))
        graphless = [
            (ret, what)
            for ret, what in ((r, _graphless(r, classes.aliases, constant_names)) for r in returns)
        ]
        if all(what is not None for _ret, what in graphless):
            continue  # a placeholder loss that is always constant is deliberate; nothing trains through it
        where = f"`{owner.name}.{func.name}`" if owner is not None else f"`{func.name}`"
        param = _first_input(func)
        declared = _declares_number(func)
        for ret, what in graphless:
            if what is None or (declared and what.startswith("a bare Python number")):
                continue
            findings.append(
                (
                    ret,
                    f"{where} returns {what}, which has no autograd graph: as the only loss `backward()` "
                    f"raises, summed with other terms the batch teaches nothing; return "
                    f"`{param}.sum() * 0.0` instead (a zero that keeps the graph and the device)",
                )
            )
    return findings


def _declares_number(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The return annotation admits a plain number (`-> Tensor | float`): callers are told to expect one."""
    if func.returns is None:
        return False
    return bool(re.search(r"\b(float|int|Number)\b", ast.unparse(func.returns)))


def _functions(
    tree: ast.Module,
) -> Iterator[tuple[ast.ClassDef | None, ast.FunctionDef | ast.AsyncFunctionDef, tuple[ast.AST, ...]]]:
    """(enclosing class or None, function, enclosing functions) for every function of the module."""
    stack: list[tuple[ast.ClassDef | None, ast.AST, tuple[ast.AST, ...]]] = [(None, tree, ())]
    while stack:
        owner, node, outer = stack.pop()
        for child in _statement_children(node):
            if isinstance(child, ast.ClassDef):
                stack.append((child, child, outer))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield owner, child, outer
                stack.append((None, child, (*outer, child)))
            elif isinstance(child, ast.stmt):
                stack.append((owner, child, outer))


def _statement_children(node: ast.AST) -> list[ast.AST]:
    """The statements `ast.iter_child_nodes` gives for a module or statement, in its order (those of its
    `body`, `orelse` and `finalbody`; an `except` or `case` clause is not a statement)."""
    found: list[ast.AST] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(node, name, None)
        if value.__class__ is list:
            found.extend(value)
    return found


def _words(name: str) -> set[str]:
    return {w for w in name.lower().split("_") if w}


def _may_be_loss(owner: ast.ClassDef | None, func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """What `_is_loss` requires of the names alone (its superset: no classes needed)."""
    if owner is not None and func.name == "forward":
        return owner.name.endswith("Loss")
    return "loss" in func.name.lower()


def _is_loss(
    owner: ast.ClassDef | None, func: ast.FunctionDef | ast.AsyncFunctionDef, classes: ModuleClasses
) -> bool:
    if owner is not None and func.name == "forward":
        return owner.name.endswith("Loss") and classes.derives_from(owner.name, NN_MODULE_ROOTS, unknown=True)
    name = func.name.lower()
    if "loss" not in name:
        return False
    return not _words(func.name) & SETTING_WORDS


def _evaluates_only(func: ast.AST, aliases: dict[str, str]) -> bool:
    """Decorated with `torch.no_grad()` / `torch.inference_mode()`, or named as an evaluation."""
    assert isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
    if _words(func.name) & EVALUATION_WORDS:
        return True
    for deco in func.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if resolve_dotted(target, aliases) in NO_GRAD:
            return True
    return False


def _runs_backward(func: ast.AST) -> bool:
    """The function calls `backward()` itself (`loss_and_grads`): what it returns is a figure to report,
    not a loss anything differentiates."""
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "backward"
        for node in _own_nodes(func)
    )


def _own_nodes(func: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function body, not descending into nested functions, classes or lambdas (nor the
    operator and context leaves, which no caller looks for)."""
    stack = child_nodes(func)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        yield node
        stack.extend(child_nodes(node))


def _returns(func: ast.AST, aliases: dict[str, str]) -> Iterator[ast.Return]:
    """The function's own `return`s that may run with autograd on.

    Skipped: inside `with torch.no_grad()` / `torch.inference_mode()`, the branch of
    `if not self.training:` / `if not torch.is_grad_enabled():` (or the `else` of the positive test),
    and both branches of an `if` on a weight or scale setting (`if self.loss_scale == 0.0:`).
    """
    stack = child_nodes(func)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.If) and (grad := _grad_test(node.test, aliases)) is not None:
            stack.extend(node.body if grad else node.orelse)
            continue
        if isinstance(node, ast.If) and _tests_a_setting(node.test):
            continue  # `if self.weight == 0: return 0`: a term switched off by its configuration
        if isinstance(node, ast.With | ast.AsyncWith) and any(
            isinstance(item.context_expr, ast.Call)
            and resolve_dotted(item.context_expr.func, aliases) in NO_GRAD
            for item in node.items
        ):
            continue
        if isinstance(node, ast.Return):
            yield node
        stack.extend(child_nodes(node))


def _tests_a_setting(test: ast.expr) -> bool:
    """Whether an `if` test reads a weight/scale setting (`self.weight > 0`, `loss_scale == 0.0`)."""
    for node in ast.walk(test):
        name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
        if _words(name) & GUARD_WORDS:
            return True
    return False


def _grad_test(test: ast.expr, aliases: dict[str, str]) -> bool | None:
    """True for `self.training` / `torch.is_grad_enabled()`, False for their negation, else None."""
    negated = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
    inner = test.operand if isinstance(test, ast.UnaryOp) and negated else test
    is_training = isinstance(inner, ast.Attribute) and inner.attr == "training"
    is_grad = isinstance(inner, ast.Call) and resolve_dotted(inner.func, aliases) == "torch.is_grad_enabled"
    if not (is_training or is_grad):
        return None
    return not negated


def _constant_locals(func: ast.AST, aliases: dict[str, str]) -> dict[str, str]:
    """Local names bound once, to a fresh constant, and read only by `return` statements."""
    bindings: dict[str, list[ast.AST]] = {}
    loads: dict[str, int] = {}
    returned: dict[str, int] = {}
    for node in _own_nodes(func):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store | ast.Del):
                bindings.setdefault(node.id, []).append(node)
            else:
                loads[node.id] = loads.get(node.id, 0) + 1
        elif isinstance(node, ast.Return) and node.value is not None:
            value = (
                node.value.elts[0] if isinstance(node.value, ast.Tuple) and node.value.elts else node.value
            )
            if isinstance(value, ast.Name):
                returned[value.id] = returned.get(value.id, 0) + 1
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            bindings.setdefault(node.target.id, []).append(node)
    out: dict[str, str] = {}
    for node in _own_nodes(func):
        if not (
            isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        ):
            continue
        name = node.targets[0].id
        if len(bindings.get(name, ())) != 1 or loads.get(name, 0) != returned.get(name, 0):
            continue
        what = _fresh_constant(node.value, aliases)
        if what is not None:
            out[name] = f"`{name}`, bound to {what}"
    return out


def _graphless(ret: ast.Return, aliases: dict[str, str], constant_names: dict[str, str]) -> str | None:
    """What the return hands back when it is a fresh constant, else `None`."""
    value = ret.value
    if value is None:
        return None
    if isinstance(value, ast.Tuple) and value.elts:
        value = value.elts[0]
    if isinstance(value, ast.Name):
        return constant_names.get(value.id)
    return _fresh_constant(value, aliases)


def _is_number(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _is_constant_data(node: ast.expr) -> bool:
    if isinstance(node, ast.List | ast.Tuple):
        return all(_is_constant_data(e) for e in node.elts)
    return _is_number(node)


def _is_constant_shape(args: list[ast.expr]) -> bool:
    if len(args) == 1 and isinstance(args[0], ast.Tuple | ast.List):
        return all(_is_number(e) for e in args[0].elts)
    return all(_is_number(a) for a in args)


def _fresh_constant(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """`a bare Python number` / `` `torch.tensor(0.0)` ``-style description when `node` builds a constant."""
    if _is_number(node):
        return f"a bare Python number `{ast.unparse(node)}`"
    if not isinstance(node, ast.Call):
        return None
    if any(kw.arg == "requires_grad" for kw in node.keywords) or any(kw.arg is None for kw in node.keywords):
        return None
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in PASS_THROUGH and _fresh_constant(func.value, aliases):
        return _describe(node)
    qualified = resolve_dotted(func, aliases)
    if qualified in CONSTANT_FACTORIES:
        shape = CONSTANT_FACTORIES[qualified]
    elif (
        isinstance(func, ast.Attribute)
        and func.attr in TENSOR_METHODS
        and not (qualified or "").startswith("torch.")
    ):
        shape = TENSOR_METHODS[func.attr]
    else:
        return None
    if any(isinstance(a, ast.Starred) for a in node.args):
        return None
    if shape is None:
        ok = len(node.args) == 1 and _is_constant_data(node.args[0])
    elif shape == -1:
        ok = _is_constant_shape(node.args)
    else:
        ok = len(node.args) == 2 and _is_constant_shape(node.args[:1]) and _is_number(node.args[1])
    return _describe(node) if ok else None


def _describe(node: ast.expr) -> str:
    text = ast.unparse(node)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"the fresh constant `{text}`"


def _first_input(func: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    params = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
    if params and params[0] in {"self", "cls", "ctx"}:
        params = params[1:]
    return params[0] if params else "pred"
