"""Renderings of a `FixReport`: text (findings, diff, a before/after table), json, sarif and github."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from maintenance.findings import Finding, FixReport

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RUFF_RULES_URL = "https://docs.astral.sh/ruff/rules/"


def render_json(report: FixReport) -> str:
    """A JSON array of findings (`path, line, column, code, message, fixable, fixed, before, after`).

    Under `--verify` an applied or reverted fix also carries `verification`: `status` (proven,
    unexercised, unmeasured or reverted), `tests` (the tests that ran it, or that it broke) and `kept`.
    """
    verified = {(v.path, v.line, v.code): v for v in report.verified}
    # a withheld fix's finding is one of those left, at its line in the file as left
    withheld = {(v.path, v.code): v for v in report.verified if not v.kept}
    reverted = {(r.path, r.code): r for r in report.reverted}
    rows = []
    for f in report.findings:
        row = f.to_dict()
        v = verified.get((f.path, f.line, f.code)) if f.fixed else withheld.get((f.path, f.code))
        r = reverted.get((f.path, f.code))
        if v is not None:
            row["verification"] = {"status": v.status, "tests": list(v.tests), "kept": v.kept}
        elif r is not None and not f.fixed:
            row["verification"] = {"status": "reverted", "tests": [r.tests], "kept": False}
        rows.append(row)
    if not rows or any("verification" in row for row in rows):
        return json.dumps(rows, indent=2)
    # rows of scalars: each row encoded by json's C encoder in the layout `indent=2` gives (which the pure
    # Python encoder writes, 0.3 s for 42,000 findings); the same text
    rendered = (json.dumps(row, separators=(",\n    ", ": "))[1:-1] for row in rows)
    return "[\n" + ",\n".join("  {\n    " + inner + "\n  }" for inner in rendered) + "\n]"


def render_github(report: FixReport) -> str:
    """GitHub Actions workflow commands: one annotation per finding left."""
    out = []
    for f in report.remaining:
        message = f.message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        out.append(f"::error file={f.path},line={f.line},col={f.column},title={f.code}::{f.code} {message}")
    return "\n".join(out)


def render_sarif(report: FixReport, version: str) -> str:
    """SARIF 2.1.0 for code-scanning uploads."""
    from maintenance.codemods import REGISTRY

    docs = {c.CODE: c for c in REGISTRY}
    codes = sorted({f.code for f in report.findings})
    rules = []
    for code in codes:
        rule: dict[str, object] = {"id": code}
        if code in docs:
            doc = docs[code].documentation()
            rule["name"] = docs[code].NAME
            rule["shortDescription"] = {"text": doc.splitlines()[0] if doc else code}
            rule["fullDescription"] = {"text": doc}
        elif code != "MNT000":
            rule["helpUri"] = RUFF_RULES_URL
        rules.append(rule)
    results = [
        {
            "ruleId": f.code,
            "level": "error" if f.code.startswith("MNT") else "warning",
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    }
                }
            ],
            "properties": {"fixable": f.fixable, "fixed": f.fixed},
        }
        for f in report.findings
    ]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "maintenance.fix", "version": version, "rules": rules}},
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2)


def summary_table(report: FixReport) -> Table:
    """Counts by code, before and after (after `--apply`, or what `--apply` would leave in a dry run)."""
    from rich.table import Table

    after_label = "after" if report.applied else "after --apply"
    table = Table(title=f"maintenance.fix: {report.files_scanned} files", show_footer=True)
    codes = sorted(set(report.counts_before) | set(report.counts_after))
    before_total = sum(report.counts_before.values())
    after_total = sum(report.counts_after.values())
    table.add_column("code", footer="total")
    table.add_column("before", justify="right", footer=str(before_total))
    table.add_column(after_label, justify="right", footer=str(after_total))
    for code in codes:
        table.add_row(code, str(report.counts_before.get(code, 0)), str(report.counts_after.get(code, 0)))
    return table


def print_text(report: FixReport, console: Console, *, show_diff: bool = True) -> None:
    """Findings one per line (`[*]` marks a fix `--apply` would make), the diff in a dry run, the table."""
    lines = [
        f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}"
        + (" (fixed)" if f.fixed else (" [*]" if f.fixable else ""))
        for f in report.findings
    ]
    # plain text, written as it is (`Console.out`): rich's rendering of 2,000 findings and their diff for
    # wrapping it never applies (the console soft-wraps) took longer than finding them on a small repo
    if lines:
        console.out("\n".join(lines), highlight=False)
    if show_diff and report.diff and not report.applied:
        console.out(report.diff, highlight=False, end="")
    if report.counts_before or report.counts_after:
        console.print(summary_table(report))
    fixable = sum(1 for f in report.findings if f.fixable and not f.fixed)
    for r in report.reverted:
        console.print(
            f"reverted by --verify: {r.code} fix in {r.path} (it broke {r.tests})",
            markup=False,
            highlight=False,
        )
    for line in verification_lines(report):
        console.print(line, markup=False, highlight=False)
    if report.applied:
        console.print(f"changed {len(report.changed_files)} files; {len(report.remaining)} findings left")
    elif fixable:
        console.print(f"{fixable} findings are fixable with --apply (dry run: nothing was written)")
    elif not report.findings:
        console.print("no findings")


def verification_lines(report: FixReport) -> list[str]:
    """`--verify`'s evidence, one line per kept fix: proven (with the tests that ran it) or unexercised."""
    word = {
        "proven": "proven by",
        "unexercised": "unexercised (no test executed it)",
        "unmeasured": "not measured (coverage.py did not run in the command's Python)",
    }
    lines = []
    for v in report.verified:
        tests = f" {', '.join(v.tests[:3])}" + (f" and {len(v.tests) - 3} more" if len(v.tests) > 3 else "")
        dropped = "" if v.kept else "; not applied (--drop-unexercised)"
        lines.append(
            f"{v.status}: {v.code} fix at {v.path}:{v.line}: {word.get(v.status, v.status)}"
            f"{tests if v.tests else ''}{dropped}"
        )
    return lines


def render_list(codes: Sequence[str] | None = None, allowlist: dict[str, str] | None = None) -> str:
    """Every codemod's documentation and the ruff fix policy (`allowlist`: the configured one), for `--list`."""
    from maintenance.codemods import REGISTRY
    from maintenance.codes import PARSE_ERROR, rule_file
    from maintenance.ruff_policy import describe

    parts = []
    for codemod in REGISTRY:
        if codes and codemod.CODE not in codes:
            continue
        parts.append(
            f"# {codemod.CODE} {codemod.NAME} (fix: {codemod.FIX_SAFETY})\n\nFile: {rule_file(codemod.CODE)}\n\n"
            f"{codemod.documentation()}\n"
        )
    parts.append(
        f"# MNT000 ParseError (fix: none)\n\nFile: {PARSE_ERROR.file}\n\nA file that does not parse (or decode) is "
        "reported and left untouched; the run goes on with the other files.\n"
    )
    if not codes:
        parts.append(describe(allowlist))
    return "\n".join(parts)


def finding_sort_key(f: Finding) -> tuple[str, int, int, str]:
    """Order findings by file, line, column, code."""
    return (f.path, f.line, f.column, f.code)
