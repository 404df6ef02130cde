"""Analyse and fix one file: ast first, libcst only to write (or where a codemod truly needs it to decide).

The stages, cheapest first (`ast` parses an order of magnitude faster than libcst, and libcst with scope
metadata is slower again; docs/maintenance.md has the figures):
1. `ast.parse` once, then each codemod's prefilter `may_match` (its text triggers first, then the `ast`
   tree and the project index): a codemod that cannot match is skipped;
2. each remaining codemod's `findings`: an ast rule decides from the `ast` tree and the index (a libcst
   rule may too, when the run has nothing for it to rewrite); a finding without a fix becomes a
   `Finding` right there;
3. fixes a rule gives as text edits as well (MNT003's keyword in the plain layouts, MNT001's deleted
   lines) are rendered as text, and libcst is not loaded at all (`codemods.base.cst` imports it on first
   use);
4. else, fixes of expressions and arguments are rendered from a libcst parse of their own statement;
5. else (a libcst rule's visitor must decide, a fix adds an import or deletes statements): one
   `libcst.parse_module`, metadata for the union of the visitors' needs (positions only when no visitor
   runs), one `visit_batched` pass, the ast findings located as libcst nodes by position, then all fixes in
   one transform plus `AddImportsVisitor` for new imports.
The fixed text is re-analysed until it no longer changes (at most `MAX_ROUNDS`), so the output is a
fixpoint: a second run changes nothing. A fix whose output does not parse is dropped, never written.

Before all of this, a run's index pass may decide stage 1 for a file whose tree it will not keep
(`prefilter_before_index`, before the index exists), and `result_without_tree` finishes it with the index:
a file no rule can match gets its (empty) result without being parsed again.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from maintenance.astutil import cyclic_gc_paused
from maintenance.astutil import parse as _parse_ast
from maintenance.codemods import REGISTRY, Codemod, FileContext, IndexCheck, LibcstRule, Violation
from maintenance.codemods.base import AstFinding, NodeRef, Replacement, cst, first_line, statements
from maintenance.findings import PARSE_ERROR_CODE, FileResult, Finding
from maintenance.index import ModuleInfo, ProjectIndex, single_module_index
from maintenance.source import OTHER_LINE_BREAKS, DecodedSource, decode

LOG = logging.getLogger(__name__)
if TYPE_CHECKING:
    from libcst.metadata import CodePosition, CodeRange

    Positions = Mapping[cst.CSTNode, CodeRange]
MAX_ROUNDS = 3
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


def _noqa_codes(line: str) -> set[str] | None:
    """The codes a `# noqa` comment on this line suppresses ({"*"} for a bare noqa), or `None`."""
    match = _NOQA.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    return {c.upper() for c in re.split(r"[\s,]+", codes) if c} if codes else {"*"}


def is_suppressed(lines: Sequence[str], code: str, first: int, last: int) -> bool:
    """Whether a `# noqa` on the first or last line (1-based) of a finding suppresses `code`."""
    for number in {first, last}:
        if 1 <= number <= len(lines):
            codes = _noqa_codes(lines[number - 1])
            if codes is not None and ("*" in codes or code in codes):
                return True
    return False


def parse_error(path: str, line: int, column: int, message: str) -> Finding:
    """The MNT000 finding of a file that cannot be parsed (it is left untouched)."""
    return Finding(
        path=path,
        line=max(line, 1),
        column=max(column, 1),
        code=PARSE_ERROR_CODE,
        message=f"{message}; the file was left untouched: fix the syntax error and run again",
        fixable=False,
    )


def _applier(fixes: dict[cst.CSTNode, Replacement]) -> cst.CSTTransformer:
    """A transformer that applies every fix of one file in one pass; a fix receives the updated node."""
    return _applier_class()(fixes)


@functools.cache
def _applier_class() -> type:
    class Applier(cst.CSTTransformer):  # defined on first use: libcst loads only when a fix is rendered
        def __init__(self, fixes: dict[cst.CSTNode, Replacement]) -> None:
            super().__init__()
            self.fixes = fixes

        def on_leave(
            self, original_node: cst.CSTNode, updated_node: cst.CSTNode
        ) -> cst.CSTNode | cst.RemovalSentinel:
            fix = self.fixes.get(original_node)
            return fix(updated_node) if fix is not None else updated_node

    return Applier


def _select(codes: Sequence[str] | None) -> list[type[Codemod]]:
    return [c for c in REGISTRY if codes is None or c.CODE in codes]


def analyze_text(
    source: str,
    path: str,
    codes: Sequence[str] | None = None,
    *,
    unsafe_fixes: bool = False,
    index: ProjectIndex | None = None,
    tree: ast.Module | None = None,
    _round: int = 0,
) -> FileResult:
    """Run the selected codemods (`codes`; `None` = all) on `source`; pure, writes nothing.

    `index` is the project index of the run (the file is looked up in it by `path`); without one, or
    when the file is not in it, the text is analysed as a project of one module. `tree` is `source`'s
    `ast` tree when the caller parsed it already (the worker that summarized the file for the index).
    The cyclic garbage collector is paused while the file is analysed (see `cyclic_gc_paused`).
    """
    with cyclic_gc_paused():
        return _analyze_text(source, path, codes, unsafe_fixes, index, tree, _round)


def prefilter_before_index(
    tree: ast.Module, source: str, path: str, module: ModuleInfo
) -> list[IndexCheck] | None:
    """Every rule's prefilter as the index pass decides it (`Codemod.may_match_before_index`), for a file
    summarized as `module`: `None` when some rule may match (the analysis needs the tree), else the checks
    that finish the other prefilters once the run's index exists (`result_without_tree`)."""
    context = FileContext(path=path, source=source, tree=tree, module=module)
    checks: list[IndexCheck] = []
    for codemod in _BEFORE_INDEX_ORDER:
        decided = codemod.may_match_before_index(tree, source, context)
        if decided is True:
            return None
        if decided is not False:
            checks.append(decided)
    return checks


