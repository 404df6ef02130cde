"""`python -m maintenance.fix`: find and fix MNT001-MNT005 with libcst codemods, merged with ruff's findings.

Dry run by default: prints the findings, a unified diff of what `--apply` would change and a table of
counts by code; writes nothing. `--apply` writes the fixes atomically (temp file + rename, same encoding,
BOM, newlines and file mode), then runs `ruff check --fix`. Exit status: 0 no findings left, 1 findings
left, 2 usage or internal error. `run_fix` is the same run as a Python function (see `maintenance`).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import logging
import os
import stat
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from maintenance import __version__, ruff_runner
from maintenance.cache import CACHE_DIR, ResultCache, content_hash, tool_fingerprint
from maintenance.codes import MNT_CODES
from maintenance.config import Config, ConfigError, code_matches, find_root, load_config
from maintenance.discovery import discover, relative
from maintenance.findings import PARSE_ERROR_CODE, FileResult, Finding, FixReport
from maintenance.index import IndexCache, ProjectIndex, build_index
from maintenance.output import (
    finding_sort_key,
    print_text,
    render_github,
    render_json,
    render_list,
    render_sarif,
)
from maintenance.source import decode

LOG = logging.getLogger(__name__)
PARALLEL_MIN_FILES = 24  # below this, starting worker processes costs more than it saves

Task = tuple[str, str, tuple[str, ...], bool]
_INDEX: ProjectIndex | None = None  # the run's project index, in this process and in each worker


def _set_index(index: ProjectIndex | None) -> None:
    """Worker initializer: the index is sent once per worker, not once per file."""
    global _INDEX
    _INDEX = index


def _analyze_task(task: Task) -> tuple[str, FileResult]:
    """Worker entry point (module level, so that it pickles)."""
    from maintenance.engine import analyze_file  # libcst is only imported where a file must be analysed

    path, display, codes, unsafe = task
    result, _ = analyze_file(Path(path), display, codes, unsafe, _INDEX)
    return path, result


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


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` through a temp file in the same directory, keeping the file mode."""
    mode = stat.S_IMODE(path.stat().st_mode)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _unified_diff(old: str, new: str, rel: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{rel}", f"b/{rel}"
        )
    )


