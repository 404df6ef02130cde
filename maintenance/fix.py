"""`python -m maintenance.fix`: find and fix MNT001-MNT005 with libcst codemods, merged with ruff's findings.

Dry run by default: prints the findings, a unified diff of what `--apply` would change and a table of
counts by code; writes nothing. `--apply` writes the fixes atomically (temp file + rename, same encoding,
BOM, newlines and file mode), then runs `ruff check --fix`. Exit status: 0 no findings left, 1 findings
left, 2 usage or internal error. `run_fix` is the same run as a Python function (see `maintenance`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import errno
import logging
import os
import pickle
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from maintenance import __version__, discovery, ruff_policy, ruff_runner
from maintenance import verify as verify_module
from maintenance.cache import CACHE_DIR, ResultCache, content_hash, tool_fingerprint
from maintenance.codes import MNT_CODES
from maintenance.config import Config, ConfigError, code_matches, find_root, load_config
from maintenance.discovery import discover, relative
from maintenance.findings import (
    PARSE_ERROR_CODE,
    FileResult,
    Finding,
    FixReport,
    RevertedFix,
    VerifiedFix,
    unreadable,
)
from maintenance.index import IndexCache, ProjectIndex, build_index
from maintenance.output import (
    finding_sort_key,
    print_text,
    render_github,
    render_json,
    render_list,
    render_sarif,
)
from maintenance.source import atomic_write, decode
from maintenance.verify import Backup

LOG = logging.getLogger("maintenance.fix")  # also when run as __main__
PARALLEL_MIN_FILES = 24  # below this, starting worker processes costs more than it saves

Task = tuple[str, str, tuple[str, ...], bool]
_INDEX: ProjectIndex | None = None  # the run's project index, in this process and in each worker


def _set_index(index: ProjectIndex | None) -> None:
    """Worker initializer: the index is sent once per worker, not once per file."""
    global _INDEX
    _INDEX = index


def _set_index_from(blob: bytes) -> None:
    """Worker side of `_Workers.analyze`: the run's index, unpickled once in each worker."""
    _set_index(pickle.loads(blob))


def _analyze_task(task: Task) -> tuple[str, FileResult]:
    """Worker entry point (module level, so that it pickles); reuses the tree the worker kept for the index."""
    from maintenance.engine import analyze_file, analyze_text  # libcst is only imported where needed

    path, display, codes, unsafe = task
    kept = _KEPT.pop(path, None)
    if kept is not None:
        text, tree = kept
        _KEPT_CHARS[0] -= len(text)
        return path, analyze_text(text, display, codes, unsafe_fixes=unsafe, index=_INDEX, tree=tree)
    result, _ = analyze_file(Path(path), display, codes, unsafe, _INDEX)
    return path, result


# the trees a worker parsed for the index, kept for its analysis of the same files (bounded by source size)
_KEPT: dict[str, tuple[str, Any]] = {}
_KEPT_CHARS = [0]  # the characters of the sources in _KEPT (not summed again for every file)
KEEP_SOURCE_CHARS = 64_000_000  # per worker: about 1 GB of `ast` trees


def _summarize_chunk(chunk: list[tuple[str, str, str]], root: str) -> list[tuple[str, dict[str, Any] | None]]:
    """Worker entry point of the index pass: read, parse and summarize files; keep their trees."""
    from maintenance.index import cyclic_gc_paused, summarize_file, summary_data

    out: list[tuple[str, dict[str, Any] | None]] = []
    with cyclic_gc_paused(freeze=True):  # the kept trees live for the run: later collections skip them
        for path, display, digest in chunk:
            try:
                data = Path(path).read_bytes()
                text = decode(data).text
            except (OSError, SyntaxError, UnicodeDecodeError, LookupError):
                out.append((display, None))
                continue
            if content_hash(data) != digest:  # changed since the run read it: summarize what the run read
                out.append((display, None))
                continue
            summary = summarize_file(Path(path), display, text, Path(root))
            if summary is None:
                out.append((display, None))
                continue
            if _KEPT_CHARS[0] + len(text) <= KEEP_SOURCE_CHARS:
                replaced = _KEPT.get(path)
                _KEPT[path] = (text, summary[1])
                _KEPT_CHARS[0] += len(text) - (len(replaced[0]) if replaced is not None else 0)
            out.append((display, summary_data(summary[0])))
    return out


