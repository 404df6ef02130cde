"""The two kinds of rule every codemod is: an `ast` rule, or a libcst rule (a visitor that writes).

Every rule carries its code, its user-facing documentation (the class docstring, `--list`), its own
VALID / INVALID examples (one parametrized test runs them) and one cheap prefilter, `may_match(tree,
source, context)`: the base checks that the raw text holds one of `TRIGGERS`, and a rule narrows it on
the `ast` tree and the project index (`FileContext.index`), starting from `super().may_match(...)`.

- **`AstRule`** (preferred): `findings(tree, source, context)` returns `AstFinding`s decided on the `ast`
  tree and the index, each located by a `NodeRef` (line and character columns) and carrying its fixes as
  libcst replacements. The engine parses the file with libcst only when one of them will be written,
  resolves positions only (cheap), finds the nodes and applies the replacements. MNT001, MNT002, MNT003,
  MNT004, MNT006 and MNT008 are ast rules (MNT002 asks `maintenance.scopes` for the qualified names).
- **`LibcstRule`**: a `libcst.BatchableCSTVisitor` (`visitor(context)`) that calls `report()` for each
  problem it sees, with the metadata it names in `METADATA` (scope analysis is the expensive one); each
  report is a `Violation`. The engine runs every such rule over one parsed module with `visit_batched`. MNT005 and
  MNT007 are libcst rules. A libcst rule may also answer `findings` with report-only `AstFinding`s when
  the run has nothing for it to rewrite (MNT005 without `--unsafe-fixes`); by default it answers `None`
  and the visitor decides.
Either way a report may carry a fix (a function from the updated node to its replacement, or
`RemoveFromParent`); the engine applies all fixes of a file in one transform and turns every finding into
a `maintenance.findings.Finding`.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from maintenance.astutil import (
    dotted as dotted_name,  # `a.b.c` of a Name/Attribute chain (the ast prefilters)
)
from maintenance.astutil import first_line as first_line  # (re-exported: the rules import it from here)
from maintenance.astutil import per_tree

if TYPE_CHECKING:
    import libcst as cst

    from maintenance.index import ModuleInfo, ProjectIndex

    Replacement = Callable[[cst.CSTNode], cst.CSTNode | cst.RemovalSentinel]
else:
    Replacement = Callable[[Any], Any]


def _lazy_module(name: str) -> Any:
    """`name` imported on first attribute access (`importlib.util.LazyLoader`); the module itself when
    something imported it already."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, f"{name} is not installed"
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


if not TYPE_CHECKING:
    # libcst (0.1-0.15 s to import: its 230 node dataclasses) loads when a fix is rendered or a libcst
    # rule's visitor runs, not when the rules are imported: a worker with nothing to render never loads it
    cst = _lazy_module("libcst")
FixSafety = Literal["safe", "unsafe", "none"]


@dataclass(frozen=True)
class Invalid:
    """An example the codemod must flag; `expected` is the source after the fix (`None`: report only)."""

    code: str
    expected: str | None = None
    unsafe_fixes: bool = False


@dataclass
class Violation:
    """One report of a libcst rule (or a located `AstFinding`), still tied to its libcst node."""

    code: str
    node: cst.CSTNode
    message: str
    fixes: dict[cst.CSTNode, Replacement] = field(default_factory=dict)
    unsafe: bool = False
    imports: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class NodeRef:
    """Where an `ast`-decided finding or fix sits, for the engine to find the libcst node to rewrite.

    `kind="statement"`: the statement that starts on `line` (a decorated definition starts at its first
    decorator); `kind="expression"`: the expression spanning (`line`, `column`)-(`end_line`,
    `end_column`), 1-based lines and 0-based *character* columns (not `ast`'s UTF-8 byte offsets: use
    `NodeRef.of`); `kind="argument"`: the keyword argument (`name=value`, libcst's `Arg`) with that span.
    """

    kind: Literal["statement", "expression", "argument"]
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def of(cls, node: ast.stmt | ast.expr | ast.keyword, lines: list[str]) -> NodeRef:
        """The reference of an `ast` statement, expression or keyword argument (`lines`: the source's lines)."""
        line, column = node.lineno, node.col_offset
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.decorator_list:
            line, column = node.decorator_list[0].lineno, node.decorator_list[0].col_offset - 1
        end_line, end_column = node.end_lineno or line, node.end_col_offset or 0
        kind: Literal["statement", "expression", "argument"] = "expression"
        if isinstance(node, ast.stmt):
            kind = "statement"
        elif isinstance(node, ast.keyword):
            kind = "argument"
        return cls(kind, line, _chars(lines, line, column), end_line, _chars(lines, end_line, end_column))


