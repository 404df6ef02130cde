"""MNT004 CallSignatureMismatch: a call whose arguments cannot bind to the callee's signature."""

from __future__ import annotations

import ast
import bisect
import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from maintenance.astutil import child_nodes, first_line, statement_lists, tree_nodes
from maintenance.codemods.base import (
    AstFinding,
    AstRule,
    FileContext,
    IndexCheck,
    Invalid,
    NodeRef,
    dotted_name,
    import_aliases,
    statements,
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
from maintenance.scopes import Binding, Scope, Scopes


class CallSignatureMismatch(AstRule):
    """A call whose arguments cannot bind to the signature of the function it calls.

    ## What it does
    Binds the positional and keyword arguments of a call against the callee's signature, with Python's
    own rules, where the callee is known statically: a function defined once in the module or imported
    from the project, a class (its `__new__` where its hierarchy defines one, else its `__init__`), or an
    instance of a project class: for `nn.Module` subclasses the signature of `forward` (what
    `module(...)` calls), else `__call__`. Names are looked up in the scope model of
    `maintenance.scopes`. An instance is known from an assignment `model = SomeModule(...)` (through
    `.to(device)`, `torch.compile`, DDP), an annotation `model: SomeModule` (parameters included), or a
    class imported in a `try` and its `except ImportError`. Where a name may hold several classes
    (if/else branches, a debug model under a flag), the call is checked against every binding that may
    reach it; it is reported when it fails for at least one the index follows, naming the bindings it
    fails and binds for. Bindings it cannot follow are not judged (never guess).

    Not findings: calls whose TypeError the code expects (inside `pytest.raises`/`assertRaises`/`raises`
    of TypeError or a base of it, in a `try` whose handler catches it, in a test marked as an expected
    failure), calls under an `if` that asks for a version (`if PD_LT_3:`: written for another version of
    the callee), classes built by a metaclass or an enum. A call under a type-checker suppression (`# type: ignore[call-arg]`, `# pyright:
    ignore`) is reported as acknowledged: the code already says it does not bind.

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
    No fix: the right call depends on what the callee expects (and, for a name bound to several
    classes, on which one the program meant); the finding names both sides. Calls with
    `*args`/`**kwargs`, decorated functions and functions or classes bound more than once are skipped.
    """

    CODE: ClassVar[str] = "MNT004"
    NAME: ClassVar[str] = "CallSignatureMismatch"
    FIX_SAFETY = "none"
    TRIGGERS: ClassVar[tuple[str, ...]] = ()

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
        # a name bound to two classes: the call fails when it holds A
        Invalid(
            "from torch import nn\n\n\nclass A(nn.Module):\n    def forward(self, batch):\n        return batch\n\n\n"
            "class B(nn.Module):\n    def forward(self, x, y):\n        return x\n\n\n"
            "def run(flag, x, y):\n    if flag:\n        model = A()\n    else:\n        model = B()\n    return model(x, y)\n"
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
        # tests of the error itself, and a fallback that handles it
        "import pytest\n\n\ndef f(a):\n    return a\n\n\ndef test_f():\n    with pytest.raises(TypeError):\n        f(1, 2)\n",
        "def f(a):\n    return a\n\n\ndef g():\n    try:\n        return f(1, 2)\n    except TypeError:\n        return f(1)\n",
        # `__new__` decides which class's `__init__` runs
        "class Op:\n    def __new__(cls, *args, **kwargs):\n        return super().__new__(Custom if cls is Op else cls)\n\n"
        "    def __init__(self, dtype, shape):\n        self.shape = shape\n\n\nclass Custom(Op):\n"
        "    def __init__(self, shape, matvec):\n        self.matvec = matvec\n\n\nOp((3, 3), matvec=abs)\n",
        # the later binding hides the earlier one: only `B` reaches the call
        "from torch import nn\n\n\nclass A(nn.Module):\n    def forward(self, batch):\n        return batch\n\n\n"
        "class B(nn.Module):\n    def forward(self, x, y):\n        return x\n\n\n"
        "def run(x, y):\n    model = A()\n    model = B()\n    return model(x, y)\n",
    )

    @classmethod
    def may_match(cls, tree: ast.Module, source: str, context: FileContext) -> bool:
        """Some call to a module-level name that, under some reading, does not bind (by name, no scopes),
        in this module or among the callees the project index resolves."""
        if not super().may_match(tree, source, context):
            return False
        if _AstCandidates(tree, source).any_mismatch():
            return True
        if context.index is None or context.module is None:
            return False
        return _ProjectCalls(tree, context.module).may_match(context.index, context.module)

    @classmethod
    def may_match_before_index(cls, tree: ast.Module, source: str, context: FileContext) -> bool | IndexCheck:
        """The module's own half of the prefilter now; the calls of the cross-module half, kept for the index."""
        if not super().may_match(tree, source, context):
            return False
        if _AstCandidates(tree, source).any_mismatch():
            return True
        assert context.module is not None
        calls = _ProjectCalls(tree, context.module)
        return calls if calls.calls else False

    @classmethod
    def findings(cls, tree: ast.Module, source: str, context: FileContext) -> list[AstFinding]:
        """Every call that cannot bind, decided on `ast` with per-scope bindings and the project index."""
        assert context.index is not None and context.module is not None
        return _Checker(tree, source, context.index, context.module).findings()


# ------------------------------------------------------------------------------------------------ the check

# calls of these (`pytest.raises`, `self.assertRaises`, sympy's `raises`, numpy's `assert_raises`) test an error
_RAISES_HELPERS = frozenset(
    {
        "raises",
        "assertRaises",
        "assertRaisesRegex",
        "assertRaisesRegexp",
        "failUnlessRaises",
        "assert_raises",
        "assert_raises_regex",
    }
)
# TypeError and its bases: an error of these kinds expected around a call means its TypeError is handled
_TYPE_ERROR_AND_BASES = frozenset({"TypeError", "Exception", "BaseException"})
# `# type: ignore` (bare or naming a call code), `# pyright: ignore`, `# pyrefly: ignore` (which may also sit
# on the line above the call), bare or naming a call rule
_SUPPRESSION = re.compile(
    r"#\s*(?P<tool>type|pyright|pyrefly):\s*ignore(?!\w)(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE
)
_CALL_CODES = frozenset(
    {
        "call-arg",
        "call-overload",
        "misc",
        "arg-type",
        "reportcallissue",
        "reportargumenttype",
        "missing-argument",
        "bad-argument-count",
        "unexpected-keyword",
        "bad-keyword-argument",
        "bad-argument-type",
    }
)
ACKNOWLEDGED = "acknowledged by"  # the words that mark a finding the code suppresses on purpose


def is_acknowledged(message: str) -> bool:
    """Whether an MNT004 message is a call the code already marks as not binding (a type-checker
    suppression on the call's lines): shown, but no crash a reader has not seen."""
    return f"({ACKNOWLEDGED} `#" in message


@dataclass(frozen=True)
class _Followed:
    """One binding a read of a name may see: the class it makes the name an instance of (`None` when the
    index cannot follow it) and the line it is bound at."""

    line: int
    cls: ClassInfo | None


class _Checker:
    """Binds every call whose callee is known statically (see `CallSignatureMismatch`).

    Names are looked up in the scope model of `maintenance.scopes`; of the bindings in the call's own scope,
    only those that may reach the call are followed (a later unconditional rebinding hides an earlier one).
    Lambdas and comprehensions are not scopes there: a call whose callee name they bind is not judged.
    Only the calls that can fail to bind are recorded (`_judged`): the other scopes of the file are never
    resolved, so their bindings are never found.
    """

    def __init__(self, tree: ast.Module, source: str, index: ProjectIndex, module: ModuleInfo) -> None:
        self.tree = tree
        self.source = source
        self.index = index
        self.module = module
        self.lines = source.splitlines()
        self.scopes = Scopes(tree)
        # (call, its scope, the innermost statement holding it)
        self.calls: list[tuple[ast.Call, Scope, ast.stmt]] = []
        self._followed: dict[tuple[int, str, tuple[int, int]], list[_Followed]] = {}
        nodes = tree_nodes(tree)
        # names a binding may make hold an instance (`_follow_once` follows only these), and the attributes
        # `self.x = Cls(...)` sets in the module's classes (`_self_attribute` judges only those)
        self._held = {
            target.id
            for stmt in nodes.of(ast.Assign)
            for target in stmt.targets
            if isinstance(target, ast.Name)
        }
        self._held.update(
            stmt.target.id for stmt in nodes.of(ast.AnnAssign) if isinstance(stmt.target, ast.Name)
        )
        self._held.update(arg.arg for arg in nodes.of(ast.arg) if arg.annotation is not None)
        self._attributes = {attr for cls in module.classes.values() for attr in cls.instance_attributes}
        self._judged_names: dict[str, bool] = {}
        self._statement_parents: dict[int, tuple[ast.stmt | None, list[ast.stmt]]] | None = None
        self._judged_ids = self._judged_calls()  # id(call) -> call, for the calls that can fail to bind
        self._walk()

    def _judged(self, call: ast.Call) -> bool:
        """Whether the call can fail to bind here: a name some binding may make a project callable or an
        instance of a project class (a module-level function or class, a name the index resolves to one,
        a name assigned or annotated somewhere), or `self.x(...)` of an attribute a class of the module
        sets. Any other call's message is `None` whatever its scope holds (see `_name_call`)."""
        func = call.func
        if isinstance(func, ast.Attribute):
            return func.attr in self._attributes
        name = func.id  # type: ignore[attr-defined]
        known = self._judged_names.get(name)
        if known is None:
            known = (
                name in self._held
                or name in self.module.functions
                or name in self.module.classes
                or isinstance(self.index.resolve(self.module.name, name), FunctionInfo | ClassInfo)
            )
            self._judged_names[name] = known
        return known

    # ------------------------------------------------------------------ which calls, in which scope

    def _walk(self) -> None:
        """Record every call by name or `x.attr`, with its scope, that no enclosing code expects to raise
        TypeError (a `pytest.raises`/`assertRaises` of it or a base, or a `try` that handles it)."""
        root = self.scopes.root
        stack: list[tuple[ast.AST, Scope, frozenset[str], ast.stmt]] = [
            (stmt, root, frozenset(), stmt) for stmt in self.tree.body
        ]
        judged = self._judged_ids
        holds_judged = self._holds_judged()
        while stack:
            node, scope, shadowed, statement = stack.pop()
            if not holds_judged(node):
                continue  # no call it holds can be recorded
            if isinstance(node, ast.stmt):
                statement = node
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                outer: list[ast.AST] = list(node.decorator_list)
                if isinstance(node, ast.ClassDef):
                    outer += [*node.bases, *(k.value for k in node.keywords)]
                else:
                    args = node.args
                    outer += [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
                stack.extend((child, scope, shadowed, statement) for child in outer)
                if _expects_failure(node):
                    continue  # an expected failure (`@pytest.mark.xfail`, sympy's `@XFAIL`): its errors are known
                inner = self.scopes.child(scope, node)
                stack.extend((child, inner, frozenset(), child) for child in node.body)
                continue
            if isinstance(node, ast.Lambda):
                args = node.args
                stack.extend(
                    (d, scope, shadowed, statement)
                    for d in (*args.defaults, *(d for d in args.kw_defaults if d))
                )
                params = {
                    a.arg
                    for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
                    if a
                }
                stack.append((node.body, scope, shadowed | params, statement))
                continue
            if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
                targets = {
                    n.id for comp in node.generators for n in ast.walk(comp.target) if isinstance(n, ast.Name)
                }
                inside = shadowed | targets
                stack.append((node.generators[0].iter, scope, shadowed, statement))
                for number, comp in enumerate(node.generators):
                    if number:
                        stack.append((comp.iter, scope, inside, statement))
                    stack.extend((cond, scope, inside, statement) for cond in comp.ifs)
                for attr in ("elt", "key", "value"):
                    child = getattr(node, attr, None)
                    if child is not None:
                        stack.append((child, scope, inside, statement))
                continue
            if isinstance(node, ast.With | ast.AsyncWith) and any(
                _expects_type_error(item.context_expr) for item in node.items
            ):
                stack.extend((item, scope, shadowed, statement) for item in node.items)
                continue  # the body tests the error
            if isinstance(node, ast.If) and _version_test(node.test):
                stack.append((node.test, scope, shadowed, statement))
                continue  # code for another version of Python or of a library the call may bind there
            if isinstance(node, ast.Try | ast.TryStar) and any(_handles_type_error(h) for h in node.handlers):
                stack.extend(
                    (child, scope, shadowed, statement)
                    for child in (*node.handlers, *node.orelse, *node.finalbody)
                )
                continue  # the body's TypeError is handled
            if isinstance(node, ast.Call):
                if _expects_type_error(node):
                    stack.extend((child, scope, shadowed, statement) for child in (node.func, *node.args[:1]))
                    continue  # the other arguments (a lambda, the callee and its arguments) test the error
                callee = node.func
                head = callee.value if isinstance(callee, ast.Attribute) else callee
                if id(node) in judged and head.id not in shadowed:  # type: ignore[union-attr]
                    self.calls.append((node, scope, statement))
            stack.extend((child, scope, shadowed, statement) for child in child_nodes(node))

    def _holds_judged(self) -> Callable[[ast.AST], bool]:
        """Whether a node may hold one of the calls `_judged` keeps (`_holds`): the walk goes into no other."""
        return _holds(self._judged_ids, self.tree)

    def _judged_calls(self) -> dict[int, ast.Call]:
        """id(call) -> call for the calls `_judged` keeps whose callee is a name or a name's attribute."""
        judged = {}
        for call in tree_nodes(self.tree).of(ast.Call):
            callee = call.func
            head = callee.value if isinstance(callee, ast.Attribute) else callee
            if isinstance(head, ast.Name) and self._judged(call):
                judged[id(call)] = call
        return judged

    # ------------------------------------------------------------------ checking the calls

    def findings(self) -> list[AstFinding]:
        out = []
        for call, scope, statement in sorted(
            self.calls, key=lambda item: (item[0].lineno, item[0].col_offset)
        ):
            if any(isinstance(a, ast.Starred) for a in call.args) or any(
                k.arg is None for k in call.keywords
            ):
                continue
            keywords = [k.arg for k in call.keywords if k.arg is not None]
            if isinstance(call.func, ast.Name):
                message = self._name_call(call, call.func.id, scope, keywords, statement)
            else:
                signature = self._self_attribute(call.func, scope)  # type: ignore[arg-type]
                problem = signature.bind(len(call.args), keywords) if signature is not None else None
                message = f"{problem}: the call raises TypeError" if problem else None
            if message is None:
                continue
            callee = ast.get_source_segment(self.source, call.func) or "?"
            message = f"`{callee}(...)` {message}"
            suppression = self._suppression(call)
            if suppression is not None:
                message += f" ({ACKNOWLEDGED} `{suppression}`)"
            out.append(AstFinding(NodeRef.of(call, self.lines), message))
        return out

    def _name_call(
        self, call: ast.Call, name: str, scope: Scope, keywords: list[str], statement: ast.stmt
    ) -> str | None:
        """The problem of calling `name(...)` here, over every binding of it that may reach the call."""
        found = self.scopes.resolve(name, scope)
        if not found or any(binding.builtin for _, binding in found):
            return None
        if len(found) == 1:
            signature = self._callable(name, *found[0], scope)
            if signature is not None:
                problem = signature.bind(len(call.args), keywords)
                return f"{problem}: the call raises TypeError" if problem else None
        owner_scope = found[0][0]
        bindings = [b for _, b in found]
        if owner_scope is scope:
            bindings = self._reaching(bindings, call, statement)
        followed = [item for binding in bindings for item in self._follow(binding, owner_scope)]
        return _verdict(self.index, name, followed, len(call.args), keywords)

    def _callable(self, name: str, owner: Scope, binding: Binding, scope: Scope) -> Signature | None:
        """The signature of a module-level function or class bound once, or of a project import."""
        if owner is not self.scopes.root:
            return None
        stmt = binding.owner
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            if stmt.decorator_list or stmt.name != name:
                return None
            info = self.module.functions.get(name)
            return info.signature if info is not None and info.line == stmt.lineno else None
        if isinstance(stmt, ast.ClassDef):
            cls = self.module.classes.get(name)
            if cls is None or cls.line != stmt.lineno:
                return None
            return _callable_signature(self.index, cls, name)
        if binding.statement is not None:
            return _callable_signature(self.index, self.index.resolve(self.module.name, name), name)
        return None

    def _follow(self, binding: Binding, owner: Scope, depth: int = 0) -> list[_Followed]:
        """The project classes a binding may make the name an instance of (several for a class imported
        in a `try` and its `except`; `cls=None`: not followed). Each binding is followed once (a binding
        that leads back to itself is not followed)."""
        key = (id(owner), binding.name, binding.after)
        known = self._followed.get(key)
        if known is not None:
            return known
        self._followed[key] = [_Followed(binding.after[0], None)]  # (while it is being followed)
        line, classes = self._follow_once(binding, owner, depth)
        result = [_Followed(line, cls) for cls in classes]
        self._followed[key] = result
        return result

    def _follow_once(self, binding: Binding, owner: Scope, depth: int) -> tuple[int, list[ClassInfo | None]]:
        stmt = binding.owner
        name = binding.name
        if stmt is None:  # a parameter: its annotation
            node = owner.node
            args = node.args if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None
            params = [*args.posonlyargs, *args.args, *args.kwonlyargs] if args else []
            arg = next((a for a in params if a.arg == name), None)
            if arg is None or arg.annotation is None or owner.parent is None:
                return binding.after[0], [None]
            return arg.lineno, [self._project_class(arg.annotation, owner.parent)]
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in stmt.targets
        ):
            return stmt.lineno, self._instance_classes(stmt.value, owner, depth + 1)
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name:
            if stmt.value is not None:
                return stmt.lineno, self._instance_classes(stmt.value, owner, depth + 1)
            return stmt.lineno, [self._project_class(stmt.annotation, owner)]
        return stmt.lineno, [None]

    def _reaching(self, bindings: list[Binding], call: ast.Call, statement: ast.stmt) -> list[Binding]:
        """The bindings of the call's own scope that may reach it: those that end before it, latest first,
        up to the first one every path to the call goes through (`statement`: the innermost one holding
        the call)."""
        at = (call.lineno, call.col_offset)
        before = sorted((b for b in bindings if b.after <= at), key=lambda b: b.after, reverse=True)
        reaching = []
        for binding in before:
            reaching.append(binding)
            if binding.owner is not None and self._dominates(binding.owner, statement):
                break
        return reaching

    def _dominates(self, stmt: ast.stmt, statement: ast.stmt) -> bool:
        """Whether `stmt` sits in a statement list that also holds, later, `statement` or a statement
        enclosing it (`statement`: the innermost statement holding a call)."""
        if self._statement_parents is None:
            self._statement_parents = _statement_parents(self.tree)
        parent_of = self._statement_parents
        if id(stmt) not in parent_of:
            return False
        block = parent_of[id(stmt)][1]
        node: ast.stmt | None = statement
        while node is not None:
            parent, node_block = parent_of[id(node)]
            if node_block is block:
                return block.index(node) > block.index(stmt)
            node = parent
        return False

    def _suppression(self, call: ast.Call) -> str | None:
        """The type-checker comment on the call's lines (for pyrefly, also on the line just above) that says
        the call does not type-check, if any."""
        first = call.lineno - 1
        for number in range(first - 1, call.end_lineno or call.lineno):
            line = self.lines[number] if number >= 0 else ""
            if "ignore" not in line:
                continue
            match = _SUPPRESSION.search(line)
            if match is None or (number < first and match.group("tool").lower() != "pyrefly"):
                continue
            if number < first and line.split("#", 1)[0].strip():
                continue  # a comment above applies only when it stands on its own line
            codes = match.group("codes")
            if codes is None or {c.strip().lower() for c in codes.split(",")} & _CALL_CODES:
                return match.group(0)
        return None

    # ------------------------------------------------------------------ what a name holds

    def _project_class(self, expr: ast.expr, scope: Scope) -> ClassInfo | None:
        """The project class `expr` names, where its head is bound at module level only (not shadowed)."""
        name = dotted_name(expr)
        if name is None:
            return None
        found = self.scopes.resolve(name.partition(".")[0], scope)
        if not found or any(owner is not self.scopes.root or b.builtin for owner, b in found):
            return None
        symbol = self.index.resolve_in(self.module.name, name)
        return symbol if isinstance(symbol, ClassInfo) else None

    def _project_classes(self, expr: ast.expr, scope: Scope) -> list[ClassInfo | None]:
        """`_project_class`, and for a name imported more than once at module level (`try: from a import
        M` / `except ImportError: from b import M`) the class of each import (`None`: not a project class)."""
        single = self._project_class(expr, scope)
        name = dotted_name(expr)
        if single is not None or name is None:
            return [single]
        head, _, rest = name.partition(".")
        found = self.scopes.resolve(head, scope)
        imports = self.module.imports.get(head, [])
        if (
            len(found) < 2
            or len(imports) != len(found)
            or any(owner is not self.scopes.root or b.statement is None for owner, b in found)
            or any(b.type_checking for b in imports)
        ):
            return [None]
        classes: list[ClassInfo | None] = []
        for imported in imports:
            symbol = self.index.resolve_qualified(imported.target + ("." + rest if rest else ""))
            classes.append(symbol if isinstance(symbol, ClassInfo) else None)
        return classes

    def _instance_classes(self, expr: ast.expr, scope: Scope, depth: int) -> list[ClassInfo | None]:
        """The project classes `expr` may make an instance of: `Cls(...)`, `.to(...)`/`.eval()` chains,
        wrappers, another name every binding of which holds the same class (`[None]`: not followed)."""
        if depth > 10:
            return [None]
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute) and func.attr in SAME_MODULE_METHODS:
                return self._instance_classes(func.value, scope, depth + 1)
            name = dotted_name(func)
            if name is None:
                return [None]
            if self.index.qualified_name_in(self.module.name, name) in SIGNATURE_KEEPING_WRAPPERS:
                if not expr.args or isinstance(expr.args[0], ast.Starred):
                    return [None]
                return self._instance_classes(expr.args[0], scope, depth + 1)
            return self._project_classes(func, scope)
        if isinstance(expr, ast.Name):
            classes: dict[str, ClassInfo] = {}
            for owner, binding in self.scopes.resolve(expr.id, scope):
                if binding.builtin:
                    return [None]
                for followed in self._follow(binding, owner, depth + 1):
                    if followed.cls is None:
                        return [None]
                    classes[followed.cls.qualname] = followed.cls
            return list(classes.values()) if len(classes) == 1 else [None]
        return [None]

    def _self_attribute(self, func: ast.Attribute, scope: Scope) -> Signature | None:
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
        if info is None or info.line != cls_node.lineno or owner.parent is not self.scopes.root:
            return None
        callee = info.instance_attributes.get(func.attr)
        if callee is None:
            return None
        symbol = self.index.resolve_qualified(callee)
        return _instance_signature(self.index, symbol) if isinstance(symbol, ClassInfo) else None