# the prefilters that need no index first: most are a look at the text, and the first that passes ends it
_BEFORE_INDEX_ORDER = tuple(sorted(REGISTRY, key=lambda rule: not rule.PREFILTER_WITHOUT_INDEX))


def result_without_tree(checks: Sequence[IndexCheck], path: str, index: ProjectIndex) -> FileResult | None:
    """The result of a file whose prefilters all failed in the index pass (`prefilter_before_index`) when the
    rest of each fails with the run's `index` too: no rule can match, so the file is not parsed again (the
    same result as `analyze_text`'s, whatever codes are selected); `None` when one may match (analyse it)."""
    module = index.module_for_path(path)
    if module is None or any(check.may_match(index, module) for check in checks):
        return None
    return _finished(FileResult(path=path))


def _analyze_text(
    source: str,
    path: str,
    codes: Sequence[str] | None,
    unsafe_fixes: bool,
    index: ProjectIndex | None,
    tree: ast.Module | None,
    _round: int,
) -> FileResult:
    result = FileResult(path=path)
    try:
        tree = tree if tree is not None else _parse_ast(source)
    except SyntaxError as err:
        return _finished(
            result, [parse_error(path, err.lineno or 1, err.offset or 1, f"SyntaxError: {err.msg}")]
        )
    except ValueError as err:  # source with NUL bytes
        return _finished(result, [parse_error(path, 1, 1, f"cannot parse: {err}")])
    lines = source.splitlines()
    module_info: ModuleInfo | None = index.module_for_path(path) if index is not None else None
    if index is None or module_info is None or _round > 0:
        # a fixed text (round > 0) is re-analysed with its own summary, inside the run's index when there is one
        index, module_info = _local_index(tree, source, path, index, module_info)
    context = FileContext(
        path=path, source=source, unsafe_fixes=unsafe_fixes, tree=tree, index=index, module=module_info
    )
    active, ast_found, result.findings = _ast_phase(tree, source, path, lines, codes, context)
    if not active and not ast_found:
        return _finished(result)
    # fixes the rules give as text insertions are rendered without libcst; other expression and argument
    # fixes are rendered (and applied) from their own statements, without a whole-file parse
    rendered = None
    if not active:
        rendered = _render_by_text(source, lines, path, ast_found, unsafe_fixes) or _render_by_statement(
            tree, source, lines, path, ast_found, unsafe_fixes
        )
    if rendered is not None:
        findings, new_source = rendered
        result.findings += findings
        return _next_round(result, source, new_source, codes, unsafe_fixes, index, _round)
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as err:
        return _finished(
            result,
            [parse_error(path, err.raw_line, err.raw_column + 1, f"libcst cannot parse it: {err.message}")],
        )
    result.libcst_parsed = True
    wrapper = cst.metadata.MetadataWrapper(module, unsafe_skip_copy=True)
    visitors = [codemod.visitor(context) for codemod in active]
    if visitors:
        wrapper.visit_batched(visitors)
    positions = wrapper.resolve(cst.metadata.PositionProvider)
    violations = [violation for visitor in visitors for violation in visitor.violations]
    if ast_found:
        violations += _locate(ast_found, positions, path)

    kept: list[tuple[Violation, bool]] = []
    for violation in violations:
        first, last = _line_span(violation, positions)
        if is_suppressed(lines, violation.code, first, last):
            continue
        applies = bool(violation.fixes) and (unsafe_fixes or not violation.unsafe)
        kept.append((violation, applies))

    fixes: dict[cst.CSTNode, Replacement] = {}
    imports: set[tuple[str, str | None]] = set()
    for violation, applies in kept:
        if applies:
            fixes.update(violation.fixes)
            imports.update(violation.imports)
    new_source = None
    if fixes:
        new_source = _apply(wrapper.module, fixes, imports, path)
    fix_ok = new_source is not None

    for violation, applies in kept:
        result.findings.append(
            _finding(violation, applies and fix_ok, positions, lines, path, wrapper.module)
        )

    return _next_round(result, source, new_source, codes, unsafe_fixes, index, _round)


