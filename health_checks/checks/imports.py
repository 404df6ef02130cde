"""Every module of the tree imports."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from health_checks.context import CheckContext
from health_checks.core import Check, Details, NotApplicable, Outcome, Severity, Status
from health_checks.render import ReportView

PROBE = Path(__file__).resolve().parent.parent / "_import_probe.py"
# modules that run a program when imported, by design
SKIP_NAMES = {"__main__", "setup", "conftest", "noxfile"}


def module_names(ctx: CheckContext) -> list[tuple[str, str]]:
    """``(dotted name, relative path)`` of every importable module: files of packages reachable from the
    root through ``__init__.py`` files, and top-level modules."""
    found = []
    for rel in ctx.python_files():
        if rel.stem in SKIP_NAMES:
            continue
        parts = list(rel.parts)
        parents = [Path(*parts[:i]) for i in range(1, len(parts))]
        if not all((ctx.root / p / "__init__.py").is_file() for p in parents):
            continue
        if any(not part.isidentifier() for part in [*parts[:-1], rel.stem]):
            continue
        name = ".".join([*parts[:-1], rel.stem]) if rel.stem != "__init__" else ".".join(parts[:-1])
        if name:
            found.append((name, rel.as_posix()))
    return found


def probe(ctx: CheckContext, modules: list[str]) -> list[dict[str, Any]]:
    """Import each module in its own forked process (see ``_import_probe.py``)."""
    settings = ctx.settings
    command = [
        sys.executable,
        str(PROBE),
        str(ctx.root),
        str(settings.import_timeout),
        ",".join(settings.import_preload),
        *modules,
    ]
    budget = 120 + settings.import_timeout * len(modules)
    done = subprocess.run(command, cwd=ctx.root, capture_output=True, text=True, timeout=budget, check=False)
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if len(results) < len(modules):
        missing = modules[len(results)]
        raise RuntimeError(
            f"the import probe stopped at {missing} (exit {done.returncode}): {done.stderr.strip()[-800:]}"
        )
    return results


def locate(ctx: CheckContext, frames: list[list[Any]]) -> tuple[str, int, str]:
    """The innermost frame inside the tree (not the standard library or site-packages)."""
    inside = []
    for filename, line, _func, text in frames:
        path = Path(filename)
        if path.is_absolute() and path.resolve().is_relative_to(ctx.root.resolve()):
            rel = ctx.rel(path)
            if ".venv" not in rel and "site-packages" not in rel:
                inside.append((rel, int(line), str(text)))
    if inside:
        return inside[-1]
    if frames:
        filename, line, _func, text = frames[-1]
        return ctx.rel(filename), int(line), str(text)
    return "?", 0, ""


FIELD_ERROR = re.compile(r"for field (\w+) is not allowed")


def field_line(path: Path, line: int, error: str) -> int:
    """For a dataclass field error raised at the decorator line, the line of the offending field."""
    match = FIELD_ERROR.search(error)
    if not match or not path.is_file():
        return line
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return line
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        if not start <= line <= (node.end_lineno or node.lineno):
            continue
        for stmt in node.body:
            target = getattr(stmt, "target", None)
            if isinstance(stmt, ast.AnnAssign) and isinstance(target, ast.Name) and target.id == match[1]:
                return stmt.lineno
    return line


@dataclass(frozen=True, kw_only=True)
class ImportDetails(Details):
    """How many modules were imported, how many failed, the slowest, and each failure's module, file,
    line, error and source line."""

    modules: int
    failed: int
    slowest: str | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)


class HC001(Check):
    """Every module of the tree imports.

    Each module is imported in its own process (forked after the heavy third-party libraries are loaded
    once) with a timeout. A failure names the file and line inside the tree and the error, e.g. a
    dataclass's ``ValueError: mutable default ... use default_factory``, which makes every module that
    imports it unimportable.
    """

    name = "imports"
    severity = Severity.CRITICAL
    details_type = ImportDetails

    def check(self, ctx: CheckContext) -> Outcome:
        modules = module_names(ctx)
        if not modules:
            raise NotApplicable(f"no importable module under {ctx.root}")
        results = probe(ctx, [name for name, _ in modules])
        paths = dict(modules)
        failures = []
        for result in results:
            if result["ok"]:
                continue
            file, line, text = locate(ctx, result.get("frames", []))
            error = f"{result['type']}: {result['error']}"
            fixed_line = field_line(ctx.root / file, line, error)
            if fixed_line != line:
                line = fixed_line
                text = (ctx.root / file).read_text(encoding="utf-8").splitlines()[line - 1].strip()
            failures.append(
                {
                    "module": result["module"],
                    "file": file,
                    "line": line,
                    "error": error,
                    "source": text,
                }
            )
        slowest = max(results, key=lambda r: r.get("seconds", 0.0))
        details = ImportDetails(
            modules=len(results),
            failed=len(failures),
            slowest=f"{slowest['module']} ({slowest.get('seconds', 0.0):.2f} s)",
            failures=failures,
        )
        if not failures:
            return Outcome.passed(f"all {len(results)} modules import", details)
        first = failures[0]
        where = "; ".join(f"{f['file']}:{f['line']} {f['error']}" for f in failures[:3])
        more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
        mutable = any("use default_factory" in f["error"] for f in failures)
        command = (
            "python -m maintenance.fix --apply --select MNT002 "
            + " ".join(sorted({paths.get(f["module"], f["file"]) for f in failures}))
            if mutable
            else f"python -c 'import {first['module']}'"
        )
        return Outcome(
            Status.FAIL,
            f"{len(failures)} of {len(results)} modules fail to import: {where}{more}. "
            "Fix the error at that line; a mutable dataclass default is fixed by `maintenance.fix` (MNT002).",
            details,
            command,
        )

    @classmethod
    def figures(cls, view: ReportView) -> list[str]:
        imports = view.details(cls.code(), ImportDetails)
        return [f"modules importing: {imports.modules - imports.failed}/{imports.modules}"] if imports else []