def _holds(judged: dict[int, ast.Call], tree: ast.Module) -> Callable[[ast.AST], bool]:
    """A test of whether a node may hold one of the `judged` calls, by lines: a node's descendants stand on
    its lines (a `def`'s or `class`'s decorators included), except inside an f-string, where Python 3.11 may
    misplace a position; a judged call in an f-string counts all the f-string's lines, and a node in an
    f-string is always walked into. A node without a position is walked into too."""
    # id(node in an f-string) -> the outermost f-string's lines
    in_fstring: dict[int, tuple[int, int]] = {}
    for fstring in tree_nodes(tree).of(ast.JoinedStr):
        if id(fstring) in in_fstring:
            continue
        span = (fstring.lineno, fstring.end_lineno or fstring.lineno)
        for inner in ast.walk(fstring):
            if inner is not fstring:
                in_fstring[id(inner)] = span
    held: set[int] = set()
    for key, call in judged.items():
        first, last = in_fstring.get(key, (call.lineno, call.end_lineno or call.lineno))
        held.update(range(first, last + 1))
    lines = sorted(held)

    def holds(node: ast.AST) -> bool:
        if id(node) in in_fstring or not hasattr(node, "lineno"):
            return True
        at = bisect.bisect_left(lines, first_line(node))
        return at < len(lines) and lines[at] <= (node.end_lineno or node.lineno)  # type: ignore[attr-defined]

    return holds