def _next_round(
    result: FileResult,
    source: str,
    new_source: str | None,
    codes: Sequence[str] | None,
    unsafe_fixes: bool,
    index: ProjectIndex | None,
    _round: int,
) -> FileResult:
    """`result` finished: nothing changed, or the fixed text re-analysed until it no longer changes."""
    if new_source is None or new_source == source:
        return _finished(result)
    result.new_source = new_source
    if _round + 1 >= MAX_ROUNDS:
        LOG.warning(
            "%s: fixes did not reach a fixpoint in %d rounds; keeping the last output",
            result.path,
            MAX_ROUNDS,
        )
        result.remaining = [f for f in result.findings if not f.fixable]
        return result
    again = analyze_text(
        new_source, result.path, codes, unsafe_fixes=unsafe_fixes, index=index, _round=_round + 1
    )
    if again.new_source is not None:
        result.new_source = again.new_source
    result.remaining = again.remaining
    return result


def _ast_phase(
    tree: ast.Module,
    source: str,
    path: str,
    lines: list[str],
    codes: Sequence[str] | None,
    context: FileContext,
) -> tuple[list[type[LibcstRule]], list[tuple[type[Codemod], AstFinding]], list[Finding]]:
    """The prefilters and the `ast`-decided findings of every selected codemod.

    Returns the libcst rules whose visitors must run, the ast findings whose fixes libcst renders,
    and the report-only findings finished here (no libcst needed).
    """
    active: list[type[LibcstRule]] = []
    ast_found: list[tuple[type[Codemod], AstFinding]] = []
    findings: list[Finding] = []
    for codemod in _select(codes):
        if not codemod.may_match(tree, source, context):
            continue
        decided = codemod.findings(tree, source, context)
        if decided is None:  # a libcst rule whose visitor decides
            assert issubclass(codemod, LibcstRule), f"{codemod.CODE}: an ast rule must return its findings"
            active.append(codemod)
            continue
        for item in decided:
            first, last = _ref_span(item)
            if is_suppressed(lines, codemod.CODE, first, last):
                continue
            if item.fixes:  # libcst renders the fix (its `after` text), applied or not
                ast_found.append((codemod, item))
                continue
            before = "\n".join(lines[first - 1 : last])
            node = item.node
            findings.append(
                Finding(path, node.line, node.column + 1, codemod.CODE, item.message, False, before=before)
            )
    return active, ast_found, findings


