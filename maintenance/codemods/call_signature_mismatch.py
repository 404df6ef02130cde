"""MNT004 CallSignatureMismatch: a call whose arguments cannot bind to the callee's signature."""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from libcst.metadata import PositionProvider

from maintenance.codemods.base import (
    AstFinding,
    Codemod,
    FileContext,
    Invalid,
    NodeRef,
    dotted_name,
    import_aliases,
    resolve_dotted,
    statements,
    tree_nodes,
)
from maintenance.index import (
    SAME_MODULE_METHODS,
    SIGNATURE_KEEPING_WRAPPERS,
    ClassInfo,
    FunctionInfo,
    ModuleInfo,
    ProjectIndex,
    Signature,
    signature_from_ast,
)

NN_MODULE = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"})


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
    TRIGGERS: ClassVar[tuple[str, ...]] = ()
    METADATA_DEPENDENCIES = (PositionProvider,)

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
        "from torch import nn\n\n\nclass M(nn.Module):\n    def __call__(self, *args):\n        return args\n\n"
        "    def forward(self, batch):\n        return batch\n\n\nmodel = M()\nmodel(1, 2, 3, 4)\n",
        "class P:\n    def __init__(self, x):\n        self.x = x\n\n\nclass Q(P):\n    pass\n\n\nQ(1)\n",
    )

    @classmethod
    def ast_may_match(cls, tree: ast.Module, source: str) -> bool:
        """Some call to a module-level name that, under some reading, does not bind (by name, no scopes)."""
        candidates = _AstCandidates(tree, source)
        return candidates.any_mismatch()

    @classmethod
    def may_match(cls, tree: ast.Module, source: str, context: FileContext) -> bool:
        """`ast_may_match`, or the same by-name check for callees the project index resolves."""
        if cls.ast_may_match(tree, source):
            return True
        if context.index is None or context.module is None:
            return False
        return _ProjectCandidates(tree, context.index, context.module.name).any_mismatch()

    @classmethod
    def ast_findings(cls, tree: ast.Module, source: str, context: FileContext) -> list[AstFinding]:
        """Every call that cannot bind, decided on `ast` with per-scope bindings and the project index."""
        assert context.index is not None and context.module is not None
        return _Checker(tree, source, context.index, context.module).findings()


# ------------------------------------------------------------------------------------------------ scopes


@dataclass
class _Binding:
    """One binding of a name: what kind, and the node it comes from."""

    kind: str  # def | class | assign | annotation | param | import | other
    node: ast.AST | None = None
    value: ast.expr | None = None
    annotation: ast.expr | None = None