def _statement_parents(tree: ast.Module) -> dict[int, tuple[ast.stmt | None, list[ast.stmt]]]:
    """id(statement) -> (the statement holding it, `None` at module level; the statement list it sits in)
    for every statement of the tree (expressions are not walked)."""
    found: dict[int, tuple[ast.stmt | None, list[ast.stmt]]] = {
        id(stmt): (None, tree.body) for stmt in tree.body
    }
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        stmt = stack.pop()
        for block in statement_lists(stmt):
            for child in block:
                found[id(child)] = (stmt, block)
            stack.extend(block)
    return found


def _verdict(
    index: ProjectIndex, name: str, followed: list[_Followed], n_positional: int, keywords: list[str]
) -> str | None:
    """The problem of calling an instance `name` over the bindings that may reach the call: reported when
    the call fails for at least one binding the index follows, naming each binding it fails and binds for
    where they differ; bindings not followed are not judged."""
    fails: list[tuple[_Followed, str]] = []
    binds: list[_Followed] = []
    for item in followed:
        signature = _instance_signature(index, item.cls) if item.cls is not None else None
        if signature is None:
            continue
        problem = signature.bind(n_positional, keywords)
        if problem is None:
            binds.append(item)
        else:
            fails.append((item, problem))
    if not fails:
        return None
    problem = fails[0][1]
    classes = {item.cls.qualname for item, _ in fails if item.cls is not None}
    if len(classes) == 1 and not binds and len(fails) == len(followed):
        return f"{problem}: the call raises TypeError"
    when = " or ".join(
        f"{item.cls.name} (bound at line {item.line})" for item, _ in fails if item.cls is not None
    )
    message = f"{problem}: the call raises TypeError when `{name}` is {when}"
    if binds:
        others = ", ".join(f"{item.cls.name} (line {item.line})" for item in binds if item.cls is not None)
        message += f"; binds when it is {others}"
    return message


