"""The two endings of a run: a dry run (findings, the diff `--apply` would write, the counts it would leave)
and `--apply` (write the fixes, verify them, re-check what is left)."""

from __future__ import annotations

import dataclasses
import difflib
from collections import Counter
from pathlib import Path

from maintenance import ruff_runner
from maintenance import verify as verify_module
from maintenance.codes import MNT_CODES
from maintenance.config import Config
from maintenance.findings import PARSE_ERROR_CODE, FileResult, Finding, FixReport, RevertedFix
from maintenance.fix.analysis import keep
from maintenance.fix.phases import LOG, phase
from maintenance.fix.verification import fixed_rules, verify_after
from maintenance.fix.workers import current_index
from maintenance.output import finding_sort_key
from maintenance.ruff_policy import FixPolicy, build_policy
from maintenance.source import atomic_write, decode
from maintenance.verify import Backup


def dry_run(
    report: FixReport,
    before: list[Finding],
    results: dict[str, FileResult],
    originals: dict[str, bytes],
    ours_new: dict[str, bytes],
    display: dict[str, str],
    config: Config,
    ruff_files: list[str],
    ruff_findings: list[Finding],
    want_diff: bool,
    root: Path,
    policy: FixPolicy,
) -> FixReport:
    """The report of a dry run: every finding, the diff `--apply` would write and the counts it would leave."""
    report.findings = before
    # the diff is made only where someone reads it (the text output): ruff's is a second ruff run, and
    # ours a difflib pass over every fixed file
    diffs = (
        [
            unified_diff(decode(originals[path]).text, results[path].new_source or "", display[path])
            for path in ours_new
        ]
        if want_diff
        else []
    )
    if ruff_files and want_diff:
        diffs.append(ruff_runner.diff_policy(ruff_files, root, policy))
    left = [f for r in results.values() for f in keep(config, r.remaining)]
    left += [f for f in ruff_findings if not f.fixable]
    report.counts_after = dict(Counter(f.code for f in left))
    report.diff = "".join(diffs)
    report.errors = [f for f in before if f.code == PARSE_ERROR_CODE]
    return report


def unified_diff(old: str, new: str, rel: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{rel}", f"b/{rel}"
        )
    )


@dataclasses.dataclass
class Written:
    """An `--apply` run: write the fixes (with a write-ahead backup under `--verify`), verify, re-check."""

    files: list[Path]
    display: dict[str, str]
    config: Config
    root: Path
    policy: FixPolicy
    ruff_wanted: bool
    unsafe_fixes: bool
    drop_unexercised: bool = False

    def apply(
        self,
        report: FixReport,
        before: list[Finding],
        results: dict[str, FileResult],
        originals: dict[str, bytes],
        ours_new: dict[str, bytes],
        ruff_files: list[str],
        absolute: dict[str, str],
        runner: verify_module.Runner | None,
    ) -> FixReport:
        touched = sorted(set(ours_new) | set(ruff_files))
        backup = Backup.create(self.root, {p: originals[p] for p in touched}) if runner is not None else None
        try:
            self._write(ours_new, originals, ruff_files)
            if runner is not None:
                with phase("verify") as facts:
                    report.reverted, report.verified = verify_after(
                        runner,
                        touched,
                        originals,
                        fixed_rules(before, absolute),
                        results,
                        self.display,
                        self.root,
                        self.policy,
                        self.unsafe_fixes,
                        (before, absolute, self.drop_unexercised),
                    )
                    facts["command runs"] = runner.runs
                    facts["reverted fixes"] = len(report.reverted)
            with phase("re-check after the fixes") as facts:
                after = after_state(
                    self.files,
                    originals,
                    ours_new,
                    results,
                    self.display,
                    self.config,
                    self.policy,
                    self.ruff_wanted,
                    self.root,
                )
                facts["findings left"] = len(after)
        except BaseException:
            if backup is not None:
                restored = backup.restore()
                backup.discard()
                LOG.error("the run stopped; restored %d file(s) from the write-ahead backup", len(restored))
            raise
        if backup is not None:
            backup.discard()
        report.changed_files = sorted(Path(p) for p in touched if Path(p).read_bytes() != originals[p])
        report.findings = settle(before, mark_reverted(after, report.reverted))
        report.counts_after = dict(Counter(f.code for f in after))
        report.errors = [f for f in report.findings if f.code == PARSE_ERROR_CODE]
        return report

    def _write(self, ours_new: dict[str, bytes], originals: dict[str, bytes], ruff_files: list[str]) -> None:
        with phase("write fixes") as facts:
            for path, data in ours_new.items():
                if Path(path).read_bytes() != originals[path]:
                    LOG.warning("%s changed while it was being analysed; not writing it", self.display[path])
                    continue
                atomic_write(Path(path), data)
            facts["files (MNT)"] = len(ours_new)
            if ruff_files:
                ruff_runner.apply_policy(ruff_files, self.root, self.policy)
                facts["files (ruff --fix)"] = len(ruff_files)