def _chars(lines: list[str], line: int, byte_offset: int) -> int:
    """`ast`'s UTF-8 byte column on `line` as a character column."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    if text.isascii():
        return byte_offset
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


@dataclass(frozen=True)
class AstFinding:
    """A finding decided on the `ast` tree (see `Codemod.findings`); its fixes are libcst replacements.

    `node` is where it is reported; `fixes` pair the nodes to rewrite with their replacement. Only when a
    fix of the file will be applied (or a finding needs libcst's rendering of it) does the engine parse
    the file with libcst, with positions only, and turn each `AstFinding` into a `Violation`.
    """

    node: NodeRef
    message: str
    fixes: tuple[tuple[NodeRef, Replacement], ...] = ()
    unsafe: bool = False
    imports: tuple[tuple[str, str | None], ...] = ()
    # the same fix as text insertions (line, character column, text), where the rule can say that libcst
    # would render exactly that: the engine then renders it without libcst
    insertions: tuple[tuple[int, int, str], ...] | None = None
    # or as deleting whole lines (first, last; 1-based), where libcst deletes exactly those lines
    deleted_lines: tuple[int, int] | None = None


class IndexCheck(Protocol):
    """The rest of a prefilter that needs the run's index, kept by the index pass instead of the tree."""

    def may_match(self, index: ProjectIndex, module: ModuleInfo) -> bool:
        """Whether the rule may match the file, with the run's `index` and the file's `module` in it."""
        ...


@dataclass
class FileContext:
    """What a codemod may know about the file it visits.

    `index` is the project index of the run (`maintenance.index.ProjectIndex`) and `module` the summary of
    this file in it (`ModuleInfo`: its name, classes, functions, imports); the engine always sets both
    (for a text analysed alone, a one-module index). Resolve a name written in this file with
    `context.index.resolve(context.module.name, "Name")`.
    """

    path: str
    source: str
    unsafe_fixes: bool = False
    tree: ast.Module | None = None
    options: dict[str, object] = field(default_factory=dict)
    index: ProjectIndex | None = None
    module: ModuleInfo | None = None


class Codemod:
    """What every rule has: its code, documentation, examples and cheap prefilter. Rules subclass
    `AstRule` or `LibcstRule`, never this class directly.

    The docstring of a subclass is its user-facing documentation (`--list`) with the headings
    What it does / Why is this bad? / Example / Use instead / Fix safety.
    """

    CODE: ClassVar[str]
    NAME: ClassVar[str]
    FIX_TITLE: ClassVar[str] = ""
    FIX_SAFETY: ClassVar[FixSafety] = "none"
    # the raw text must contain at least one of these for `may_match` (empty: any text)
    TRIGGERS: ClassVar[tuple[str, ...]] = ()
    INVALID: ClassVar[tuple[Invalid, ...]] = ()
    VALID: ClassVar[tuple[str, ...]] = ()
    # `may_match` reads the tree and the text only (not `context.index` or `context.module`): the index
    # pass can decide it (`may_match_before_index`)
    PREFILTER_WITHOUT_INDEX: ClassVar[bool] = False

    @classmethod
    def may_match(cls, tree: ast.Module, source: str, context: FileContext) -> bool:
        """The cheap prefilter: can this file hold a finding at all? (a superset of what the rule reports)

        Here: the raw text holds one of `TRIGGERS`. A rule narrows it on the `ast` tree and the project
        index (`context.index`), starting with `super().may_match(tree, source, context)`.
        """
        return not cls.TRIGGERS or any(trigger in source for trigger in cls.TRIGGERS)

    @classmethod
    def may_match_before_index(cls, tree: ast.Module, source: str, context: FileContext) -> bool | IndexCheck:
        """The prefilter as the index pass decides it, before the run's index exists (`context.index` is
        `None`; `context.module` is this file's own summary, its never-returning functions inferred locally).

        `False`: the rule cannot match the file whatever the index holds; `True`: it may (the file keeps its
        tree for the analysis); an `IndexCheck`: what the rest of the prefilter needs (small next to the
        tree), finished once the index exists. A file for which every rule answers `False` or a check that
        fails is not parsed again. Here: `may_match` when it reads no index (`PREFILTER_WITHOUT_INDEX`),
        else `True`.
        """
        if cls.PREFILTER_WITHOUT_INDEX:
            return cls.may_match(tree, source, context)
        return True

    @classmethod
    def findings(cls, tree: ast.Module, source: str, context: FileContext) -> list[AstFinding] | None:
        """The findings decided from the `ast` tree and the index alone; `None`: the libcst visitor decides."""
        return None

    @classmethod
    def documentation(cls) -> str:
        """The rule's documentation: its docstring, dedented."""
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")


class AstRule(Codemod):
    """A rule decided on `ast` and the project index: `may_match`, then `findings`; libcst only writes.

    It is never run as a libcst visitor.
    """

    @classmethod
    def findings(cls, tree: ast.Module, source: str, context: FileContext) -> list[AstFinding]:
        """Every finding in the file, each with its fixes as libcst replacements (a subclass implements it)."""
        raise NotImplementedError(f"{cls.__name__} must implement findings()")


class LibcstRule(Codemod):
    """A rule decided by a libcst visitor over the metadata it declares; its `visit_*` methods `report()`.

    `findings` answers `None` (the visitor decides) unless the rule overrides it to report from `ast`
    alone when this run has nothing for it to rewrite. `METADATA` names the `libcst.metadata` providers
    the visitor reads; `visitor(context)` makes the visitor (the rule mixed with
    `libcst.BatchableCSTVisitor`, so that importing a rule does not import libcst).
    """

    METADATA: ClassVar[tuple[str, ...]] = ("PositionProvider",)

    @classmethod
    def visitor(cls, context: FileContext) -> Any:
        """An instance of this rule as a libcst visitor for one file."""
        return _visitor_class(cls)(context)

    def __init__(self, context: FileContext) -> None:
        super().__init__()
        self.context = context
        self.violations: list[Violation] = []

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        replacement: Replacement | None = None,
        fixes: dict[cst.CSTNode, Replacement] | None = None,
        unsafe: bool = False,
        imports: tuple[tuple[str, str | None], ...] = (),
    ) -> None:
        """Record one finding at `node`.

        The fix is `replacement` (applied to `node` itself) and/or `fixes` (node -> replacement, for a fix
        that touches several nodes, such as deleting a run of dead statements); no fix means report only.
        """
        all_fixes = dict(fixes or {})
        if replacement is not None:
            all_fixes[node] = replacement
        self.violations.append(Violation(self.CODE, node, message, all_fixes, unsafe, imports))