def _expects_type_error(node: ast.expr) -> bool:
    """`pytest.raises(TypeError)`, `self.assertRaises((TypeError, ValueError), ...)`, `raises(Exception,
    lambda: ...)`: a call that expects TypeError or one of its bases."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name not in _RAISES_HELPERS:
        return False
    expected = node.args[0] if node.args else None
    for keyword in node.keywords:
        if keyword.arg in {"expected_exception", "exception", "excClass"}:
            expected = keyword.value
    return expected is not None and _names_type_error(expected)


def _expects_failure(func: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    """A test marked as failing: `@pytest.mark.xfail` (without `raises=`, or raising TypeError or a base),
    sympy's `@XFAIL`, `@unittest.expectedFailure`."""
    for decorator in func.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        name = (dotted_name(call.func if call else decorator) or "").rsplit(".", 1)[-1]
        if name in {"XFAIL", "expectedFailure"}:
            return True
        if name == "xfail":
            raises = next((k.value for k in call.keywords if k.arg == "raises"), None) if call else None
            if raises is None or _names_type_error(raises):
                return True
    return False


# names that make an `if` a version switch: `sys.version_info`, `PD_LT_3`, `NP_GE_2`, `PY311`, `IS_PY3`
_VERSION_NAME = re.compile(
    r"(?i)version|(?:^|_)(?:lt|le|gt|ge|greater|less|older|newer)(?:_|$)|^(?:is_)?py\d"
)