def _ruff_fix_scope(config: Config) -> list[str]:
    """`--fixable`/`--unfixable` arguments so that ruff fixes only the selected ruff codes."""
    args: list[str] = []
    ruff_selectors = [s for s in config.select if not s.upper().startswith("MNT")]
    if not any(s.upper() in {"RUFF", "ALL"} for s in ruff_selectors):
        args += ["--fixable", ",".join(ruff_selectors)]
    ruff_ignores = [
        s for s in config.ignore if not s.upper().startswith("MNT") and s.upper() not in {"RUFF", "ALL"}
    ]
    if ruff_ignores:
        args += ["--unfixable", ",".join(ruff_ignores)]
    return args


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
) -> FixReport:
    """Find (and with `apply`, fix) every selected problem under `paths`; see the `maintenance` docstring.

    `jobs` caps the worker processes (default: all CPUs), `use_cache=False` ignores
    `.maintenance_cache/`, `progress` shows a progress bar on stderr, `want_diff=False` skips ruff's diff.
    `select`/`ignore` take code prefixes (`MNT`, `MNT001`, `ruff`, `F`, `ALL`); `select=None` uses
    `[tool.maintenance]` of the root's pyproject.toml; `ignore` adds to the configured ignores.
    Raises `ConfigError` for a bad configuration, `FileNotFoundError` for a missing path and
    `ruff_runner.RuffError` when ruff fails.
    """
    given = [Path(p) for p in paths] or [Path()]
    root = (root or find_root(given)).resolve()
    config = load_config(root)
    if select is not None:
        config.select = list(select)
    if ignore:
        config.ignore = [*config.ignore, *ignore]
    files = discover(given, config)
    display = {str(f): relative(f, root) for f in files}
    report = FixReport(files_scanned=len(files), applied=apply)
    ruff_wanted = use_ruff and config.wants_ruff() and bool(files)
    ruff_paths = [str(p.resolve()) for p in given]

    with ThreadPoolExecutor(max_workers=1) as background:
        ruff_before: Future[list[dict[str, Any]]] | None = None
        if ruff_wanted:
            cache_dir = root / CACHE_DIR if use_cache else None
            ruff_before = background.submit(ruff_runner.check_cached, ruff_paths, root, files, cache_dir)
        results, originals = _analyze(files, display, config, unsafe_fixes, jobs, use_cache, progress)
        diagnostics = ruff_before.result() if ruff_before is not None else []

    ours = _keep(config, [f for r in results.values() for f in r.findings])
    remaining = {path: _keep(config, r.remaining) for path, r in results.items()}
    ruff_findings = _keep(config, ruff_runner.to_findings(diagnostics, display, unsafe_fixes))
    report.counts_before = dict(Counter(f.code for f in [*ours, *ruff_findings]))

    diffs: list[str] = []
    current: dict[str, bytes] = dict(originals)
    for path, result in sorted(results.items()):
        if result.new_source is None:
            continue
        decoded = decode(originals[path])
        diffs.append(_unified_diff(decoded.text, result.new_source, display[path]))
        if apply:
            new_bytes = decoded.encode(result.new_source)
            if Path(path).read_bytes() != originals[path]:
                LOG.warning("%s changed while it was being analysed; not writing it", display[path])
                continue
            atomic_write(Path(path), new_bytes)
            current[path] = new_bytes
            report.changed_files.append(Path(path))
    written = {display[str(p)] for p in report.changed_files}
    ours = [dataclasses.replace(f, fixed=True) if f.fixable and f.path in written else f for f in ours]

    ruff_after: list[Finding]
    if ruff_wanted and any(f.fixable for f in ruff_findings):
        scope = _ruff_fix_scope(config)
        if apply:
            after = ruff_runner.check(ruff_paths, root, fix=True, unsafe_fixes=unsafe_fixes, options=scope)
            ruff_after = _keep(config, ruff_runner.to_findings(after, display, unsafe_fixes))
            ruff_findings = _mark_ruff_fixed(ruff_findings, ruff_after)
            _pick_up_ruff_changes(files, current, display, config, unsafe_fixes, remaining, report)
        else:
            ruff_after = [f for f in ruff_findings if not f.fixable]
            if want_diff:  # ruff's --diff is a second ruff run: skipped where nobody reads the diff
                diffs.append(ruff_runner.diff(ruff_paths, root, unsafe_fixes=unsafe_fixes, options=scope))
    else:
        ruff_after = list(ruff_findings)

    report.findings = sorted([*ours, *ruff_findings], key=finding_sort_key)
    report.errors = [f for f in report.findings if f.code == PARSE_ERROR_CODE]
    left = [f for r in remaining.values() for f in r] + ruff_after
    report.counts_after = dict(Counter(f.code for f in left))
    report.diff = "".join(diffs)
    report.changed_files.sort()
    return report


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
    caches: dict[tuple[str, ...], ResultCache] = {}
    results: dict[str, FileResult] = {}
    originals: dict[str, bytes] = {}
    tasks: list[Task] = []
    digests: dict[str, tuple[str, tuple[str, ...]]] = {}
    readable: list[tuple[Path, str, bytes]] = []
    for file in files:
        path = str(file)
        rel = display[path]
        codes = tuple(c for c in all_codes if not config.ignored_in_file(rel, c))
        if codes not in caches:
            caches[codes] = ResultCache(config.root, codes, unsafe_fixes, enabled=use_cache)
        try:
            data = file.read_bytes()
        except OSError as err:
            _, results[path] = _analyze_task((path, rel, codes, unsafe_fixes))
            LOG.warning("cannot read %s: %s", rel, err)
            continue
        originals[path] = data
        readable.append((file, rel, data))
    index = _project_index(readable, config.root, use_cache)
    for file, rel, data in readable:
        path = str(file)
        codes = tuple(c for c in all_codes if not config.ignored_in_file(rel, c))
        # a file's results depend on its own bytes and on the summaries of the modules it imports
        info = index.module_for_path(rel)
        digest = content_hash(data) + ("-" + index.context_digest(info) if info is not None else "")
        digests[path] = (digest, codes)
        cached = caches[codes].get(digest, rel)
        if cached is not None:
            results[path] = cached
        else:
            tasks.append((path, rel, codes, unsafe_fixes))
    n_jobs = jobs or os.cpu_count() or 1
    if progress and len(tasks) > 50:
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task_id = bar.add_task(f"analysing {len(tasks)} files", total=len(tasks))
            fresh = _run_tasks(tasks, n_jobs, lambda n: bar.advance(task_id, n), index)
    else:
        fresh = _run_tasks(tasks, n_jobs, index=index)
    for path, result in fresh.items():
        results[path] = result
        digest, codes = digests[path]
        caches[codes].put(digest, result)
    for cache in caches.values():
        cache.save()
    return results, originals