def after_state(
    files: list[Path],
    originals: dict[str, bytes],
    ours_new: dict[str, bytes],
    results: dict[str, FileResult],
    display: dict[str, str],
    config: Config,
    policy: FixPolicy,
    ruff_wanted: bool,
    root: Path,
) -> list[Finding]:
    """Every finding present in the files on disk now (what a rerun reports)."""
    from maintenance.engine import analyze_text

    left: list[Finding] = []
    current: dict[str, bytes] = {}
    for file in files:
        path = str(file)
        result = results.get(path)
        if result is None:
            continue
        if path not in originals:  # unreadable: its MNT000 stays
            left += keep(config, result.findings)
            continue
        data = current[path] = file.read_bytes()
        if data == originals[path]:
            left += keep(config, result.findings)
        elif data == ours_new.get(path):
            left += keep(config, result.remaining)
        else:
            rel = display[path]
            codes = tuple(c for c in MNT_CODES if config.selects(c) and not config.ignored_in_file(rel, c))
            again = analyze_text(
                decode(data).text, rel, codes, unsafe_fixes=policy.unsafe_fixes, index=current_index()
            )
            left += keep(config, again.findings)
    if ruff_wanted:
        readable = [str(p) for p in files if str(p) in originals]  # an unreadable file stays one MNT000
        diagnostics = ruff_runner.check(readable, root, options=["--force-exclude"]) if readable else []
        after_policy = build_policy(config, diagnostics, current, policy.unsafe_fixes)
        after_policy = dataclasses.replace(after_policy, fixable=policy.fixable)
        left += keep(config, ruff_runner.to_findings(diagnostics, display, policy.unsafe_fixes, after_policy))
    return sorted(left, key=finding_sort_key)


def settle(before: list[Finding], after: list[Finding]) -> list[Finding]:
    """The run's findings: those of `before` that are gone (marked fixed) plus every finding left (`after`).

    Matching is by (file, code): when a file has n findings of a code before and m after, n - m of them
    (fixable ones first) are fixed, also those that sat in code a fix deleted. So the findings left, the
    table's "after" column and a rerun give the same count.
    """
    left = Counter((f.path, f.code) for f in after)
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in before:
        groups.setdefault((f.path, f.code), []).append(f)
    settled: list[Finding] = []
    for key, items in groups.items():
        n_fixed = max(0, len(items) - left[key])
        ranked = sorted(range(len(items)), key=lambda i: not items[i].fixable)
        fixed_ids = set(ranked[:n_fixed])
        settled += [dataclasses.replace(items[i], fixed=True) for i in sorted(fixed_ids)]
    return sorted([*settled, *after], key=finding_sort_key)


def mark_reverted(after: list[Finding], reverted: list[RevertedFix]) -> list[Finding]:
    """Findings whose fix `--verify` took back say so (and are no longer fixable)."""
    why = {(r.path, r.code): r.tests for r in reverted}
    out = []
    for f in after:
        tests = why.get((f.path, f.code))
        if tests is not None:
            f = dataclasses.replace(
                f, fixable=False, message=f"{f.message} (fix reverted by --verify: it broke {tests})"
            )
        out.append(f)
    return out