def _version_test(test: ast.expr) -> bool:
    """Whether an `if` test asks which version runs (of Python or of a library)."""
    for node in ast.walk(test):
        name = (
            node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        )
        if name is not None and _VERSION_NAME.search(name):
            return True
    return False


def _handles_type_error(handler: ast.ExceptHandler) -> bool:
    """An `except` clause that catches TypeError (bare, TypeError, Exception, BaseException, or a tuple)."""
    return handler.type is None or _names_type_error(handler.type)


def _names_type_error(expr: ast.expr) -> bool:
    types = expr.elts if isinstance(expr, ast.Tuple) else [expr]
    return any((dotted_name(t) or "").rsplit(".", 1)[-1] in _TYPE_ERROR_AND_BASES for t in types)


def _callable_signature(index: ProjectIndex, symbol: object, name: str) -> Signature | None:
    """The signature a call of a project function or class must bind to.

    For a class: its `__new__` where a class of its project hierarchy defines one (`__new__` may return an
    instance of another class, whose `__init__` then runs instead), else its `__init__`. Not judged: a
    decorated class, one whose hierarchy passes keywords to a class statement (a metaclass, whose
    `__call__` decides), a base that is not a plain name, and the enum/named-tuple bases whose metaclass
    or `__new__` does not call `__init__` with the call's arguments.
    """
    if isinstance(symbol, FunctionInfo):
        if symbol.decorated or symbol.kind != "function":
            return None
        return symbol.signature
    if not isinstance(symbol, ClassInfo) or symbol.decorators:
        return None
    lineage = _lineage(index, symbol)
    if lineage is None or any(c.keyword_bases or _constructed_elsewhere(index, c) for c in lineage):
        return None
    if any("__new__" in c.methods for c in lineage):
        new = index.method(symbol, "__new__")
        if new is None or new.kind != "method" or new.decorated:
            return None
        return _renamed(new.signature, f"{name}.__new__")
    init = index.method(symbol, "__init__")
    if init is None:
        return None
    return _renamed(init.signature, f"{name}.__init__")


