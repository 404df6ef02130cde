"""`run_fix`: one run of the fixer, from the paths to the report (discover, analyse beside ruff, policy,
then a dry run or `--apply`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maintenance import ruff_runner
from maintenance.cache import CACHE_DIR
from maintenance.config import Config, ConfigError, find_root, load_config
from maintenance.discovery import discover, relative
from maintenance.findings import Finding, FixReport
from maintenance.fix.analysis import analyze, keep
from maintenance.fix.apply import Written, dry_run
from maintenance.fix.phases import phase
from maintenance.fix.verification import verify_before
from maintenance.output import finding_sort_key
from maintenance.ruff_policy import FixPolicy, build_policy
from maintenance.source import decode


def run_fix(
    paths: Sequence[str | Path],
    *,
    apply: bool = False,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    use_ruff: bool = True,
    unsafe_fixes: bool = False,
    root: Path | None = None,
    jobs: int | None = None,
    use_cache: bool = True,
    progress: bool = False,
    want_diff: bool = True,
    verify: str | None = None,
    drop_unexercised: bool = False,
    process_ends: bool = False,
) -> FixReport:
    """Find (and with `apply`, fix) every selected problem under `paths`; see the `maintenance` docstring.

    `jobs` caps the worker processes (default: all CPUs), `use_cache=False` ignores
    `.maintenance_cache/`, `progress` shows a progress bar on stderr, `want_diff=False` leaves
    `report.diff` empty (no second ruff run for its diff, no difflib pass).
    `select`/`ignore` take code prefixes (`MNT`, `MNT001`, `ruff`, `F`, `ALL`); `select=None` uses
    `[tool.maintenance]` of the root's pyproject.toml; `ignore` adds to the configured ignores.
    `verify` (with `apply`) is a command run from the root before and after the fixes; the fixes that
    make it fail are reverted (see `maintenance.verify`); `report.verified` says which tests reached each
    kept fix, and `drop_unexercised` reverts the fixes no test reached. `process_ends` (the command line):
    the process exits after the run, so the objects the analysis built stay in the collector's permanent
    generation (`gc.freeze`) instead of being walked by every later collection (0.9 s after an 8,285-file
    run); a caller that goes on leaves it false, and they return to the oldest generation.
    Raises `ConfigError` for a bad configuration, `FileNotFoundError` for a missing path,
    `ruff_runner.RuffError` when ruff fails and `verify.VerifyError` when the command fails before any fix.
    """
    given = [Path(p) for p in paths] or [Path()]
    root = (root or find_root(given)).resolve()
    config = load_config(root)
    if select is not None:
        config.select = list(select)
    if ignore:
        config.ignore = [*config.ignore, *ignore]
    if verify is not None and not apply:
        raise ConfigError("--verify runs the command around the fixes it applies: add --apply")
    if drop_unexercised and verify is None:
        raise ConfigError("--drop-unexercised needs --verify CMD: the tests tell which fixes they reach")
    runner = verify_before(verify, root) if verify is not None else None
    with phase("discover") as facts:
        files = discover(given, config)
        facts["files"] = len(files)
    display = {str(f): relative(f, root) for f in files}
    report = FixReport(files_scanned=len(files), applied=apply)
    ruff_wanted = use_ruff and config.wants_ruff() and bool(files)
    ruff_paths = [str(p.resolve()) for p in given]

    # ruff runs in a thread beside the analysis, and its findings and fix policy are made there too as
    # soon as the analysis has read the files (they need the sources, not the MNT results)
    read: Future[dict[str, bytes]] = Future()
    with ThreadPoolExecutor(max_workers=1) as background:
        ruff_side: Future[_RuffSide] | None = None
        if ruff_wanted:
            cache_dir = root / CACHE_DIR if use_cache else None
            ruff_side = background.submit(
                _ruff_beside, ruff_paths, root, files, cache_dir, read, config, display, unsafe_fixes
            )
        try:
            with phase("analyse (MNT codemods)") as facts:
                results, originals = analyze(
                    files,
                    display,
                    config,
                    unsafe_fixes,
                    jobs,
                    use_cache,
                    progress,
                    on_read=read.set_result,
                    process_ends=process_ends,
                )
                facts["files"] = len(results)
        finally:
            if not read.done():  # the analysis stopped before reading: the ruff side must not wait for it
                read.set_exception(RuntimeError("the analysis stopped before reading the files"))
        with phase("ruff check, findings and fix policy (made beside the analysis)") as facts:
            side = ruff_side.result() if ruff_side is not None else None
            facts["diagnostics"] = len(side.diagnostics) if side is not None else 0

    policy = side.policy if side is not None else build_policy(config, [], originals, unsafe_fixes)
    ours = keep(config, [f for r in results.values() for f in r.findings])
    readable = {display[p] for p in originals}
    ruff_findings = [f for f in side.findings if f.path in readable] if side is not None else []
    before = sorted([*ours, *ruff_findings], key=finding_sort_key)
    report.counts_before = dict(Counter(f.code for f in before))
    absolute = {rel: path for path, rel in display.items()}
    ruff_files = sorted({absolute[f.path] for f in ruff_findings if f.fixable})
    ours_new = {
        path: decode(originals[path]).encode(r.new_source)
        for path, r in sorted(results.items())
        if r.new_source is not None and path in originals
    }

    if not apply:
        with phase("dry run (diffs)"):
            return dry_run(
                report,
                before,
                results,
                originals,
                ours_new,
                display,
                config,
                ruff_files,
                ruff_findings,
                want_diff,
                root,
                policy,
            )
    run = Written(files, display, config, root, policy, ruff_wanted, unsafe_fixes, drop_unexercised)
    return run.apply(report, before, results, originals, ours_new, ruff_files, absolute, runner)


@dataclass
class _RuffSide:
    """What the ruff thread of a run makes: ruff's diagnostics, the fix policy and ruff's findings."""

    diagnostics: list[dict[str, Any]]
    policy: FixPolicy
    findings: list[Finding]


def _ruff_beside(
    paths: list[str],
    root: Path,
    files: list[Path],
    cache_dir: Path | None,
    read: Future[dict[str, bytes]],
    config: Config,
    display: dict[str, str],
    unsafe_fixes: bool,
) -> _RuffSide:
    """ruff's check (cached), then, once the analysis has read the files, the policy and ruff's findings
    (as the configuration keeps them; an unreadable file is one MNT000, so the caller drops its findings)."""
    diagnostics = ruff_runner.check_cached(paths, root, files, cache_dir)
    originals = read.result()
    policy = build_policy(config, diagnostics, originals, unsafe_fixes)
    findings = keep(config, ruff_runner.to_findings(diagnostics, display, unsafe_fixes, policy, originals))
    return _RuffSide(diagnostics, policy, findings)
