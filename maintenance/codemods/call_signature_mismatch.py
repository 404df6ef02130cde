"""MNT004 CallSignatureMismatch: a call whose arguments cannot bind to the callee's signature."""

from __future__ import annotations

import ast
import re
from typing import ClassVar

import libcst as cst
from libcst.metadata import Assignment, PositionProvider, QualifiedNameProvider, ScopeProvider

from maintenance.codemods.base import (
    Codemod,
    FileContext,
    Invalid,
    import_aliases,
    resolve_dotted,
    statements,
)
from maintenance.index import Signature, signature_from_ast

NN_MODULE = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"})


def signature_from_cst(name: str, params: cst.Parameters, *, drop_first: bool) -> Signature:
    """The `Signature` of a libcst function definition (`drop_first`: a method called through its instance)."""
    posonly = list(params.posonly_params)
    regular = list(params.params)
    if drop_first:
        if posonly:
            posonly = posonly[1:]
        elif regular:
            regular = regular[1:]
    positional = tuple(p.name.value for p in (*posonly, *regular))
    required = {p.name.value for p in (*posonly, *regular) if p.default is None}
    required |= {p.name.value for p in params.kwonly_params if p.default is None}
    shown = [p.name.value for p in (*posonly, *regular)]
    if isinstance(params.star_arg, cst.Param):
        shown.append("*" + params.star_arg.name.value)
    elif params.kwonly_params:
        shown.append("*")
    shown += [p.name.value for p in params.kwonly_params]
    if params.star_kwarg is not None:
        shown.append("**" + params.star_kwarg.name.value)
    text = f"`{name}({', '.join(shown)})`"
    return Signature(
        text=text,
        positional=positional,
        positional_only=len(posonly),
        required=frozenset(required),
        keyword_only=tuple(p.name.value for p in params.kwonly_params),
        varargs=isinstance(params.star_arg, cst.Param),
        varkw=params.star_kwarg is not None,
    )