def _load_engine() -> None:
    """Worker entry point: import the engine and its codemods before the first analysis needs them."""
    import maintenance.engine  # noqa: F401


def _analyze_chunk(tasks: list[Task]) -> list[tuple[str, FileResult]]:
    return [_analyze_task(task) for task in tasks]


class _Workers:
    """Worker processes that each own a share of the files for the whole run (index pass, then analysis).

    A file is parsed once: the worker that summarizes it for the index keeps its tree and analyses it
    later (one single-process executor per worker, so that a file's analysis reaches its owner). Shares
    are balanced by size, largest files first; files the index cache already covers go to the least
    loaded worker when they need analysis.
    """

    def __init__(self, jobs: int) -> None:
        from concurrent.futures import ProcessPoolExecutor

        self.pools = [ProcessPoolExecutor(max_workers=1) for _ in range(jobs)]
        self.load = [0] * jobs
        self.owner: dict[str, int] = {}

    def _assign(self, path: str, size: int) -> int:
        worker = self.owner.get(path)
        if worker is None:
            worker = min(range(len(self.pools)), key=self.load.__getitem__)
            self.owner[path] = worker
        self.load[worker] += size
        return worker

    def summarize(self, missing: list[tuple[Path, str, str]], digests: dict[str, str], root: Path) -> dict:
        shares: list[list[tuple[str, str, str]]] = [[] for _ in self.pools]
        for path, display, text in sorted(missing, key=lambda m: -len(m[2])):
            shares[self._assign(str(path), len(text))].append((str(path), display, digests[str(path)]))
        futures = [
            self.pools[w].submit(_summarize_chunk, chunk, str(root))
            for w, share in enumerate(shares)
            for chunk in _chunks(share, 64)
        ]
        for pool in self.pools:  # the engine (and libcst, ~1 s) loads while this process builds the index
            pool.submit(_load_engine)
        return {display: data for future in futures for display, data in future.result()}

    def analyze(
        self,
        tasks: list[Task],
        index: ProjectIndex,
        sizes: dict[str, int],
        on_done: Callable[[int], None] | None,
    ) -> dict[str, FileResult]:
        blob = pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL)  # pickled once for all the workers
        for pool in self.pools:
            pool.submit(_set_index_from, blob)  # once per worker, before its analyses (one process: in order)
        shares: list[list[Task]] = [[] for _ in self.pools]
        for task in sorted(tasks, key=lambda t: -sizes.get(t[0], 0)):
            shares[self._assign(task[0], sizes.get(task[0], 0))].append(task)
        futures = [
            self.pools[w].submit(_analyze_chunk, c)
            for w, share in enumerate(shares)
            for c in _chunks(share, 8)
        ]
        results: dict[str, FileResult] = {}
        from concurrent.futures import as_completed

        for future in as_completed(futures):
            done = future.result()
            results.update(done)
            if on_done:
                on_done(len(done))
        return results

    def close(self) -> None:
        for pool in self.pools:
            pool.shutdown(cancel_futures=True)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _run_tasks(
    tasks: list[Task],
    jobs: int,
    on_done: Callable[[int], None] | None = None,
    index: ProjectIndex | None = None,
) -> dict[str, FileResult]:
    """Analyse files in worker processes (or in this one for small batches), with the run's `index`."""
    results: dict[str, FileResult] = {}
    _set_index(index)
    if jobs <= 1 or len(tasks) < PARALLEL_MIN_FILES:
        for task in tasks:
            path, result = _analyze_task(task)
            results[path] = result
            if on_done:
                on_done(1)
        return results
    from concurrent.futures import ProcessPoolExecutor

    chunksize = max(1, min(16, len(tasks) // (jobs * 8)))
    with ProcessPoolExecutor(max_workers=jobs, initializer=_set_index, initargs=(index,)) as pool:
        for path, result in pool.map(_analyze_task, tasks, chunksize=chunksize):
            results[path] = result
            if on_done:
                on_done(1)
    return results


def _unified_diff(old: str, new: str, rel: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{rel}", f"b/{rel}"
        )
    )


@contextlib.contextmanager
def _phase(name: str) -> Iterator[dict[str, object]]:
    """Log (at INFO, shown by `-v`) how long a phase took and the counts it puts into the yielded dict."""
    facts: dict[str, object] = {}
    start = time.perf_counter()
    yield facts
    details = ", ".join(f"{key} {value}" for key, value in facts.items())
    LOG.info("%s: %.2f s%s", name, time.perf_counter() - start, f" ({details})" if details else "")


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
) -> FixReport:
    """Find (and with `apply`, fix) every selected problem under `paths`; see the `maintenance` docstring.

    `jobs` caps the worker processes (default: all CPUs), `use_cache=False` ignores
    `.maintenance_cache/`, `progress` shows a progress bar on stderr, `want_diff=False` skips ruff's diff.
    `select`/`ignore` take code prefixes (`MNT`, `MNT001`, `ruff`, `F`, `ALL`); `select=None` uses
    `[tool.maintenance]` of the root's pyproject.toml; `ignore` adds to the configured ignores.
    `verify` (with `apply`) is a command run from the root before and after the fixes; the fixes that
    make it fail are reverted (see `maintenance.verify`); `report.verified` says which tests reached each
    kept fix, and `drop_unexercised` reverts the fixes no test reached.
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
    runner = _verify_before(verify, root) if verify is not None else None
    with _phase("discover") as facts:
        files = discover(given, config)
        facts["files"] = len(files)
    display = {str(f): relative(f, root) for f in files}
    report = FixReport(files_scanned=len(files), applied=apply)
    ruff_wanted = use_ruff and config.wants_ruff() and bool(files)
    ruff_paths = [str(p.resolve()) for p in given]

    with ThreadPoolExecutor(max_workers=1) as background:
        ruff_before: Future[list[dict[str, Any]]] | None = None
        if ruff_wanted:
            cache_dir = root / CACHE_DIR if use_cache else None
            ruff_before = background.submit(ruff_runner.check_cached, ruff_paths, root, files, cache_dir)
        with _phase("analyse (MNT codemods)") as facts:
            results, originals = _analyze(files, display, config, unsafe_fixes, jobs, use_cache, progress)
            facts["files"] = len(results)
        with _phase("ruff check (ran beside the analysis)") as facts:
            diagnostics = ruff_before.result() if ruff_before is not None else []
            facts["diagnostics"] = len(diagnostics)

    policy = _policy(config, diagnostics, originals, unsafe_fixes)
    ours = _keep(config, [f for r in results.values() for f in r.findings])
    readable = {display[p] for p in originals}
    ruff_findings = _keep(config, ruff_runner.to_findings(diagnostics, display, unsafe_fixes, policy))
    ruff_findings = [f for f in ruff_findings if f.path in readable]  # an unreadable file is one MNT000
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
        return _dry_run(
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
    run = _Written(files, display, config, root, policy, ruff_wanted, unsafe_fixes, drop_unexercised)
    return run.apply(report, before, results, originals, ours_new, ruff_files, absolute, runner)


def _dry_run(
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
    policy: ruff_runner.FixPolicy,
) -> FixReport:
    """The report of a dry run: every finding, the diff `--apply` would write and the counts it would leave."""
    report.findings = before
    diffs = [
        _unified_diff(decode(originals[path]).text, results[path].new_source or "", display[path])
        for path in ours_new
    ]
    # ruff's --diff is a second ruff run: skipped where nobody reads the diff
    if ruff_files and want_diff:
        diffs.append(ruff_runner.diff_policy(ruff_files, root, policy))
    left = [f for r in results.values() for f in _keep(config, r.remaining)]
    left += [f for f in ruff_findings if not f.fixable]
    report.counts_after = dict(Counter(f.code for f in left))
    report.diff = "".join(diffs)
    report.errors = [f for f in before if f.code == PARSE_ERROR_CODE]
    return report


@dataclasses.dataclass
class _Written:
    """An `--apply` run: write the fixes (with a write-ahead backup under `--verify`), verify, re-check."""

    files: list[Path]
    display: dict[str, str]
    config: Config
    root: Path
    policy: ruff_runner.FixPolicy
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
                with _phase("verify") as facts:
                    report.reverted, report.verified = _verify_after(
                        runner,
                        touched,
                        originals,
                        _fixed_rules(before, absolute),
                        results,
                        self.display,
                        self.root,
                        self.policy,
                        self.unsafe_fixes,
                        (before, absolute, self.drop_unexercised),
                    )
                    facts["command runs"] = runner.runs
                    facts["reverted fixes"] = len(report.reverted)
            with _phase("re-check after the fixes") as facts:
                after = _after_state(
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
        report.findings = _settle(before, _mark_reverted(after, report.reverted))
        report.counts_after = dict(Counter(f.code for f in after))
        report.errors = [f for f in report.findings if f.code == PARSE_ERROR_CODE]
        return report

    def _write(self, ours_new: dict[str, bytes], originals: dict[str, bytes], ruff_files: list[str]) -> None:
        with _phase("write fixes") as facts:
            for path, data in ours_new.items():
                if Path(path).read_bytes() != originals[path]:
                    LOG.warning("%s changed while it was being analysed; not writing it", self.display[path])
                    continue
                atomic_write(Path(path), data)
            facts["files (MNT)"] = len(ours_new)
            if ruff_files:
                ruff_runner.apply_policy(ruff_files, self.root, self.policy)
                facts["files (ruff --fix)"] = len(ruff_files)


def _verify_before(command: str, root: Path) -> verify_module.Runner:
    """Restore what an interrupted verify run left, then require the command to pass on the unfixed tree."""
    verify_module.restore_interrupted(root)
    runner = verify_module.Runner(command, root)
    with _phase("verify before the fixes") as facts:
        outcome = runner()
        facts["passed"] = outcome.passed
    if not outcome.passed:
        raise verify_module.VerifyError(
            f"`{command}` fails before any fix ({outcome.describe()}); nothing was changed: "
            "make it pass first, or run --apply without --verify"
        )
    return runner


def _verify_after(
    runner: verify_module.Runner,
    touched: list[str],
    originals: dict[str, bytes],
    fixed_rules: dict[str, list[str]],
    results: dict[str, FileResult],
    display: dict[str, str],
    root: Path,
    policy: ruff_runner.FixPolicy,
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
            fixed = analyze_text(decoded.text, display[path], ours, unsafe_fixes=unsafe_fixes, index=_INDEX)
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


def _fixed_rules(before: list[Finding], absolute: dict[str, str]) -> dict[str, list[str]]:
    """Absolute file -> the codes whose fixes `--apply` makes in it."""
    rules: dict[str, list[str]] = {}
    for f in before:
        if f.fixable and f.path in absolute and f.code not in rules.setdefault(absolute[f.path], []):
            rules[absolute[f.path]].append(f.code)
    return rules


def _policy(
    config: Config, diagnostics: Sequence[dict[str, Any]], sources: dict[str, bytes], unsafe_fixes: bool
) -> ruff_runner.FixPolicy:
    """The ruff fix policy of this run: allow-listed rules the selection reports, and the F401 imports to keep."""
    rows: dict[str, list[int]] = {}
    for diag in diagnostics:
        if diag.get("code") == ruff_policy.GUARDED_F401:
            filename = str(discovery.resolved(Path(diag.get("filename", ""))))
            rows.setdefault(filename, []).append(diag["location"]["row"])
    kept: dict[tuple[str, int], str] = {}
    for filename, file_rows in rows.items():
        data = sources.get(filename)
        if data is None:
            continue
        try:
            text = decode(data).text
        except (SyntaxError, UnicodeDecodeError, LookupError):
            continue
        for row, why in ruff_policy.kept_imports(Path(filename), text, file_rows).items():
            kept[(filename, row)] = why
    fixable = ruff_policy.fixable_selectors(config.ruff_fixable, config.select, config.ignore)
    return ruff_runner.FixPolicy(
        fixable=tuple(fixable),
        unsafe_fixes=unsafe_fixes,
        keep_f401=frozenset(filename for filename, _ in kept),
        kept=kept,
    )


def _after_state(
    files: list[Path],
    originals: dict[str, bytes],
    ours_new: dict[str, bytes],
    results: dict[str, FileResult],
    display: dict[str, str],
    config: Config,
    policy: ruff_runner.FixPolicy,
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
            left += _keep(config, result.findings)
            continue
        data = current[path] = file.read_bytes()
        if data == originals[path]:
            left += _keep(config, result.findings)
        elif data == ours_new.get(path):
            left += _keep(config, result.remaining)
        else:
            rel = display[path]
            codes = tuple(c for c in MNT_CODES if config.selects(c) and not config.ignored_in_file(rel, c))
            again = analyze_text(
                decode(data).text, rel, codes, unsafe_fixes=policy.unsafe_fixes, index=_INDEX
            )
            left += _keep(config, again.findings)
    if ruff_wanted:
        readable = [str(p) for p in files if str(p) in originals]  # an unreadable file stays one MNT000
        diagnostics = ruff_runner.check(readable, root, options=["--force-exclude"]) if readable else []
        after_policy = _policy(config, diagnostics, current, policy.unsafe_fixes)
        after_policy = dataclasses.replace(after_policy, fixable=policy.fixable)
        left += _keep(
            config, ruff_runner.to_findings(diagnostics, display, policy.unsafe_fixes, after_policy)
        )
    return sorted(left, key=finding_sort_key)


def _settle(before: list[Finding], after: list[Finding]) -> list[Finding]:
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


def _unreadable(file: Path) -> tuple[str, str] | None:
    """(problem, advice) when `file` cannot be read or decoded as Python source, else `None`."""
    exclude = "or list it under [tool.maintenance] exclude"
    if file.is_symlink() and not file.exists():
        target = file.readlink()
        try:
            file.stat()
        except OSError as err:
            if err.errno == errno.ELOOP:
                return f"symlink loop ({file.name} -> {target})", f"point the link at a real file {exclude}"
        return f"dangling symlink to {target}, which does not exist", f"fix or delete the link {exclude}"
    try:
        data = file.read_bytes()
    except OSError as err:
        advice = "make it readable (check its permissions)" if err.errno == errno.EACCES else "check the file"
        return f"cannot read: {err.strerror or err}", f"{advice} {exclude}"
    try:
        decode(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as err:
        return (
            f"cannot decode: {err}",
            f"save it as UTF-8 (or give it a correct `# -*- coding: ... -*-` line) {exclude}",
        )
    return None


def _mark_reverted(after: list[Finding], reverted: list[RevertedFix]) -> list[Finding]:
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


def _keep(config: Config, findings: Iterable[Finding]) -> list[Finding]:
    """Findings the configuration reports (MNT000 always, unless explicitly ignored)."""
    kept = []
    for f in findings:
        if f.code == PARSE_ERROR_CODE:
            if not code_matches(f.code, [i for i in config.ignore if len(i) == len(PARSE_ERROR_CODE)]):
                kept.append(f)
        elif config.selects(f.code) and not config.ignored_in_file(f.path, f.code):
            kept.append(f)
    return kept


def _analyze(
    files: list[Path],
    display: dict[str, str],
    config: Config,
    unsafe_fixes: bool,
    jobs: int | None,
    use_cache: bool,
    progress: bool,
) -> tuple[dict[str, FileResult], dict[str, bytes]]:
    """Results for every file, from the cache where the content is unchanged, else from the engine."""
    all_codes = tuple(c for c in MNT_CODES if config.selects(c))
    results, originals, readable = _read_files(files, display)
    n_jobs = jobs or os.cpu_count() or 1
    workers = _Workers(n_jobs) if n_jobs > 1 and len(readable) >= PARALLEL_MIN_FILES else None
    try:
        index = _project_index(readable, config.root, use_cache, workers)
        _set_index(index)  # the re-analyses after --apply (counts, --verify) see the same index
        caches: dict[tuple[str, ...], ResultCache] = {}
        tasks: list[Task] = []
        digests: dict[str, tuple[str, tuple[str, ...]]] = {}
        for file, rel, data in readable:
            path = str(file)
            codes = tuple(c for c in all_codes if not config.ignored_in_file(rel, c))
            if codes not in caches:
                caches[codes] = ResultCache(config.root, codes, unsafe_fixes, enabled=use_cache)
            # a file's results depend on its own bytes and on the summaries of the modules it imports
            info = index.module_for_path(rel)
            digest = content_hash(data) + ("-" + index.context_digest(info) if info is not None else "")
            digests[path] = (digest, codes)
            cached = caches[codes].get(digest, rel)
            if cached is not None:
                results[path] = cached
            else:
                tasks.append((path, rel, codes, unsafe_fixes))
        fresh = _analyze_tasks(
            tasks, n_jobs, index, workers, {p: len(d) for p, d in originals.items()}, progress
        )
    finally:
        if workers is not None:
            workers.close()
    for path, result in fresh.items():
        results[path] = result
        digest, codes = digests[path]
        caches[codes].put(digest, result)
    for cache in caches.values():
        cache.save()
    return results, originals


def _read_files(
    files: list[Path], display: dict[str, str]
) -> tuple[dict[str, FileResult], dict[str, bytes], list[tuple[Path, str, bytes]]]:
    """The bytes of every readable file; an unreadable one gets its MNT000 result right away."""
    results: dict[str, FileResult] = {}
    originals: dict[str, bytes] = {}
    readable: list[tuple[Path, str, bytes]] = []
    for file in files:
        path = str(file)
        rel = display[path]
        problem = _unreadable(file)
        if problem is not None:
            results[path] = FileResult(path=rel, findings=[unreadable(rel, *problem)])
            results[path].remaining = list(results[path].findings)
            continue
        data = file.read_bytes()
        originals[path] = data
        readable.append((file, rel, data))
    return results, originals, readable


def _analyze_tasks(
    tasks: list[Task],
    n_jobs: int,
    index: ProjectIndex,
    workers: _Workers | None,
    sizes: dict[str, int],
    progress: bool,
) -> dict[str, FileResult]:
    """Run the engine on the files the cache does not cover: in the run's workers, or in this process."""

    def run(on_done: Callable[[int], None] | None) -> dict[str, FileResult]:
        if workers is not None and tasks:
            return workers.analyze(tasks, index, sizes, on_done)
        return _run_tasks(tasks, 1, on_done, index)

    if progress and len(tasks) > 50:
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task_id = bar.add_task(f"analysing {len(tasks)} files", total=len(tasks))
            return run(lambda n: bar.advance(task_id, n))
    return run(None)


