"""`--verify` around `--apply`: the command must pass before the fixes; fixes that make it fail after are
found by bisection and reverted (`maintenance.verify` does the bisection)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from maintenance import ruff_runner
from maintenance import verify as verify_module
from maintenance.findings import FileResult, Finding, RevertedFix, VerifiedFix
from maintenance.fix.phases import phase
from maintenance.fix.workers import current_index
from maintenance.ruff_policy import FixPolicy
from maintenance.source import atomic_write, decode


def verify_before(command: str, root: Path) -> verify_module.Runner:
    """Restore what an interrupted verify run left, then require the command to pass on the unfixed tree."""
    verify_module.restore_interrupted(root)
    runner = verify_module.Runner(command, root)
    with phase("verify before the fixes") as facts:
        outcome = runner()
        facts["passed"] = outcome.passed
    if not outcome.passed:
        raise verify_module.VerifyError(
            f"`{command}` fails before any fix ({outcome.describe()}); nothing was changed: "
            "make it pass first, or run --apply without --verify"
        )
    return runner


def verify_after(
    runner: verify_module.Runner,
    touched: list[str],
    originals: dict[str, bytes],
    fixed_rules: dict[str, list[str]],
    results: dict[str, FileResult],
    display: dict[str, str],
    root: Path,
    policy: FixPolicy,
    unsafe_fixes: bool,
    sites: tuple[list[Finding], dict[str, str], bool],
) -> tuple[list[RevertedFix], list[VerifiedFix]]:
    """Run the command on the fixed tree; revert the breaking fixes by bisection; say what tests reach the rest."""
    from maintenance.engine import analyze_text

    def content(path: str, rules: frozenset[str]) -> bytes:
        """The file with only `rules` fixed: our codemods first, then ruff, as in a whole run."""
        data = originals[path]
        ours = [r for r in rules if r.startswith("MNT")]
        if ours:
            decoded = decode(data)
            fixed = analyze_text(
                decoded.text, display[path], ours, unsafe_fixes=unsafe_fixes, index=current_index()
            )
            if fixed.new_source is not None:
                data = decoded.encode(fixed.new_source)
        atomic_write(Path(path), data)
        theirs = tuple(r for r in rules if not r.startswith("MNT"))
        if theirs:
            ruff_runner.apply_policy([path], root, dataclasses.replace(policy, fixable=theirs))
        return Path(path).read_bytes()

    finals = {path: Path(path).read_bytes() for path in touched}
    before, absolute, drop = sites
    fixes = [verify_module.site(f, absolute[f.path]) for f in before if f.fixable and f.path in absolute]
    proof = verify_module.prove(runner, originals, finals, fixed_rules, content, fixes, drop)
    reverted = [RevertedFix(display[r.path], r.code, r.outcome.describe()) for r in proof.reverted]
    verified = [
        VerifiedFix(display[e.site.path], e.site.line, e.site.code, e.status, e.tests, e.kept)
        for e in proof.evidence
    ]
    return reverted, verified


def fixed_rules(before: list[Finding], absolute: dict[str, str]) -> dict[str, list[str]]:
    """Absolute file -> the codes whose fixes `--apply` makes in it."""
    rules: dict[str, list[str]] = {}
    for f in before:
        if f.fixable and f.path in absolute and f.code not in rules.setdefault(absolute[f.path], []):
            rules[absolute[f.path]].append(f.code)
    return rules