@functools.cache
def _visitor_class(rule: type[LibcstRule]) -> type:
    """`rule` mixed with `libcst.BatchableCSTVisitor`, with its metadata providers (made once per rule)."""
    dependencies = tuple(getattr(cst.metadata, name) for name in rule.METADATA)
    return type(rule.__name__, (rule, cst.BatchableCSTVisitor), {"METADATA_DEPENDENCIES": dependencies})


def import_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> qualified name for every import in the module (any depth), for the prefilters.

    A new dict each call (callers extend it); computed once per tree.
    """
    return dict(per_tree(tree, "aliases", _import_aliases))


def _import_aliases(tree: ast.Module) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for node in statements(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def statements(tree: ast.Module) -> list[ast.stmt]:
    """Every statement of the module at any depth (cheaper than `ast.walk`: expressions are skipped).

    A new list each call; computed once per tree.
    """
    return list(per_tree(tree, "statements", _statements))


def _statements(tree: ast.Module) -> list[ast.stmt]:
    return [stmt for _owner, block in iter_blocks(tree) for stmt in block]


def iter_blocks(tree: ast.Module) -> Iterator[tuple[ast.AST, list[ast.stmt]]]:
    """(owner, statement list) for every statement list of the module, descending through statements only."""
    stack: list[tuple[ast.AST, list[ast.stmt]]] = [(tree, tree.body)]
    while stack:
        owner, block = stack.pop()
        yield owner, block
        for stmt in block:
            for attr in ("body", "orelse", "finalbody"):
                child = getattr(stmt, attr, None)
                if isinstance(child, list) and child and isinstance(child[0], ast.stmt):
                    stack.append((stmt if attr == "body" else ast.Pass(), child))
            for sub_node in getattr(stmt, "handlers", ()) or getattr(stmt, "cases", ()):
                stack.append((sub_node, sub_node.body))


def resolve_dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The qualified name of an `ast` Name/Attribute chain after import aliases (prefilter helper)."""
    name = dotted_name(node)
    if name is None:
        return None
    head, _, rest = name.partition(".")
    if head in aliases:
        return aliases[head] + ("." + rest if rest else "")
    return name