def _project_index(
    readable: list[tuple[Path, str, bytes]], root: Path, use_cache: bool, workers: _Workers | None = None
) -> ProjectIndex:
    """The project index of the run (one `ast` pass, in the workers when there are; cached summaries reused)."""
    sources = []
    digests: dict[str, str] = {}
    for file, rel, data in readable:
        try:
            text = decode(data).text
        except (SyntaxError, UnicodeDecodeError, LookupError):
            continue  # the engine reports it as MNT000
        digests[str(file)] = content_hash(data)
        sources.append((file, rel, text, digests[str(file)]))
    cache = IndexCache(root / CACHE_DIR if use_cache else None, tool_fingerprint())
    if workers is None:
        return build_index(sources, root, cache)
    return build_index(sources, root, cache, lambda missing: workers.summarize(missing, digests, root))


def exit_status(report: FixReport) -> int:
    """0 when no finding is left in the files, else 1."""
    if report.applied:
        return 1 if any(report.counts_after.values()) else 0
    return 1 if report.findings else 0


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m maintenance.fix`."""
    parser = argparse.ArgumentParser(
        prog="python -m maintenance.fix",
        description=(
            "Find and fix unreachable code (MNT001), mutable dataclass defaults (MNT002), torch.load without "
            "weights_only (MNT003), calls that cannot bind to their callee (MNT004) and code parked in strings "
            "or comments (MNT005), plus ruff's findings under ruff's codes. Dry run by default: prints the "
            "findings, a unified diff and counts by code, and writes nothing."
        ),
        epilog=(
            "Configuration: [tool.maintenance] in the root's pyproject.toml (select, ignore, exclude, "
            "per-file-ignores, ruff-fixable, extend-ruff-fixable); ruff's findings follow the repository's own "
            "ruff configuration, but --apply makes ruff's fixes only for the rules of the fix policy "
            "(`--list` prints it; F401 never removes an import inside try/if/with, in an __init__.py, "
            "re-exported with `as` or listed in __all__). Suppress one finding with `# noqa: MNT001` on its "
            "line. Exit status: 0 no findings left, 1 findings left, 2 usage or internal error (or --verify's "
            "command failing before any fix). Results are cached in <root>/.maintenance_cache/."
        ),
    )
    parser.add_argument("paths", nargs="*", default=["."], help="files or directories to check (default: .)")
    parser.add_argument(
        "--apply",
        action="store_true",
        help="write the fixes (atomically) and run `ruff check --fix` for the rules of the fix policy",
    )
    parser.add_argument(
        "--verify",
        metavar="CMD",
        help=(
            "with --apply: run CMD (e.g. 'pytest -x -q') from the root before and after the fixes; fixes that "
            "make it fail are found by bisection (files, then rules), reverted and reported with the failing "
            "tests; files are backed up first (write-ahead) and restored on any error"
        ),
    )
    parser.add_argument(
        "--drop-unexercised",
        action="store_true",
        help="with --verify: also revert the fixes that no test executed (coverage.py measures the tests), "
        "so that only fixes a passing test ran are kept",
    )
    parser.add_argument(
        "--select",
        metavar="CODES",
        help="comma-separated code prefixes to report, e.g. MNT,ruff or MNT001,F401 (default: config)",
    )
    parser.add_argument(
        "--ignore", metavar="CODES", help="comma-separated code prefixes to drop (added to the config's)"
    )
    parser.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="also apply unsafe fixes (MNT005 deletions, ruff's unsafe fixes of rules in the fix policy)",
    )
    parser.add_argument(
        "--format",
        choices=["text", "json", "sarif", "github"],
        default="text",
        help="output format (default: text)",
    )
    parser.add_argument(
        "--no-ruff", action="store_true", help="do not run ruff; report and fix only the MNT codes"
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="print the documentation of every codemod and the ruff fix policy, and exit",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="ignore and do not update .maintenance_cache/"
    )
    parser.add_argument(
        "--jobs", type=int, default=None, metavar="N", help="worker processes (default: all CPUs)"
    )
    parser.add_argument(
        "--root", type=Path, default=None, help="project root (default: nearest pyproject.toml/.git)"
    )
    parser.add_argument(
        "--no-diff", action="store_true", help="text format: do not print the diff of a dry run"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the run does on stderr")
    parser.add_argument(
        "--version",
        action="version",
        version=f"maintenance.fix {__version__} (ruff {ruff_runner.ruff_version()})",
        help="print maintenance.fix's version and the version of the ruff it runs, and exit",
    )
    return parser


def _split(codes: str | None) -> list[str] | None:
    return [c.strip() for c in codes.split(",") if c.strip()] if codes else None


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status (0 clean, 1 findings left, 2 usage or internal error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version (0) and usage errors (2)
        return int(stop.code or 0)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.list:
        try:
            allowlist = load_config(find_root([Path(p) for p in args.paths])).ruff_fixable
        except ConfigError:
            allowlist = None
        sys.stdout.write(render_list(_split(args.select), allowlist))
        return 0
    if args.verify is not None and not args.apply:
        parser.print_usage(sys.stderr)
        sys.stderr.write("error: --verify needs --apply (it proves the fixes that --apply makes)\n")
        return 2
    if args.drop_unexercised and args.verify is None:
        parser.print_usage(sys.stderr)
        sys.stderr.write(
            "error: --drop-unexercised needs --verify CMD (the tests tell which fixes they reach)\n"
        )
        return 2
    if args.jobs is not None and args.jobs < 1:
        parser.print_usage(sys.stderr)
        sys.stderr.write("error: --jobs must be at least 1\n")
        return 2
    try:
        report = run_fix(
            args.paths,
            apply=args.apply,
            select=_split(args.select),
            ignore=_split(args.ignore),
            use_ruff=not args.no_ruff,
            unsafe_fixes=args.unsafe_fixes,
            root=args.root,
            jobs=args.jobs,
            use_cache=not args.no_cache,
            progress=sys.stderr.isatty(),
            want_diff=args.format == "text" and not args.no_diff,
            verify=args.verify,
            drop_unexercised=args.drop_unexercised,
        )
    except (ConfigError, FileNotFoundError, ruff_runner.RuffError, verify_module.VerifyError) as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    except Exception:  # the CLI boundary: an internal error is exit 2 with its traceback, never a silent 0/1
        LOG.exception("internal error in maintenance.fix; please report it with the traceback above")
        return 2
    if args.format == "json":
        sys.stdout.write(render_json(report) + "\n")
    elif args.format == "sarif":
        sys.stdout.write(render_sarif(report, __version__) + "\n")
    elif args.format == "github":
        text = render_github(report)
        sys.stdout.write(text + ("\n" if text else ""))
    else:
        from rich.console import Console

        console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 120)
        print_text(report, console, show_diff=not args.no_diff)
    return exit_status(report)


if __name__ == "__main__":
    raise SystemExit(main())