def _local_index(
    tree: ast.Module, source: str, path: str, index: ProjectIndex | None, previous: ModuleInfo | None
) -> tuple[ProjectIndex, ModuleInfo]:
    """An index that holds this text's own summary: a one-module index, or the run's with this module replaced."""
    if index is None or previous is None:
        local = single_module_index(tree, path, source=source)
        info = local.module_for_path(path)
        assert info is not None
        return local, info
    from maintenance.index import infer_never_returning, summarize

    info = summarize(tree, previous.name, path, is_package=previous.is_package, source=source)
    copy = ProjectIndex()
    copy.modules = {name: (info if m is previous else m) for name, m in index.modules.items()}
    copy.by_path = {**index.by_path, path: info}
    infer_never_returning(tree, info, copy.never_returns)
    return copy, info


def _finished(result: FileResult, findings: list[Finding] | None = None) -> FileResult:
    """`result` with its findings (`findings` when given) all left for the user: nothing was fixed."""
    if findings is not None:
        result.findings = findings
    result.remaining = list(result.findings)
    return result


def _render_by_statement(
    tree: ast.Module,
    source: str,
    lines: list[str],
    path: str,
    found: list[tuple[type[Codemod], AstFinding]],
    unsafe_fixes: bool,
) -> tuple[list[Finding], str | None] | None:
    """The findings of `found` and the fixed text, each rendered by libcst from the innermost statement
    that holds it instead of the whole file; the fixed statements are spliced back into the text.

    The statement's lines are parsed unchanged (under an ``if 1:`` header when indented), so positions,
    `before`, `after` and the fixed text are those of the whole-file rendering
    (`tests/maintenance/test_engine_snippets.py` holds the two to the same output on real code). Only
    expression or argument fixes qualify (they hold no indented block, so the module's inferred
    indentation cannot show) without new imports, in files whose only line break is ``\\n``, and with
    the applied fixes' statements apart. `None` (the caller parses the whole file) when anything does not
    qualify or a snippet does not parse.
    """
    if OTHER_LINE_BREAKS.search(source) or any(
        item.imports or any(ref.kind == "statement" for ref, _ in item.fixes) for _, item in found
    ):
        return None
    spans = [  # (every statement; `min` below picks the innermost, whatever the order)
        (first_line(node), node.end_lineno or node.lineno, node.col_offset) for node in statements(tree)
    ]
    findings: list[Finding] = []
    edits: dict[tuple[int, int], list[str]] = {}  # (first, last line) of a fixed statement -> its new lines
    for codemod, item in found:
        first, last = _ref_span(item)
        holding = [
            (end - start, start, end, col) for start, end, col in spans if start <= first and end >= last
        ]
        if not holding:
            return None
        _, top, bottom, indented = min(holding)
        header = ["if 1:"] if indented else []
        snippet = header + lines[top - 1 : bottom]
        try:
            wrapper = cst.metadata.MetadataWrapper(
                cst.parse_module("\n".join(snippet) + "\n"), unsafe_skip_copy=True
            )
        except cst.ParserSyntaxError:
            return None
        offset = top - 1 - len(header)  # snippet line + offset = file line
        positions = wrapper.resolve(cst.metadata.PositionProvider)
        violations = _locate([(codemod, _shifted(item, -offset))], positions, path, missing_is_bug=False)
        if not violations:
            return None
        (violation,) = violations
        span_first, span_last = _line_span(violation, positions)
        if is_suppressed(snippet, violation.code, span_first, span_last):
            continue
        applies = unsafe_fixes or not item.unsafe
        if applies:
            if (top, bottom) in edits or any(a <= bottom and top <= b for a, b in edits):
                return None  # two fixes in one statement (or nested ones): the whole file renders them
            fixed = wrapper.module.visit(_applier(violation.fixes)).code
            edits[(top, bottom)] = fixed.split("\n")[len(header) : -1]
        finding = _finding(violation, applies, positions, snippet, path, wrapper.module)
        findings.append(dataclasses.replace(finding, line=finding.line + offset))
    if not edits:
        return findings, None
    text = source.split("\n")
    for (top, bottom), new_lines in sorted(edits.items(), reverse=True):
        text[top - 1 : bottom] = new_lines
    new_source = "\n".join(text)
    try:
        _parse_ast(new_source)
    except (SyntaxError, ValueError):
        return None  # the whole-file rendering decides (and logs it)
    return findings, new_source