class CallSignatureMismatch(Codemod):
    """A call whose arguments cannot bind to the signature of the function it calls.

    ## What it does
    Binds the positional and keyword arguments of a call against the callee's signature, with Python's
    own rules, where the callee is known statically: a function defined once in the same module, a
    class of the module (its `__init__`), or an instance of a class of the module: for `nn.Module`
    subclasses the signature of `forward` (what `module(...)` calls), else `__call__`. An instance is
    known from a single assignment `model = SomeModule(...)` or an annotation `model: SomeModule`
    (parameters included), resolved with libcst's scope analysis.

    ## Why is this bad?
    The call raises `TypeError` when it runs. In the project we replace, an export path called
    `model(feats, static, edge_index, edge_attr)` on a model whose `forward(self, batch)` takes one
    mapping, and nobody noticed until a run at the end of training failed.

    ## Example
    ```python
    class Net(nn.Module):
        def forward(self, batch): ...

    model = Net()
    preds = model(feats, static, edge_index, edge_attr)
    ```

    ## Use instead
    ```python
    preds = model({"features": feats, "static_features": static, "edge_index": edge_index, ...})
    ```

    ## Fix safety
    No fix: the right call depends on what the callee expects; the finding names both sides.
    Calls with `*args`/`**kwargs`, decorated functions and callees bound more than once are skipped.
    """

    CODE: ClassVar[str] = "MNT004"
    NAME: ClassVar[str] = "CallSignatureMismatch"
    FIX_SAFETY = "none"
    TRIGGERS: ClassVar[tuple[str, ...]] = ("def ",)
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider, ScopeProvider)

    INVALID = (
        Invalid(
            "from torch import nn\n\n\nclass SomeModule(nn.Module):\n    def forward(self, batch):\n        return batch\n\n\n"
            "def export(feats, static, edge_index, edge_attr):\n    model = SomeModule()\n"
            "    return model(feats, static, edge_index, edge_attr)\n"
        ),
        Invalid(
            "import torch\n\n\nclass Net(torch.nn.Module):\n    def forward(self, batch):\n        return batch\n\n\n"
            "def run(model: Net, a, b):\n    return model(a, b)\n"
        ),
        Invalid("def f(a, b):\n    return a + b\n\n\nf(1)\n"),
        Invalid("def f(a):\n    return a\n\n\nf(1, 2)\n"),
        Invalid("def f(a, *, key):\n    return a\n\n\nf(1, kee=2)\n"),
        Invalid("def f(a, /, b):\n    return a\n\n\nf(a=1, b=2)\n"),
        Invalid("class P:\n    def __init__(self, x):\n        self.x = x\n\n\np = P()\n"),
        Invalid("def f(a, b=1):\n    return a\n\n\nf(1, a=2)\n"),
        Invalid(
            "from torch import nn\n\n\nclass Base(nn.Module):\n    def forward(self, batch):\n        return batch\n\n\n"
            "class Child(Base):\n    pass\n\n\nnet = Child()\nnet(1, 2)\n"
        ),
        Invalid(
            "class Scorer:\n    def __call__(self, x):\n        return x\n\n\nscore = Scorer()\nscore(1, 2, 3)\n"
        ),
    )
    VALID = (
        "from torch import nn\n\n\nclass M(nn.Module):\n    def forward(self, batch):\n        return batch\n\n\n"
        "model = M()\nmodel({'features': 1})\n",
        "def f(a, *args, **kwargs):\n    return a\n\n\nf(1, 2, 3, x=4)\n",
        "def f(a, b):\n    return a\n\n\nf(*pair)\n",
        "def f(a, b):\n    return a\n\n\nf(**kw)\n",
        "import functools\n\n\n@functools.lru_cache\ndef f(a):\n    return a\n\n\nf(1)\n",
        "def f(a):\n    return a\n\n\ndef f(a, b):\n    return a\n\n\nf(1, 2)\n",
        "def f(a, b=2, *, c=3):\n    return a\n\n\nf(1)\nf(1, 2, c=4)\nf(a=1)\n",
        "def g(f):\n    return f(1, 2, 3)\n\n\ndef f(a):\n    return a\n",
        "from torch import nn\n\n\nclass M(nn.Module):\n    def forward(self, x, y=None):\n        return x\n\n\n"
        "model = M()\nmodel(1, y=2)\nmodel = other()\n",
        "from dataclasses import dataclass\n\n\n@dataclass\nclass P:\n    x: int\n\n\nP(1)\n",
        "class P:\n    def __init__(self, x):\n        self.x = x\n\n\nclass Q(P):\n    pass\n\n\nQ(1)\n",
    )

    @classmethod
    def ast_may_match(cls, tree: ast.Module, source: str) -> bool:
        """Some call to a module-level name that, under some reading, does not bind (by name, no scopes)."""
        candidates = _AstCandidates(tree, source)
        return candidates.any_mismatch()

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.module: cst.Module | None = None
        self.classes: dict[str, cst.ClassDef] = {}
        self.functions: dict[str, cst.FunctionDef] = {}
        self.assign_values: dict[cst.CSTNode, cst.BaseExpression] = {}
        self.annotations: dict[cst.CSTNode, cst.BaseExpression] = {}

    def visit_Module(self, node: cst.Module) -> None:
        self.module = node
        for stmt in node.body:
            if isinstance(stmt, cst.ClassDef):
                self.classes[stmt.name.value] = stmt
            elif isinstance(stmt, cst.FunctionDef) and not stmt.decorators:
                self.functions[stmt.name.value] = stmt

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                self.assign_values[target.target] = node.value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if isinstance(node.target, cst.Name):
            self.annotations[node.target] = node.annotation.annotation
            if node.value is not None:
                self.assign_values[node.target] = node.value

    def visit_Param(self, node: cst.Param) -> None:
        if node.annotation is not None:
            self.annotations[node] = node.annotation.annotation

    def leave_Module(self, original_node: cst.Module) -> None:
        """Check every call once all assignments and annotations are known."""
        for call in _calls(original_node):
            self._check(call)

    def _single_assignment(self, name: cst.Name) -> Assignment | None:
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None:
            return None
        assignments = list(scope[name.value])
        if len(assignments) != 1 or not isinstance(assignments[0], Assignment):
            return None
        return assignments[0]

    def _local_class(self, expr: cst.BaseExpression) -> cst.ClassDef | None:
        if isinstance(expr, cst.Name) and expr.value in self.classes:
            assignment = self._single_assignment(expr)
            if assignment is not None and assignment.node is self.classes[expr.value]:
                return self.classes[expr.value]
        return None

    def _check(self, call: cst.Call) -> None:
        if not isinstance(call.func, cst.Name) or any(arg.star for arg in call.args):
            return
        signature = self._callee_signature(call.func)
        if signature is None:
            return
        n_positional = sum(1 for arg in call.args if arg.keyword is None)
        keywords = [arg.keyword.value for arg in call.args if arg.keyword is not None]
        problem = signature.bind(n_positional, keywords)
        if problem is not None:
            assert self.module is not None
            self.report(
                call, f"`{self.module.code_for_node(call.func)}(...)` {problem}: the call raises TypeError"
            )

    def _callee_signature(self, func: cst.Name) -> Signature | None:
        assignment = self._single_assignment(func)
        if assignment is None:
            return None
        node = assignment.node
        assert self.module is not None
        if isinstance(node, cst.FunctionDef) and self.functions.get(func.value) is node:
            return signature_from_cst(func.value, node.params, drop_first=False)
        if isinstance(node, cst.ClassDef) and self.classes.get(func.value) is node:
            init = self._method(node, "__init__")
            if init is None or self._is_dataclass_or_exotic(node):
                return None
            return signature_from_cst(f"{func.value}.__init__", init.params, drop_first=True)
        cls = None
        if node in self.assign_values:
            value = self.assign_values[node]
            if isinstance(value, cst.Call):
                cls = self._local_class(value.func)
        elif node in self.annotations:
            cls = self._local_class(self.annotations[node])
        if cls is None:
            return None
        method_name = "forward" if self._is_nn_module(cls) else "__call__"
        method = self._method(cls, method_name)
        if method is None:
            return None
        return signature_from_cst(f"{cls.name.value}.{method_name}", method.params, drop_first=True)

    def _bases(self, cls: cst.ClassDef) -> list[cst.ClassDef] | None:
        """Local base classes, or `None` when a base is not a class of this module."""
        local = []
        for base in cls.bases:
            found = self._local_class(base.value)
            if found is None:
                return None
            local.append(found)
        return local

    def _is_nn_module(self, cls: cst.ClassDef, depth: int = 0) -> bool:
        if depth > 20:
            return False
        for base in cls.bases:
            if {q.name for q in self.get_metadata(QualifiedNameProvider, base.value, set())} & NN_MODULE:
                return True
            local = self._local_class(base.value)
            if local is not None and self._is_nn_module(local, depth + 1):
                return True
        return False

    def _method(self, cls: cst.ClassDef, name: str, depth: int = 0) -> cst.FunctionDef | None:
        """The method `name` of `cls` or of its local bases (MRO order for single inheritance)."""
        if depth > 20 or not isinstance(cls.body, cst.IndentedBlock):
            return None
        found = [s for s in cls.body.body if isinstance(s, cst.FunctionDef) and s.name.value == name]
        if found:
            method = found[-1]
            return None if method.decorators or len(found) > 1 else method
        bases = self._bases(cls)
        if bases is None or len(bases) != 1:
            return None
        return self._method(bases[0], name, depth + 1)

    def _is_dataclass_or_exotic(self, cls: cst.ClassDef) -> bool:
        return bool(cls.decorators) or any(arg.keyword is not None for arg in cls.bases)