# external bases whose metaclass `__call__` or `__new__` decides what a call of the class does
_CONSTRUCTING_BASES = frozenset(
    {"Enum", "IntEnum", "Flag", "IntFlag", "StrEnum", "ReprEnum", "NamedTuple", "TypedDict", "type"}
)


def _constructed_elsewhere(index: ProjectIndex, cls: ClassInfo) -> bool:
    bases = index.base_classes(cls) or []
    return any(isinstance(b, str) and b.rsplit(".", 1)[-1] in _CONSTRUCTING_BASES for b in bases)


def _lineage(index: ProjectIndex, cls: ClassInfo) -> list[ClassInfo] | None:
    """`cls` and its project base classes (breadth first, through `ProjectIndex.base_classes`); `None`
    where a base is not a plain (dotted) name, so the hierarchy is not known."""
    out = [cls]
    seen = {cls.qualname}
    position = 0
    while position < len(out) and len(out) < 64:
        bases = index.base_classes(out[position])
        position += 1
        if bases is None:
            return None
        for base in bases:
            if isinstance(base, ClassInfo) and base.qualname not in seen:
                seen.add(base.qualname)
                out.append(base)
    return out


def _instance_signature(index: ProjectIndex, cls: ClassInfo) -> Signature | None:
    """What calling an instance binds to: `__call__` where a project class defines it, else `forward` for
    an `nn.Module` (whose own `__call__` forwards to it), else `__call__`."""
    lineage = _lineage(index, cls) or [cls]
    overrides_call = any("__call__" in c.methods for c in lineage)
    method_name = "forward" if index.is_nn_module(cls) and not overrides_call else "__call__"
    method = index.method(cls, method_name)
    if method is None or method.kind != "method":
        return None
    return _renamed(method.signature, f"{cls.name}.{method_name}")


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
        # only a plain name can name a class of this module (a dotted one resolves to a dotted name)
        for node in statements(tree):  # assignments and parameters are statements: no full walk needed
            cls_name = None
            target = None
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.Call):
                func = node.value.func
                target, cls_name = (
                    node.targets[0],
                    aliases.get(func.id, func.id) if isinstance(func, ast.Name) else None,
                )
            elif isinstance(node, ast.AnnAssign):
                annotation = node.annotation
                target = node.target
                cls_name = (
                    aliases.get(annotation.id, annotation.id) if isinstance(annotation, ast.Name) else None
                )
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                a = node.args
                for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs):
                    annotation = arg.annotation
                    if isinstance(annotation, ast.Name):
                        resolved = aliases.get(annotation.id, annotation.id)
                        if resolved in self.classes:
                            self.instances.setdefault(arg.arg, set()).add(resolved)
                continue
            if isinstance(target, ast.Name) and cls_name in self.classes:
                self.instances.setdefault(target.id, set()).add(cls_name)
        # the text must call one of these names somewhere (not only define it) before expressions are walked
        # (a prefilter: `findings` decides; the walk is shared with the other codemods of the file)
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
                for method in ("__init__", "__new__")
                for m in self._methods(self.classes[name], method)
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