def _render_by_text(
    source: str,
    lines: list[str],
    path: str,
    found: list[tuple[type[Codemod], AstFinding]],
    unsafe_fixes: bool,
) -> tuple[list[Finding], str | None] | None:
    """The findings of `found` and the fixed text when every fix comes as text insertions or deleted lines
    (libcst is not needed, nor loaded); the same output as the libcst renderings
    (`tests/maintenance/test_engine_snippets.py` holds them equal). `None` when a fix comes as neither, in
    files with other line breaks than ``\n``, or when two fixed spans overlap."""
    if "\r" in source or OTHER_LINE_BREAKS.search(source):
        return None
    file_lines = source.split("\n")
    last_line = len(file_lines) - 1  # deleting the last line would leave the newline before it: libcst's case
    if any(
        (item.insertions is None and item.deleted_lines is None)
        or item.imports
        or (item.deleted_lines is not None and item.deleted_lines[1] > last_line)
        for _, item in found
    ):
        return None
    findings: list[Finding] = []
    inserted: list[tuple[int, int, str]] = []
    deleted: list[tuple[int, int]] = []
    spans: list[tuple[int, int]] = []
    for codemod, item in found:
        first, last = _ref_span(item)
        if is_suppressed(lines, codemod.CODE, first, last):
            continue
        low, high = item.deleted_lines or (first, last)
        low, high = min(low, first), max(high, last)
        if any(a <= high and low <= b for a, b in spans):
            return None  # two fixes in one span: the statement or whole-file rendering decides
        spans.append((low, high))
        insertions = item.insertions or ()
        applies = unsafe_fixes or not item.unsafe
        if applies:
            inserted += insertions
            if item.deleted_lines is not None:
                deleted.append(item.deleted_lines)
        before = lines[first - 1 : last]
        if item.deleted_lines is not None:
            after: list[str] = []
        else:
            after = _inserted(before, [(line - first + 1, column, text) for line, column, text in insertions])
        node = item.node
        findings.append(
            Finding(
                path,
                node.line,
                node.column + 1,
                codemod.CODE,
                item.message,
                applies,
                before="\n".join(before),
                after="\n".join(after),
            )
        )
    if not inserted and not deleted:
        return findings, None
    file_lines = _inserted(file_lines, inserted)
    for low, high in sorted(deleted, reverse=True):
        del file_lines[low - 1 : high]
    new_source = "\n".join(file_lines)
    try:
        _parse_ast(new_source)
    except (SyntaxError, ValueError):
        return None  # the whole-file rendering decides (and logs it)
    return findings, new_source


def _inserted(lines: list[str], insertions: list[tuple[int, int, str]]) -> list[str]:
    """`lines` with each (1-based line, character column, text) inserted, the latest position first."""
    out = list(lines)
    for line, column, text in sorted(insertions, reverse=True):
        out[line - 1] = out[line - 1][:column] + text + out[line - 1][column:]
    return out


def _shifted(item: AstFinding, offset: int) -> AstFinding:
    """`item` with every line moved by `offset` (to address a snippet of the file)."""

    def move(ref: NodeRef) -> NodeRef:
        return dataclasses.replace(ref, line=ref.line + offset, end_line=ref.end_line + offset)

    return dataclasses.replace(
        item, node=move(item.node), fixes=tuple((move(ref), fix) for ref, fix in item.fixes)
    )