def _calls(module: cst.Module) -> list[cst.Call]:
    collector = _CallCollector()
    module.visit(collector)
    return collector.calls


class _CallCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.calls: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name):
            self.calls.append(node)


class _AstCandidates:
    """Name-based, scope-free version of the check: a superset of what the libcst visitor reports."""

    def __init__(self, tree: ast.Module, source: str) -> None:
        self.tree = tree
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.classes: dict[str, ast.ClassDef] = {}
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions[stmt.name] = stmt
            elif isinstance(stmt, ast.ClassDef):
                self.classes[stmt.name] = stmt
        self.instances: dict[str, set[str]] = {}
        self.calls: list[ast.Call] = []
        if not (self.functions or self.classes):
            return
        aliases = import_aliases(tree)
        for node in statements(tree):  # assignments and parameters are statements: no full walk needed
            cls_name = None
            target = None
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.Call):
                target, cls_name = node.targets[0], resolve_dotted(node.value.func, aliases)
            elif isinstance(node, ast.AnnAssign):
                target, cls_name = node.target, resolve_dotted(node.annotation, aliases)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                a = node.args
                for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs):
                    if arg.annotation is not None:
                        resolved = resolve_dotted(arg.annotation, aliases) or ""
                        self.instances.setdefault(arg.arg, set()).add(resolved)
                continue
            if isinstance(target, ast.Name) and cls_name in self.classes:
                self.instances.setdefault(target.id, set()).add(cls_name)
        # the text must call one of these names somewhere (not only define it) before expressions are walked
        names = sorted(set(self.functions) | set(self.classes) | set(self.instances))
        call_site = re.compile(
            r"(?<!def )(?<!class )(?<![\w.])(?:" + "|".join(map(re.escape, names)) + r")\s*\("
        )
        if call_site.search(source) is None:
            return
        self.calls = [
            node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        ]

    def _methods(
        self, cls: ast.ClassDef, name: str, depth: int = 0
    ) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        found = [
            s for s in cls.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == name
        ]
        if found or depth > 20:
            return found
        out = []
        for base in cls.bases:
            if isinstance(base, ast.Name) and base.id in self.classes:
                out += self._methods(self.classes[base.id], name, depth + 1)
        return out

    def _signatures(self, name: str) -> list[Signature]:
        sigs = []
        if name in self.functions:
            sigs.append(signature_from_ast(name, self.functions[name].args, drop_first=False))
        if name in self.classes:
            sigs += [
                signature_from_ast(name, m.args, drop_first=True)
                for m in self._methods(self.classes[name], "__init__")
            ]
        for cls_name in self.instances.get(name, ()):
            if cls_name in self.classes:
                for method in ("forward", "__call__"):
                    sigs += [
                        signature_from_ast(name, m.args, drop_first=True)
                        for m in self._methods(self.classes[cls_name], method)
                    ]
        return sigs

    def any_mismatch(self) -> bool:
        cache: dict[str, list[Signature]] = {}
        names = set(self.functions) | set(self.classes) | set(self.instances)
        for node in self.calls:
            name = node.func.id  # type: ignore[attr-defined]
            if name not in names:
                continue
            if any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords
            ):
                continue
            if name not in cache:
                cache[name] = self._signatures(name)
            keywords = [k.arg for k in node.keywords if k.arg is not None]
            if any(sig.bind(len(node.args), keywords) is not None for sig in cache[name]):
                return True
        return False