class _ProjectCalls:
    """What the cross-module prefilter reads from a tree: the shapes of the calls it can judge (`f(...)` and
    `x.f(...)` without `*args` or `**kwargs`) whose callee the index may resolve (a name the module imports
    or binds, an attribute its classes set), and the bindings of names to instances, as plain tuples.

    Small next to the tree: the index pass keeps it instead of the tree, and finishes the prefilter once the
    run's index exists (`may_match`), so that a file no rule needs is parsed once.
    """

    def __init__(self, tree: ast.Module, module: ModuleInfo) -> None:
        binding = [
            node
            for node in statements(tree)
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        bound = {name for node in binding for name in _bound_names(node)}
        # a call is kept only when the index may resolve its callee: a name the module imports or binds to
        # an instance, an attribute its classes set (the other calls are not looked at)
        names = set(module.imports) | bound
        attributes = {attr for cls in module.classes.values() for attr in cls.instance_attributes}
        shapes: set[tuple[bool, str, int, tuple[str, ...]]] = set()
        for node in tree_nodes(tree).of(ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                is_name, name = True, func.id
                if name not in names:
                    continue
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                is_name, name = False, func.attr
                if name not in attributes:
                    continue
            else:
                continue
            if any(a.__class__ is ast.Starred for a in node.args) or any(
                k.arg is None for k in node.keywords
            ):
                continue
            shapes.add((is_name, name, len(node.args), tuple(k.arg for k in node.keywords if k.arg)))
        called = {name for is_name, name, _, _ in shapes if is_name}
        # ("assign", target, value) / ("annotated", target, class name), in the order of the statements (a
        # parameter's annotation is "annotated"), of the names whose instances the check reads: the called
        # ones and, through `x = y.to(dev)`, the names their values hold; none when no called name is bound
        self.bindings: list[tuple[str, str, Any]] = []
        if not called.isdisjoint(bound):
            values, read = _held_values(binding, called & bound)
            for node in binding:
                if isinstance(node, ast.Assign):
                    target = node.targets[0]
                    if id(node) in values and isinstance(target, ast.Name):
                        self.bindings.append(("assign", target.id, values[id(node)]))
                elif isinstance(node, ast.AnnAssign):
                    if isinstance(node.target, ast.Name) and node.target.id in read:
                        self._annotated(node.target.id, node.annotation)
                else:
                    a = node.args
                    for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs):
                        if arg.annotation is not None and arg.arg in read:
                            self._annotated(arg.arg, arg.annotation)
        kept = set(module.imports) | {target for _, target, _ in self.bindings}
        self.calls = {shape for shape in shapes if not shape[0] or shape[1] in kept}
        self.called = {name for is_name, name, _, _ in self.calls if is_name}
        self.called_attributes = {name for is_name, name, _, _ in self.calls if not is_name}

    def _annotated(self, target: str, annotation: ast.expr) -> None:
        name = dotted_name(annotation)
        if name:
            self.bindings.append(("annotated", target, name))

    def may_match(self, index: ProjectIndex, module: ModuleInfo) -> bool:
        """Whether some call may not bind to a callee the run's `index` resolves (the prefilter's second half)."""
        return bool(self.calls) and _ProjectCandidates(self, index, module.name).any_mismatch()


def _held_values(binding: list[ast.stmt], wanted: set[str]) -> tuple[dict[int, tuple], set[str]]:
    """What the assignments to the names of `wanted` hold (id(assignment) -> `_held`), and to every name
    those values read, read again (`m = model.to(dev)` reads `model`); and all those names: the instances
    of no other name are ever looked up."""
    assigns: dict[str, list[ast.Assign]] = {}
    for node in binding:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assigns.setdefault(node.targets[0].id, []).append(node)
    values: dict[int, tuple] = {}
    names = set(wanted)
    pending = list(wanted)
    while pending:
        for node in assigns.get(pending.pop(), ()):
            value = _held(node.value, 0)
            if value is None:
                continue
            values[id(node)] = value
            for name in _read_names(value):
                if name not in names:
                    names.add(name)
                    pending.append(name)
    return values, names


def _read_names(held: tuple | None) -> Iterator[str]:
    """The names a `_held` value reads (its ("name", id) leaves)."""
    while held is not None:
        if held[0] == "name":
            yield held[1]
            return
        held = held[1] if held[0] == "method" else held[2]


def _held(expr: ast.expr, depth: int) -> tuple | None:
    """What `_ProjectCandidates` follows in an assigned value, as tuples: ("name", id), ("method", held) for
    `x.to(...)` and the like, ("call", dotted callee, held first argument); `None` for anything else."""
    if depth > 10:
        return None
    if isinstance(expr, ast.Name):
        return ("name", expr.id)
    if not isinstance(expr, ast.Call):
        return None
    func = expr.func
    if isinstance(func, ast.Attribute) and func.attr in SAME_MODULE_METHODS:
        return ("method", _held(func.value, depth + 1))
    name = dotted_name(func)
    if name is None:
        return None
    return ("call", name, _held(expr.args[0], depth + 1) if expr.args else None)


class _ProjectCandidates:
    """The by-name superset of the cross-module check: the calls of a `_ProjectCalls`, callees resolved
    through the index."""

    def __init__(self, calls: _ProjectCalls, index: ProjectIndex, module: str) -> None:
        self.index = index
        self.module = module
        self.calls = calls.calls
        self.signatures: dict[str, list[Signature]] = {}
        self.attribute_signatures: dict[str, list[Signature]] = {}
        called, called_attributes = calls.called, calls.called_attributes
        info = index.modules[module]
        for local in info.imports:
            if local not in called:
                continue
            sig = _callable_signature(index, index.resolve(module, local), local)
            if sig is not None:
                self.signatures.setdefault(local, []).append(sig)
        for cls in info.classes.values():
            for attr, callee in cls.instance_attributes.items():
                if attr not in called_attributes:
                    continue
                symbol = index.resolve_qualified(callee)
                sig = _instance_signature(index, symbol) if isinstance(symbol, ClassInfo) else None
                if sig is not None:
                    self.attribute_signatures.setdefault(attr, []).append(sig)
        if not (info.imports or info.classes) or not calls.bindings:
            return
        instances: dict[str, dict[str, ClassInfo]] = {}  # every class a name may hold (any binding)
        for round_ in range(2):  # a second pass follows `m = model.to(dev)` written before `model` is known
            if round_ and not instances:
                break  # (nothing known after the first pass: the second would find nothing either)
            for kind, target, held in calls.bindings:
                if kind == "assign":
                    classes = self._instance(held, instances)
                else:
                    found = self._class(held)
                    classes = [found] if found is not None else []
                for cls in classes:
                    instances.setdefault(target, {})[cls.qualname] = cls
        for name, held_classes in instances.items():
            if name not in called:
                continue
            for cls in held_classes.values():
                sig = _instance_signature(index, cls)
                if sig is not None:
                    self.signatures.setdefault(name, []).append(sig)

    def _class(self, name: str) -> ClassInfo | None:
        symbol = self.index.resolve_in(self.module, name)
        return symbol if isinstance(symbol, ClassInfo) else None

    def _instance(self, held: tuple | None, instances: dict[str, dict[str, ClassInfo]]) -> list[ClassInfo]:
        if held is None:
            return []
        if held[0] == "name":
            return list(instances.get(held[1], {}).values())
        if held[0] == "method":
            return self._instance(held[1], instances)
        _, name, first = held
        if self.index.qualified_name_in(self.module, name) in SIGNATURE_KEEPING_WRAPPERS:
            return self._instance(first, instances)
        found = self._class(name)
        return [found] if found is not None else []

    def any_mismatch(self) -> bool:
        if not (self.signatures or self.attribute_signatures):
            return False
        for is_name, name, n_positional, keywords in self.calls:
            sigs = (self.signatures if is_name else self.attribute_signatures).get(name)
            if sigs and any(sig.bind(n_positional, list(keywords)) is not None for sig in sigs):
                return True
        return False


def _bound_names(node: ast.stmt) -> list[str]:
    """The names `_ProjectCandidates` may bind to instances at `node` (an assignment to one name, an
    annotated assignment to a name, a function's annotated parameters)."""
    if isinstance(node, ast.Assign):
        target = node.targets[0] if len(node.targets) == 1 else None
        return [target.id] if isinstance(target, ast.Name) else []
    if isinstance(node, ast.AnnAssign):
        return [node.target.id] if isinstance(node.target, ast.Name) else []
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        a = node.args
        return [arg.arg for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs) if arg.annotation is not None]
    return []