def _ref_span(item: AstFinding) -> tuple[int, int]:
    """First and last line of an ast finding and its fixes."""
    refs = [item.node, *(ref for ref, _ in item.fixes)]
    return min(r.line for r in refs), max(r.end_line for r in refs)


def _locate(
    found: list[tuple[type[Codemod], AstFinding]],
    positions: Positions,
    path: str,
    *,
    missing_is_bug: bool = True,
) -> list[Violation]:
    """The libcst nodes of ast-decided findings, by position; a finding whose node is not found is dropped
    (and logged as a bug when `missing_is_bug`)."""
    starting: dict[int, cst.CSTNode] = {}
    expressions: dict[tuple[int, int], list[cst.CSTNode]] = {}
    arguments: dict[tuple[int, int], list[cst.CSTNode]] = {}
    for node, span in positions.items():
        if isinstance(node, cst.SimpleStatementLine | cst.BaseCompoundStatement):
            starting.setdefault(_start(node, positions).line, node)  # a decorated one: as `NodeRef` does
        elif isinstance(node, cst.BaseExpression):
            expressions.setdefault((span.start.line, span.start.column), []).append(node)
        elif isinstance(node, cst.Arg):
            arguments.setdefault((span.start.line, span.start.column), []).append(node)

    def find(ref: NodeRef) -> cst.CSTNode | None:
        if ref.kind == "statement":
            return starting.get(ref.line)
        candidates = (arguments if ref.kind == "argument" else expressions).get((ref.line, ref.column), [])
        exact = [
            n
            for n in candidates
            if (positions[n].end.line, positions[n].end.column) == (ref.end_line, ref.end_column)
        ]
        if len(exact) >= 1:
            return exact[0]
        return candidates[0] if len(candidates) == 1 else None

    out: list[Violation] = []
    for codemod, item in found:
        node = find(item.node)
        fixes = {}
        for ref, replacement in item.fixes:
            target = find(ref)
            if target is None:
                node = None
                break
            fixes[target] = replacement
        if node is None:
            if not missing_is_bug:
                continue
            LOG.error(
                "%s: %s: no libcst node at line %d; finding dropped (a bug)",
                path,
                codemod.CODE,
                item.node.line,
            )
            continue
        out.append(Violation(codemod.CODE, node, item.message, fixes, item.unsafe, item.imports))
    return out


def _apply(
    module: cst.Module, fixes: dict[cst.CSTNode, Replacement], imports: set[tuple[str, str | None]], path: str
) -> str | None:
    """The module with all fixes applied, or `None` when the result would not parse (a bug: logged)."""
    new_module = module.visit(_applier(fixes))
    if imports:
        # imported here: `libcst.codemod` loads `libcst.matchers`, 0.15-0.25 s of every worker's start-up
        from libcst.codemod import CodemodContext
        from libcst.codemod.visitors import AddImportsVisitor

        context = CodemodContext()
        for module_name, obj in sorted(imports, key=lambda item: (item[0], item[1] or "")):
            AddImportsVisitor.add_needed_import(context, module_name, obj)
        new_module = AddImportsVisitor(context).transform_module(new_module)
    new_source = new_module.code
    try:
        _parse_ast(new_source)
    except (SyntaxError, ValueError) as err:
        LOG.error(
            "%s: the fixes produced code that does not parse (%s); no fix is applied to this file", path, err
        )
        return None
    return new_source


def _finding(
    violation: Violation,
    applies: bool,
    positions: Positions,
    lines: list[str],
    path: str,
    module: cst.Module,
) -> Finding:
    start = _start(violation.node, positions)
    first, last = _line_span(violation, positions)
    before = "\n".join(lines[first - 1 : last])
    after = None
    if violation.fixes:
        after = _after_text(violation, positions, lines, module, first, last)
    return Finding(
        path=path,
        line=start.line,
        column=start.column + 1,
        code=violation.code,
        message=violation.message,
        fixable=applies,
        before=before,
        after=after,
    )


