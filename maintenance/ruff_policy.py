"""The ruff fix policy, in one place: which of ruff's fixes `--apply` may make (a shipped allow-list), the
F401 imports that are never removed, and the `FixPolicy` of a run built from both (`build_policy`).

ruff decides what a fix *is*; this module decides whether we let it happen. `--apply` passes ruff
`--fixable <allow-list>`, so a rule off the list is reported but never fixed, whatever ruff calls its fix
(and `--unsafe-fixes` only widens ruff's applicability for rules on the list). The list is replaced by
`[tool.maintenance] ruff-fixable = [...]` and extended by `extend-ruff-fixable = [...]`.

F401 (unused import) is on the list, but an import is kept, and its finding reported as not fixable,
when removing it could change what the program does:

- inside `try`, `if` or `with` (an availability probe: `try: import readline` sets a flag in `except`);
- in an `__init__.py` (a package's imports are its public namespace);
- re-exported with `as` under its own name (`from functools import total_ordering as total_ordering`);
- listed in the module's `__all__`.

ruff has no per-import switch, so a file holding such an import is fixed with `--unfixable F401` added:
its other F401 findings stay reported too (never a hand edit of an import).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maintenance.astutil import parse
from maintenance.source import decode, resolved

if TYPE_CHECKING:
    from maintenance.config import Config

# rule -> why its fix keeps behaviour; shown by `--list` and documented in docs/maintenance.md
RUFF_FIX_ALLOWLIST: dict[str, str] = {
    "F401": (
        "removes an import no code in the module uses; probes, package re-exports and __all__ names are kept "
        "(another module reading `mod.os` loses it: --verify catches that)"
    ),
    "F541": "f'text' without placeholders and 'text' are the same str object value",
    "E401": "`import a, b` and two import lines bind the same names in the same order",
    "E703": "a trailing `;` ends a statement that the newline ends anyway",
    "W291": "trailing whitespace outside strings is not part of any token (ruff marks in-string cases unsafe)",
    "W293": "whitespace on a blank line outside strings is not part of any token",
    "W605": "'\\d' and r'\\d' are the same string (an invalid escape keeps its backslash)",
    "UP004": "`class A(object)` and `class A` have the same bases and MRO on Python 3",
    "UP009": "a utf-8 coding cookie repeats Python 3's default source encoding",
    "UP010": "a `__future__` import of a feature that is mandatory on the target Python is a no-op",
    "UP025": "u'text' and 'text' are the same str on Python 3",
    "UP034": "parentheses around a single expression do not change its value",
    "UP039": "`class A():` and `class A:` are the same class statement",
    "PIE790": "`pass` next to another statement in the same body does nothing",
    "RUF100": (
        "a `# noqa` code that suppresses nothing is a comment; codes ruff does not enable for the file (another "
        "linter's) and the configured lint.external stay"
    ),
}
GUARDED_F401 = "F401"
UNUSED_NOQA = "RUF100"
# a suppression comment (a hash, then `noqa: A1, B2`, also after `ruff:` or `flake8:`), and RUF100's message parts
_NOQA = re.compile(
    r"#\s*(?:(?:ruff|flake8)\s*:\s*)?noqa\s*:\s*([A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)", re.IGNORECASE
)
_RUF100_PART = re.compile(r"(unused|non-enabled|unknown|duplicated): ((?:`[^`]+`(?:, )?)+)")


@dataclass(frozen=True)
class FixPolicy:
    """What `ruff --fix` may change: the allow-listed rules, the files whose F401 imports must stay, and the
    `# noqa` codes of other linters that RUF100 must leave alone."""

    fixable: tuple[str, ...]  # rule selectors for `--fixable`; empty: ruff fixes nothing
    unsafe_fixes: bool = False
    keep_f401: frozenset[str] = frozenset()  # absolute file names fixed with `--unfixable F401`
    kept: Mapping[tuple[str, int], str] = field(default_factory=dict)  # (file, row) -> why F401 stays
    # absolute file -> the codes passed as ruff's `lint.external` for it, so RUF100 keeps them
    noqa_external: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # (file, row) -> (why a RUF100 fix keeps codes there, whether anything is left for it to remove)
    noqa_kept: Mapping[tuple[str, int], tuple[str, bool]] = field(default_factory=dict)

    def allows(self, code: str, filename: str, row: int) -> bool:
        """Whether this policy lets ruff fix a `code` finding at `row` of `filename`."""
        if not any(sel == "ALL" or code.upper().startswith(sel) for sel in self.fixable):
            return False
        if code == UNUSED_NOQA and (filename, row) in self.noqa_kept:
            return self.noqa_kept[(filename, row)][1]
        return not (code == GUARDED_F401 and filename in self.keep_f401)

    def groups(self, files: Sequence[str]) -> list[tuple[list[str], list[str]]]:
        """(files, extra ruff options) runs that apply this policy to `files`; none when nothing is fixable.

        Files that hold a kept F401 import run with `--unfixable F401`; files whose `# noqa` comments name
        codes of other linters run with those codes as `lint.external` (ruff's own setting for them).
        """
        if not self.fixable:
            return []
        base = ["--force-exclude", "--fixable", ",".join(self.fixable)]
        by_options: dict[tuple[bool, tuple[str, ...]], list[str]] = {}
        for f in files:
            by_options.setdefault((f in self.keep_f401, self.noqa_external.get(f, ())), []).append(f)
        runs = []
        for (keep, external), group in sorted(by_options.items()):
            options = [*base, "--unfixable", GUARDED_F401] if keep else list(base)
            if external:
                options += ["--config", f"lint.external = {json.dumps(list(external))}"]
            runs.append((group, options))
        return runs


@dataclass(frozen=True)
class KeptImport:
    """An F401 finding whose import is never removed, and why."""

    line: int
    reason: str


def fixable_selectors(allowlist: Iterable[str], selected: Sequence[str], ignored: Sequence[str]) -> list[str]:
    """The allow-listed rules that the selection can report: `--fixable` for ruff.

    Both lists hold prefixes: an entry `F401` and a selector `F` give `F401`; an entry `UP` and a
    selector `UP004` give `UP004`; `ruff`/`ALL` select every entry. Ignored prefixes drop entries.
    """
    wanted = [s.strip().upper() for s in selected if s.strip() and not s.strip().upper().startswith("MNT")]
    out: list[str] = []
    for entry in allowlist:
        entry_u = entry.strip().upper()
        for sel in wanted:
            if sel in {"RUFF", "ALL"} or entry_u.startswith(sel):
                hit = entry_u
            elif sel.startswith(entry_u):
                hit = sel
            else:
                continue
            if not any(hit.startswith(i.strip().upper()) for i in ignored if i.strip()) and hit not in out:
                out.append(hit)
    return out


def kept_imports(path: Path, source: str, rows: Iterable[int]) -> dict[int, str]:
    """For the F401 findings at `rows` of one file: row -> why the import must stay (rows not listed may go)."""
    rows = set(rows)
    if not rows:
        return {}
    if path.name == "__init__.py":
        return dict.fromkeys(rows, "in an __init__.py, where imports are the package's public names")
    try:
        tree = parse(source)
    except (SyntaxError, ValueError):
        return dict.fromkeys(rows, "the file does not parse")
    exported = _dunder_all(tree)
    kept: dict[int, str] = {}
    for node, guard in _imports_with_guard(tree, None):
        lines = range(node.lineno, (node.end_lineno or node.lineno) + 1)
        hit = [r for r in lines if r in rows]
        if not hit:
            continue
        reason = None
        if guard is not None:
            reason = f"inside `{guard}`, where an import is an availability probe"
        else:
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                if alias.asname is not None and alias.asname == alias.name.rsplit(".", 1)[-1]:
                    reason = f"`{alias.name} as {alias.asname}` is an explicit re-export"
                elif bound in exported:
                    reason = f"`{bound}` is listed in __all__"
        if reason is not None:
            for row in hit:
                kept[row] = reason
    return kept


def _imports_with_guard(
    node: ast.AST, guard: str | None
) -> Iterable[tuple[ast.Import | ast.ImportFrom, str | None]]:
    """Every import statement with the innermost try/if/with around it (`None` at plain module level)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, guard
            continue
        inner = guard
        if isinstance(child, ast.Try | ast.TryStar):
            inner = "try"
        elif isinstance(child, ast.If):
            inner = "if"
        elif isinstance(child, ast.With | ast.AsyncWith):
            inner = "with"
        yield from _imports_with_guard(child, inner)


def _dunder_all(tree: ast.Module) -> set[str]:
    """The string names assigned or added to a module-level `__all__`."""
    names: set[str] = set()
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if isinstance(node.func.value, ast.Name) and node.func.value.id == "__all__":
                for arg in node.args:
                    names.update(_strings(arg))
            continue
        if value is not None and any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            names.update(_strings(value))
    return names


def _strings(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    if isinstance(node, ast.BinOp):
        return _strings(node.left) | _strings(node.right)
    return set()


def describe(allowlist: dict[str, str] | None = None) -> str:
    """The policy as text, for `--list`."""
    entries = RUFF_FIX_ALLOWLIST if allowlist is None else allowlist
    lines = [
        "# ruff fix policy",
        "",
        "`--apply` applies ruff's fixes only for these rules ([tool.maintenance] ruff-fixable replaces the",
        "list, extend-ruff-fixable adds to it); every other ruff finding is reported and left alone.",
        "F401 never removes an import inside try/if/with, in an __init__.py, re-exported with `as` under its",
        "own name or listed in __all__: those are reported.",
        "",
    ]
    width = max((len(code) for code in entries), default=4)
    for code, why in entries.items():
        lines.append(f"  {code:<{width}}  {why or '(configured in pyproject.toml)'}")
    return "\n".join(lines) + "\n"


def build_policy(
    config: Config, diagnostics: Sequence[dict[str, Any]], sources: dict[str, bytes], unsafe_fixes: bool
) -> FixPolicy:
    """The ruff fix policy of this run: allow-listed rules the selection reports, and the F401 imports to keep."""
    rows: dict[str, list[int]] = {}
    for diag in diagnostics:
        if diag.get("code") == GUARDED_F401:
            filename = str(resolved(Path(diag.get("filename", ""))))
            rows.setdefault(filename, []).append(diag["location"]["row"])
    kept: dict[tuple[str, int], str] = {}
    for filename, file_rows in rows.items():
        text = _source_text(sources, filename)
        if text is None:
            continue
        for row, why in kept_imports(Path(filename), text, file_rows).items():
            kept[(filename, row)] = why
    fixable = fixable_selectors(config.ruff_fixable, config.select, config.ignore)
    external, noqa_kept = other_linters_noqa(diagnostics, sources)
    return FixPolicy(
        fixable=tuple(fixable),
        unsafe_fixes=unsafe_fixes,
        keep_f401=frozenset(filename for filename, _ in kept),
        kept=kept,
        noqa_external=external,
        noqa_kept=noqa_kept,
    )


def other_linters_noqa(
    diagnostics: Sequence[dict[str, Any]], sources: dict[str, bytes]
) -> tuple[dict[str, tuple[str, ...]], dict[tuple[str, int], tuple[str, bool]]]:
    """The `# noqa` codes RUF100 must keep: codes ruff knows but does not enable for the file.

    ruff's RUF100 already leaves codes it does not know (and the configured `lint.external`) alone, but it
    removes a code it knows and does not enable (`non-enabled`), such as a pep8-naming `N802` or a pylint
    `PLR0913` that flake8 or pylint checks. For a file with such a code, every code its `# noqa` comments
    name, less the ones RUF100 calls unused (enabled, suppressing nothing), becomes the file's
    `lint.external` for the fix: the configured external codes stay (they are in the comments too), and
    RUF100 removes only unused codes. Returns (file -> external codes, (file, row) -> (why, whether the
    row still has an unused code to remove)).
    """
    names: dict[str, str] = {}  # ruff's file name -> resolved (once per file, not per diagnostic)
    rows_of: dict[str, dict[int, dict[str, list[str]]]] = {}  # file -> row -> RUF100's parts
    for diag in diagnostics:
        if diag.get("code") != UNUSED_NOQA:
            continue
        raw = diag.get("filename", "")
        if raw not in names:
            names[raw] = str(resolved(Path(raw)))
        parts = {
            kind: re.findall(r"`([^`]+)`", codes)
            for kind, codes in _RUF100_PART.findall(diag.get("message", ""))
        }
        rows_of.setdefault(names[raw], {})[diag["location"]["row"]] = parts
    files = sorted(
        f for f, rows in rows_of.items() if any(parts.get("non-enabled") for parts in rows.values())
    )
    external: dict[str, tuple[str, ...]] = {}
    kept: dict[tuple[str, int], tuple[str, bool]] = {}
    for filename in files:
        text = _source_text(sources, filename)
        if text is None:
            continue
        rows = rows_of[filename]
        unused = {c for parts in rows.values() for c in parts.get("unused", [])}
        written = {c.upper() for m in _NOQA.finditer(text) for c in re.split(r"[\s,]+", m.group(1)) if c}
        external[filename] = tuple(sorted(written - unused))
        for row, parts in rows.items():
            if parts.get("non-enabled"):
                codes = ", ".join(parts["non-enabled"])
                why = f"{codes} not enabled for ruff here: another linter's code, kept"
                kept[(filename, row)] = (why, bool(parts.get("unused") or parts.get("duplicated")))
    return external, kept


def _source_text(sources: dict[str, bytes], filename: str) -> str | None:
    """The decoded text of a file the run read, or None when it was not read or does not decode."""
    data = sources.get(filename)
    if data is None:
        return None
    try:
        return decode(data).text
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return None