def _project_index(readable: list[tuple[Path, str, bytes]], root: Path, use_cache: bool) -> ProjectIndex:
    """The project index of the run (one `ast` pass; unchanged files' summaries from the cache)."""
    sources = []
    for file, rel, data in readable:
        try:
            text = decode(data).text
        except (SyntaxError, UnicodeDecodeError, LookupError):
            continue  # the engine reports it as MNT000
        sources.append((file, rel, text, content_hash(data)))
    cache = IndexCache(root / CACHE_DIR if use_cache else None, tool_fingerprint())
    return build_index(sources, root, cache)


def _mark_ruff_fixed(before: list[Finding], after: list[Finding]) -> list[Finding]:
    """Mark as fixed, per (file, code), as many fixable findings as disappeared after `ruff --fix`."""
    left = Counter((f.path, f.code) for f in after)
    seen: Counter[tuple[str, str]] = Counter()
    total = Counter((f.path, f.code) for f in before)
    out = []
    for f in before:
        key = (f.path, f.code)
        gone = total[key] - left[key]
        if f.fixable and seen[key] < gone:
            seen[key] += 1
            out.append(dataclasses.replace(f, fixed=True))
        else:
            out.append(f)
    return out


def _pick_up_ruff_changes(
    files: list[Path],
    current: dict[str, bytes],
    display: dict[str, str],
    config: Config,
    unsafe_fixes: bool,
    remaining: dict[str, list[Finding]],
    report: FixReport,
) -> None:
    """Files ruff rewrote count as changed, and our findings in them are re-analysed on the new text."""
    changed = set(map(str, report.changed_files))
    for file in files:
        path = str(file)
        if path not in current:
            continue
        data = file.read_bytes()
        if data == current[path]:
            continue
        if path not in changed:
            report.changed_files.append(file)
        rel = display[path]
        codes = tuple(c for c in MNT_CODES if config.selects(c) and not config.ignored_in_file(rel, c))
        from maintenance.engine import analyze_text

        again = analyze_text(decode(data).text, rel, codes, unsafe_fixes=unsafe_fixes, index=_INDEX)
        remaining[path] = _keep(config, again.findings)


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
            "per-file-ignores); ruff's findings follow the repository's own ruff configuration. Suppress one "
            "finding with `# noqa: MNT001` on its line. Exit status: 0 no findings left, 1 findings left, "
            "2 usage or internal error. Results are cached in <root>/.maintenance_cache/."
        ),
    )
    parser.add_argument("paths", nargs="*", default=["."], help="files or directories to check (default: .)")
    parser.add_argument(
        "--apply", action="store_true", help="write the fixes (atomically) and run `ruff check --fix`"
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
        help="also apply unsafe fixes (MNT005 deletions, ruff's unsafe fixes)",
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
        "--list", action="store_true", help="print the documentation of every codemod and exit"
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
    parser.add_argument("--version", action="version", version=f"maintenance.fix {__version__}")
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
        sys.stdout.write(render_list(_split(args.select)))
        return 0
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
        )
    except (ConfigError, FileNotFoundError, ruff_runner.RuffError) as err:
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
