"""The environment family (generic): no environment switch that turns a stage off is set (HC047)."""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from typing import Any

from health_checks.context import CheckContext
from health_checks.core import Check, Details, Outcome, Severity, Status

# names of environment variables that switch a stage off
SWITCH_PATTERN = re.compile(r"(^|_)(BYPASS|DISABLE|SKIP|NO)(_|$)", re.IGNORECASE)


def _env_name(node: ast.AST) -> str | None:
    """The variable name of ``os.getenv("X")``, ``os.environ.get("X")``, ``os.environ["X"]``,
    ``getenv("X")`` / ``environ["X"]`` and ``"X" in os.environ``, else None."""

    def is_environ(expr: ast.AST) -> bool:
        return (isinstance(expr, ast.Attribute) and expr.attr == "environ") or (
            isinstance(expr, ast.Name) and expr.id == "environ"
        )

    def literal(expr: ast.AST) -> str | None:
        return expr.value if isinstance(expr, ast.Constant) and isinstance(expr.value, str) else None

    if isinstance(node, ast.Call) and node.args:
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr == "getenv") or (
            isinstance(func, ast.Name) and func.id == "getenv"
        ):
            return literal(node.args[0])
        if isinstance(func, ast.Attribute) and func.attr in {"get", "pop"} and is_environ(func.value):
            return literal(node.args[0])
    if isinstance(node, ast.Subscript) and is_environ(node.value):
        return literal(node.slice)
    if (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.In | ast.NotIn)
        and is_environ(node.comparators[0])
    ):
        return literal(node.left)
    return None


def env_reads(ctx: CheckContext) -> dict[str, list[str]]:
    """``{variable: ["path:line", ...]}`` of every environment read in the tree's Python files."""
    reads: dict[str, list[str]] = {}
    for rel in ctx.python_files():
        try:
            tree = ast.parse((ctx.root / rel).read_text(encoding="utf-8"), filename=str(rel))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue  # HC001 / HC002 report files that do not parse
        for node in ast.walk(tree):
            name = _env_name(node)
            if name:
                reads.setdefault(name, []).append(f"{rel.as_posix()}:{node.lineno}")
    return reads


@dataclass(frozen=True, kw_only=True)
class EnvSwitchDetails(Details):
    """Every environment name the code reads, and each one that is set: value, where it is set, where it
    is read and whether its name is a switch."""

    read: list[str] = field(default_factory=list)
    set: list[dict[str, Any]] = field(default_factory=list)


class HC047(Check):
    """No environment switch that turns a stage off is set.

    A static scan of every ``os.environ`` / ``os.getenv`` name the code reads; each one set in the
    environment of the run or in the tree's ``.env`` is listed with where it is read and where it is set.
    A set switch-style name (``BYPASS_*``, ``DISABLE_*``, ``SKIP_*``, ``NO_*``) is a warning: a
    ``BYPASS_GRAPH=1`` left in ``.env`` silences a stage without any config saying so.
    """

    name = "env-switches"
    severity = Severity.MAJOR
    details_type = EnvSwitchDetails

    def check(self, ctx: CheckContext) -> Outcome:
        from dotenv import dotenv_values

        reads = env_reads(ctx)
        dotenv_path = ctx.root / ".env"
        dotenv = dict(dotenv_values(dotenv_path)) if dotenv_path.is_file() else {}
        rows = []
        for name in sorted(reads):
            where = [
                label for label, source in (("environment", os.environ), (".env", dotenv)) if name in source
            ]
            if not where:
                continue
            value = os.environ.get(name, dotenv.get(name))
            rows.append(
                {
                    "name": name,
                    "value": value,
                    "set_in": where,
                    "read_at": reads[name],
                    "switch": bool(SWITCH_PATTERN.search(name)),
                }
            )
        details = EnvSwitchDetails(read=sorted(reads), set=rows)
        switches = [r for r in rows if r["switch"]]
        if switches:
            listed = "; ".join(
                f"{r['name']}={r['value']} (set in {', '.join(r['set_in'])}, read at {', '.join(r['read_at'])})"
                for r in switches
            )
            return Outcome(
                Status.WARN,
                f"environment switch{'es' if len(switches) > 1 else ''} set: {listed}. A switch is a typed "
                "config field; remove it from .env or the environment.",
                details,
            )
        return Outcome.passed(
            f"{len(reads)} environment variables read, {len(rows)} set, none of them a switch", details
        )