@dataclass
class _Scope:
    """The bindings of one module, function, class, lambda or comprehension body (Python's scoping)."""

    node: ast.AST
    parent: _Scope | None
    bindings: dict[str, list[_Binding]] = dataclasses.field(default_factory=dict)
    declared_global: set[str] = dataclasses.field(default_factory=set)
    declared_nonlocal: set[str] = dataclasses.field(default_factory=set)

    @property
    def is_class(self) -> bool:
        return isinstance(self.node, ast.ClassDef)

    def bind(self, name: str, binding: _Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    def lookup(self, name: str) -> list[_Binding]:
        """The bindings a read of `name` here may see (empty: a builtin or unknown)."""
        scope: _Scope | None = self
        first = True
        while scope is not None:
            if name in scope.declared_global:
                while scope.parent is not None:
                    scope = scope.parent
                return scope.bindings.get(name, [])
            if (
                name in scope.bindings
                and name not in scope.declared_nonlocal
                and (first or not scope.is_class)
            ):
                return scope.bindings[name]
            first = False
            scope = scope.parent
        return []


_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


class _Checker:
    """Binds every call whose callee is known statically (see `CallSignatureMismatch`)."""

    def __init__(self, tree: ast.Module, source: str, index: ProjectIndex, module: ModuleInfo) -> None:
        self.tree = tree
        self.source = source
        self.index = index
        self.module = module
        self.lines = source.splitlines()
        self.module_scope = _Scope(tree, None)
        self.calls: list[tuple[ast.Call, _Scope]] = []
        self.scope_of: dict[int, _Scope] = {}
        self.classes = {s.name: s for s in tree.body if isinstance(s, ast.ClassDef)}
        self.functions = {
            s.name: s
            for s in tree.body
            if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and not s.decorator_list
        }
        self._walk(tree, self.module_scope)

    # ------------------------------------------------------------------ building the scopes

    def _walk(self, root: ast.AST, root_scope: _Scope) -> None:
        stack: list[tuple[ast.AST, _Scope]] = [(child, root_scope) for child in ast.iter_child_nodes(root)]
        while stack:
            node, scope = stack.pop()
            if isinstance(node, _SCOPES):
                inner = self._enter(node, scope, stack)
                self.scope_of[id(node)] = inner
                continue
            self._record(node, scope)
            stack.extend((child, scope) for child in ast.iter_child_nodes(node))

    def _enter(self, node: ast.AST, scope: _Scope, stack: list[tuple[ast.AST, _Scope]]) -> _Scope:
        inner = _Scope(node, scope)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            scope.bind(node.name, _Binding("def" if not isinstance(node, ast.ClassDef) else "class", node))
            stack.extend((d, scope) for d in node.decorator_list)
            if isinstance(node, ast.ClassDef):
                stack.extend((b, scope) for b in (*node.bases, *(k.value for k in node.keywords)))
                stack.extend((child, inner) for child in node.body)
                return inner
            args = node.args
            stack.extend(
                (d, scope) for d in (*args.defaults, *(d for d in args.kw_defaults if d is not None))
            )
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
                inner.bind(arg.arg, _Binding("param", arg, annotation=arg.annotation))
                if arg.annotation is not None:
                    stack.append((arg.annotation, scope))
            for arg in (args.vararg, args.kwarg):
                if arg is not None:
                    inner.bind(arg.arg, _Binding("other", arg))
            if node.returns is not None:
                stack.append((node.returns, scope))
            stack.extend((child, inner) for child in node.body)
            return inner
        if isinstance(node, ast.Lambda):
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None:
                    inner.bind(arg.arg, _Binding("other", arg))
            stack.extend(
                (d, scope) for d in (*args.defaults, *(d for d in args.kw_defaults if d is not None))
            )
            stack.append((node.body, inner))
            return inner
        # a comprehension: its first iterable is evaluated outside, the rest inside
        generators = node.generators  # type: ignore[attr-defined]
        stack.append((generators[0].iter, scope))
        for number, comp in enumerate(generators):
            for name in ast.walk(comp.target):
                if isinstance(name, ast.Name):
                    inner.bind(name.id, _Binding("other", name))
            if number:
                stack.append((comp.iter, inner))
            stack.extend((cond, inner) for cond in comp.ifs)
        for attr in ("elt", "key", "value"):
            child = getattr(node, attr, None)
            if child is not None:
                stack.append((child, inner))
        return inner

    def _record(self, node: ast.AST, scope: _Scope) -> None:
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) or (
                isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
            ):
                self.calls.append((node, scope))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    scope.bind(target.id, _Binding("assign", target, value=node.value))
        elif isinstance(node, ast.AnnAssign):
            if isinstance(node.target, ast.Name):
                scope.bind(node.target.id, _Binding("annotation", node.target, node.value, node.annotation))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    scope.bind(alias.asname or alias.name.split(".")[0], _Binding("import", node))
        elif isinstance(node, ast.Global):
            scope.declared_global.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            scope.declared_nonlocal.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            parent_kinds = scope.bindings.get(node.id, [])
            if not any(b.node is node for b in parent_kinds):
                scope.bind(node.id, _Binding("other", node))
        elif (isinstance(node, ast.ExceptHandler) and node.name) or (
            isinstance(node, ast.MatchAs | ast.MatchStar) and node.name
        ):
            scope.bind(node.name, _Binding("other", node))
        elif isinstance(node, ast.MatchMapping) and node.rest:
            scope.bind(node.rest, _Binding("other", node))

    # ------------------------------------------------------------------ checking the calls

    def findings(self) -> list[AstFinding]:
        out = []
        for call, scope in sorted(self.calls, key=lambda item: (item[0].lineno, item[0].col_offset)):
            if any(isinstance(a, ast.Starred) for a in call.args) or any(
                k.arg is None for k in call.keywords
            ):
                continue
            if isinstance(call.func, ast.Name):
                signature = self._callee(call.func.id, scope) or self._project_callee(call.func.id, scope)
            else:
                signature = self._self_attribute(call.func, scope)  # type: ignore[arg-type]
            if signature is None:
                continue
            keywords = [k.arg for k in call.keywords if k.arg is not None]
            problem = signature.bind(len(call.args), keywords)
            if problem is not None:
                callee = ast.get_source_segment(self.source, call.func) or "?"
                ref = NodeRef.of(call, self.lines)
                out.append(AstFinding(ref, f"`{callee}(...)` {problem}: the call raises TypeError"))
        return out

    def _single(self, name: str, scope: _Scope) -> _Binding | None:
        bindings = scope.lookup(name)
        return bindings[0] if len(bindings) == 1 else None

    def _local_class(self, expr: ast.expr | None, scope: _Scope) -> ast.ClassDef | None:
        if isinstance(expr, ast.Name) and expr.id in self.classes:
            binding = self._single(expr.id, scope)
            if binding is not None and binding.node is self.classes[expr.id]:
                return self.classes[expr.id]
        return None

    def _callee(self, name: str, scope: _Scope) -> Signature | None:
        """Callees of this module: a function defined once, a class (its `__init__`), an instance of one."""
        binding = self._single(name, scope)
        if binding is None:
            return None
        node = binding.node
        if binding.kind == "def" and self.functions.get(name) is node:
            return signature_from_ast(name, node.args, drop_first=False)  # type: ignore[union-attr]
        if binding.kind == "class" and self.classes.get(name) is node:
            assert isinstance(node, ast.ClassDef)
            init = self._method(node, "__init__")
            if init is None or node.decorator_list or node.keywords:
                return None
            return signature_from_ast(f"{name}.__init__", init.args, drop_first=True)
        cls = None
        if binding.kind in {"assign", "annotation"} and binding.value is not None:
            if isinstance(binding.value, ast.Call):
                cls = self._local_class(binding.value.func, scope)
        elif binding.kind in {"annotation", "param"}:
            cls = self._local_class(binding.annotation, scope)
        if cls is None:
            return None
        overrides_call = any(
            isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == "__call__" for s in cls.body
        )
        method_name = "forward" if self._is_nn_module(cls, scope) and not overrides_call else "__call__"
        method = self._method(cls, method_name)
        if method is None:
            return None
        return signature_from_ast(f"{cls.name}.{method_name}", method.args, drop_first=True)

    def _is_nn_module(self, cls: ast.ClassDef, scope: _Scope, depth: int = 0) -> bool:
        if depth > 20:
            return False
        info = self.module.classes.get(cls.name)
        for base, qualified in zip(cls.bases, info.bases if info else [None] * len(cls.bases), strict=False):
            if qualified in NN_MODULE:
                return True
            local = self._local_class(base, self.module_scope)
            if local is not None and self._is_nn_module(local, scope, depth + 1):
                return True
        return False

    def _method(
        self, cls: ast.ClassDef, name: str, depth: int = 0
    ) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The method `name` of `cls` or of its local bases (MRO order for single inheritance)."""
        if depth > 20:
            return None
        found = [
            s for s in cls.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == name
        ]
        if found:
            method = found[-1]
            return None if method.decorator_list or len(found) > 1 else method
        bases = [self._local_class(base, self.module_scope) for base in cls.bases]
        if any(b is None for b in bases) or len(bases) != 1:
            return None
        return self._method(bases[0], name, depth + 1)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ across modules (the project index)

    def _project_callee(self, name: str, scope: _Scope) -> Signature | None:
        """The callee through the index: an imported project function or class, or an instance of one."""
        bindings = scope.lookup(name)
        if not bindings:
            return None
        if len(bindings) == 1 and bindings[0].kind == "import":
            if scope is not self.module_scope and name not in self.module_scope.bindings:
                return None  # a function-local import: the module summary does not hold it
            if self.module_scope.lookup(name) is not bindings:
                return None
            return _callable_signature(self.index, self.index.resolve(self.module.name, name), name)
        cls = self._same_class(bindings, scope, 0)
        return _instance_signature(self.index, cls) if cls is not None else None

    def _same_class(self, bindings: list[_Binding], scope: _Scope, depth: int) -> ClassInfo | None:
        """The project class every one of these bindings makes an instance of, else `None` (never guess)."""
        found: set[str] = set()
        result = None
        for binding in bindings:
            if binding.kind == "assign" or (binding.kind == "annotation" and binding.value is not None):
                cls = self._instance_class(binding.value, scope, depth + 1)  # type: ignore[arg-type]
            elif binding.kind in {"annotation", "param"} and binding.annotation is not None:
                cls = self._project_class(binding.annotation)
            else:
                return None
            if cls is None:
                return None
            found.add(cls.qualname)
            result = cls
        return result if len(found) == 1 else None

    def _project_class(self, expr: ast.expr) -> ClassInfo | None:
        name = dotted_name(expr)
        symbol = self.index.resolve_in(self.module.name, name) if name else None
        return symbol if isinstance(symbol, ClassInfo) else None

    def _instance_class(self, expr: ast.expr, scope: _Scope, depth: int) -> ClassInfo | None:
        """The project class `expr` makes an instance of: `Cls(...)`, `.to(...)`/`.eval()` chains, wrappers."""
        if depth > 10:
            return None
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute) and func.attr in SAME_MODULE_METHODS:
                return self._instance_class(func.value, scope, depth + 1)
            name = dotted_name(func)
            if name is None:
                return None
            if self.index.qualified_name_in(self.module.name, name) in SIGNATURE_KEEPING_WRAPPERS:
                if not expr.args or isinstance(expr.args[0], ast.Starred):
                    return None
                return self._instance_class(expr.args[0], scope, depth + 1)
            return self._project_class(func)
        if isinstance(expr, ast.Name):
            bindings = scope.lookup(expr.id)
            return self._same_class(bindings, scope, depth + 1) if bindings else None
        return None

    def _self_attribute(self, func: ast.Attribute, scope: _Scope) -> Signature | None:
        """`self.model(...)` where `__init__` did `self.model = Model(...)` (once)."""
        method = scope.node
        owner = scope.parent
        if (
            not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef)
            or owner is None
            or not owner.is_class
        ):
            return None
        if method.decorator_list or not isinstance(func.value, ast.Name):
            return None
        params = method.args.posonlyargs or method.args.args
        if not params or params[0].arg != func.value.id:
            return None
        cls_node = owner.node
        assert isinstance(cls_node, ast.ClassDef)
        info = self.module.classes.get(cls_node.name)
        if info is None or self.classes.get(cls_node.name) is not cls_node:
            return None
        callee = info.instance_attributes.get(func.attr)
        if callee is None:
            return None
        symbol = self.index.resolve_qualified(callee)
        return _instance_signature(self.index, symbol) if isinstance(symbol, ClassInfo) else None


def _callable_signature(index: ProjectIndex, symbol: object, name: str) -> Signature | None:
    """The signature a call of a project function or class (its `__init__`) must bind to."""
    if isinstance(symbol, FunctionInfo):
        if symbol.decorated or symbol.kind != "function":
            return None
        return symbol.signature
    if isinstance(symbol, ClassInfo):
        if symbol.decorators or symbol.keyword_bases:
            return None
        init = index.method(symbol, "__init__")
        if init is None:
            return None
        return _renamed(init.signature, f"{name}.__init__")
    return None


def _instance_signature(index: ProjectIndex, cls: ClassInfo) -> Signature | None:
    """What calling an instance binds to: `__call__` where a project class defines it, else `forward` for
    an `nn.Module` (whose own `__call__` forwards to it), else `__call__`."""
    method_name = (
        "forward" if index.is_nn_module(cls) and not _defines(index, cls, "__call__") else "__call__"
    )
    method = index.method(cls, method_name)
    if method is None or method.kind != "method":
        return None
    return _renamed(method.signature, f"{cls.name}.{method_name}")


def _defines(index: ProjectIndex, cls: ClassInfo, name: str, depth: int = 0) -> bool:
    """Whether `cls` or one of its project base classes defines `name`."""
    if name in cls.methods:
        return True
    bases = index.base_classes(cls)
    return depth < 30 and any(
        isinstance(base, ClassInfo) and _defines(index, base, name, depth + 1) for base in bases or []
    )


def _renamed(signature: Signature, name: str) -> Signature:
    return dataclasses.replace(signature, text=f"`{name}{signature.text[signature.text.index('(') :]}")


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
        # (a prefilter: `ast_findings` decides; the walk is shared with the other codemods of the file)
        names = set(self.functions) | set(self.classes) | set(self.instances)
        self.calls = [
            node
            for node in tree_nodes(tree).of(ast.Call)
            if isinstance(node.func, ast.Name) and node.func.id in names
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


class _ProjectCandidates:
    """The by-name superset of the cross-module check, on `ast`: callees resolved through the index."""

    def __init__(self, tree: ast.Module, index: ProjectIndex, module: str) -> None:
        self.tree = tree
        self.index = index
        self.module = module
        self.signatures: dict[str, list[Signature]] = {}
        self.attribute_signatures: dict[str, list[Signature]] = {}
        info = index.modules[module]
        for local in info.imports:
            sig = _callable_signature(index, index.resolve(module, local), local)
            if sig is not None:
                self.signatures.setdefault(local, []).append(sig)
        for cls in info.classes.values():
            for attr, callee in cls.instance_attributes.items():
                symbol = index.resolve_qualified(callee)
                sig = _instance_signature(index, symbol) if isinstance(symbol, ClassInfo) else None
                if sig is not None:
                    self.attribute_signatures.setdefault(attr, []).append(sig)
        if not (info.imports or info.classes):
            return
        instances: dict[str, ClassInfo] = {}
        binding = [
            node
            for node in statements(tree)
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for round_ in range(2):  # a second pass follows `m = model.to(dev)` written before `model` is known
            if round_ and not instances:
                break  # (nothing known after the first pass: the second would find nothing either)
            for node in binding:
                target, cls = None, None
                if isinstance(node, ast.Assign):
                    if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                        target, cls = node.targets[0], self._instance(node.value, instances, 0)
                elif isinstance(node, ast.AnnAssign):
                    if isinstance(node.target, ast.Name):
                        target, cls = node.target, self._class(node.annotation)
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    a = node.args
                    for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs):
                        found = self._class(arg.annotation) if arg.annotation is not None else None
                        if found is not None:
                            instances[arg.arg] = found
                    continue
                if isinstance(target, ast.Name) and cls is not None:
                    instances[target.id] = cls
        for name, cls in instances.items():
            sig = _instance_signature(index, cls)
            if sig is not None:
                self.signatures.setdefault(name, []).append(sig)

    def _class(self, expr: ast.expr) -> ClassInfo | None:
        name = dotted_name(expr)
        symbol = self.index.resolve_in(self.module, name) if name else None
        return symbol if isinstance(symbol, ClassInfo) else None

    def _instance(self, expr: ast.expr, instances: dict[str, ClassInfo], depth: int) -> ClassInfo | None:
        if depth > 10:
            return None
        if isinstance(expr, ast.Name):
            return instances.get(expr.id)
        if not isinstance(expr, ast.Call):
            return None
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr in SAME_MODULE_METHODS:
            return self._instance(func.value, instances, depth + 1)
        name = dotted_name(func)
        if name is None:
            return None
        if self.index.qualified_name_in(self.module, name) in SIGNATURE_KEEPING_WRAPPERS:
            return self._instance(expr.args[0], instances, depth + 1) if expr.args else None
        return self._class(func)

    def any_mismatch(self) -> bool:
        if not (self.signatures or self.attribute_signatures):
            return False
        for node in tree_nodes(self.tree).of(ast.Call):
            if isinstance(node.func, ast.Name):
                sigs = self.signatures.get(node.func.id, [])
            elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
                sigs = self.attribute_signatures.get(node.func.attr, [])
            else:
                continue
            if (
                not sigs
                or any(isinstance(a, ast.Starred) for a in node.args)
                or any(k.arg is None for k in node.keywords)
            ):
                continue
            keywords = [k.arg for k in node.keywords if k.arg is not None]
            if any(sig.bind(len(node.args), keywords) is not None for sig in sigs):
                return True
        return False