def _line_span(violation: Violation, positions: Positions) -> tuple[int, int]:
    """First and last line (1-based) that a violation and its fix touch."""
    first = last = _start(violation.node, positions).line
    for node in [violation.node, *violation.fixes]:
        span = positions[node]
        end = span.end.line - 1 if span.end.column == 0 and span.end.line > span.start.line else span.end.line
        first, last = min(first, _start(node, positions).line), max(last, end)
    return first, last


def _start(node: cst.CSTNode, positions: Positions) -> CodePosition:
    """Where a node starts as `ast` and the reader see it: a decorated definition at its first decorator
    (libcst's span starts at `def`/`class`)."""
    if isinstance(node, cst.FunctionDef | cst.ClassDef) and node.decorators:
        return positions[node.decorators[0]].start
    return positions[node].start


def _after_text(
    violation: Violation, positions: Positions, lines: list[str], module: cst.Module, first: int, last: int
) -> str:
    """The lines `first..last` as the fix of this violation alone rewrites them."""
    if len(violation.fixes) != 1:
        return ""  # a multi-node fix here is always a deletion of lines
    ((node, fix),) = violation.fixes.items()
    new = fix(node)
    if isinstance(new, cst.RemovalSentinel):
        return ""
    if isinstance(node, cst.BaseStatement):
        code = module.code_for_node(new)
        indent = re.match(r"[ \t]*", lines[first - 1]).group(0)  # type: ignore[union-attr]
        return "\n".join(indent + line if line else line for line in code.strip("\n").splitlines())
    # an expression or argument: its span leaves out its own parentheses, and libcst renders a node alone
    # without the indentation of its block on continuation lines; both are put back, and checked on the
    # node before the fix (else the fix alone is applied to the whole module and its lines are read)
    span = positions[node]
    original = "\n".join(lines[span.start.line - 1 : span.end.line])
    original = original[span.start.column : len(original) - len(lines[span.end.line - 1]) + span.end.column]
    old_code, new_code = module.code_for_node(_bare(node)), module.code_for_node(_bare(new))
    indent = _continuation_indent(original, old_code)
    if indent is not None and old_code.replace("\n", "\n" + indent) == original:
        head = lines[span.start.line - 1][: span.start.column]
        tail = lines[span.end.line - 1][span.end.column :]
        return head + new_code.replace("\n", "\n" + indent) + tail
    fixed = module.visit(_applier({node: fix})).code.split("\n")
    return "\n".join(fixed[first - 1 : last + len(fixed) - len(module.code.split("\n"))])


def _bare(node: cst.CSTNode) -> cst.CSTNode:
    """`node` without its own parentheses (which its position span leaves out)."""
    if getattr(node, "lpar", None) or getattr(node, "rpar", None):
        return node.with_changes(lpar=[], rpar=[])
    return node


def _continuation_indent(original: str, rendered: str) -> str | None:
    """The block indentation libcst leaves off the continuation lines of a node rendered alone: what
    `original` (the node's text in the file) has before them; "" for a one-line node; `None` when the
    lines do not differ by one prefix."""
    pairs = list(zip(original.split("\n")[1:], rendered.split("\n")[1:], strict=False))
    for line, bare in pairs:
        if bare.strip() and line.endswith(bare):
            return line[: len(line) - len(bare)]
    return "" if not pairs else None


def analyze_file(
    path: Path,
    display: str,
    codes: Sequence[str] | None,
    unsafe_fixes: bool,
    index: ProjectIndex | None = None,
) -> tuple[FileResult, DecodedSource | None]:
    """Read and analyse one file (with the run's `index`); a file that cannot be read or decoded is MNT000."""
    try:
        data = path.read_bytes()
    except OSError as err:
        return _finished(FileResult(path=display), [parse_error(display, 1, 1, f"cannot read: {err}")]), None
    try:
        decoded = decode(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as err:
        return _finished(
            FileResult(path=display), [parse_error(display, 1, 1, f"cannot decode: {err}")]
        ), None
    return analyze_text(decoded.text, display, codes, unsafe_fixes=unsafe_fixes, index=index), decoded
