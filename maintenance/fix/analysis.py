"""Reading the files of a run and analysing them: cached results where the content is unchanged, the project
index, then the engine on the rest (in the workers or in this process)."""

from __future__ import annotations

import errno
import gc
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from maintenance.astutil import cyclic_gc_paused
from maintenance.cache import CACHE_DIR, IndexCache, ResultCache, content_hash, tool_fingerprint
from maintenance.codes import MNT_CODES
from maintenance.config import Config, code_matches
from maintenance.findings import PARSE_ERROR_CODE, FileResult, Finding, unreadable
from maintenance.fix.phases import phase
from maintenance.fix.workers import (
    PARALLEL_MIN_FILES,
    Task,
    Workers,
    forget_kept,
    run_tasks,
    set_index,
    summarize_here,
)
from maintenance.index import ProjectIndex, build_index
from maintenance.source import decode


def analyze(
    files: list[Path],
    display: dict[str, str],
    config: Config,
    unsafe_fixes: bool,
    jobs: int | None,
    use_cache: bool,
    progress: bool,
    on_read: Callable[[dict[str, bytes]], object] | None = None,
    process_ends: bool = False,
) -> tuple[dict[str, FileResult], dict[str, bytes]]:
    """Results for every file, from the cache where the content is unchanged, else from the engine.

    `on_read` receives the bytes of every readable file (path -> bytes) as soon as they are read (the ruff
    side of a run makes its findings from them while the analysis goes on). `process_ends`: what is alive
    at the end stays in the collector's permanent generation (see `run_fix`)."""
    all_codes = tuple(c for c in MNT_CODES if config.selects(c))
    n_jobs = jobs or os.cpu_count() or 1
    # the workers start (and import the engine) while this process reads the files
    workers = Workers(n_jobs) if n_jobs > 1 and len(files) >= PARALLEL_MIN_FILES else None
    forget_kept()
    try:
        results, originals, readable = _read_files(files, display)
        if on_read is not None:
            on_read(originals)
        # the collector is paused while the summaries arrive and the index is built, and what is alive then
        # (the index, the trees a run in this process keeps) moves to the permanent generation: otherwise
        # every later collection (unpickling results, pickling the index for the workers) walks it again
        hashes = {str(file): content_hash(data) for file, _rel, data, _text in readable}
        with (
            phase("index (module summaries, never-returning inference)") as facts,
            cyclic_gc_paused(freeze=True),
        ):
            index, index_cache = _project_index(readable, hashes, config.root, use_cache, workers)
            facts["modules"] = len(index.modules)
        set_index(index)  # the re-analyses after --apply (counts, --verify) see the same index
        caches: dict[tuple[str, ...], ResultCache] = {}
        tasks: list[Task] = []
        digests: dict[str, tuple[str, tuple[str, ...]]] = {}
        later: list[tuple[str, str, tuple[str, ...]]] = []  # digests no lookup needs

        def digest_of(path: str, rel: str) -> str:
            # a file's results depend on its own bytes and on the summaries of the modules it imports
            info = index.module_for_path(rel)
            return hashes[path] + ("-" + index.context_digest(info) if info is not None else "")

        for file, rel, _data, _text in readable:
            path = str(file)
            codes = tuple(c for c in all_codes if not config.ignored_in_file(rel, c))
            if codes not in caches:
                caches[codes] = ResultCache(config.root, codes, unsafe_fixes, enabled=use_cache)
            if caches[codes].entries:  # a result may be cached: the digest decides
                digests[path] = (digest_of(path, rel), codes)
                cached = caches[codes].get(digests[path][0], rel)
                if cached is not None:
                    results[path] = cached
                    continue
            elif use_cache:  # an empty cache (a cold run): the digest only keys the result stored later
                later.append((path, rel, codes))
            tasks.append((path, rel, codes, unsafe_fixes))

        def meanwhile() -> None:
            # while the workers analyse: the caches' work that the analysis does not wait for
            index_cache.save()  # (1 s of JSON on 8,285 files)
            for path, rel, codes in later:
                digests[path] = (digest_of(path, rel), codes)

        with phase("rules (files not in the result cache)") as facts:
            fresh = _analyze_tasks(
                tasks,
                n_jobs,
                index,
                workers,
                {p: len(d) for p, d in originals.items()},
                progress,
                meanwhile,
            )
            facts["files"] = len(tasks)
    finally:
        if process_ends:
            gc.freeze()  # the results too: no later collection of this short-lived process walks them
        else:
            gc.unfreeze()  # back to the oldest generation: a process that goes on collects them as usual
        forget_kept()  # the trees of files whose results came from the cache
        if workers is not None:
            workers.close()
    for path, result in fresh.items():
        results[path] = result
        if path in digests:  # (none without the cache)
            digest, codes = digests[path]
            caches[codes].put(digest, result)
    for cache in caches.values():
        cache.save()
    return results, originals


def _read_files(
    files: list[Path], display: dict[str, str]
) -> tuple[dict[str, FileResult], dict[str, bytes], list[tuple[Path, str, bytes, str]]]:
    """The bytes and decoded text of every readable file (each read and decoded once); an unreadable one
    gets its MNT000 result right away."""
    results: dict[str, FileResult] = {}
    originals: dict[str, bytes] = {}
    readable: list[tuple[Path, str, bytes, str]] = []
    for file in files:
        path = str(file)
        rel = display[path]
        data, text, problem = _read(file)
        if problem is not None:
            results[path] = FileResult(path=rel, findings=[unreadable(rel, *problem)])
            results[path].remaining = list(results[path].findings)
            continue
        originals[path] = data
        readable.append((file, rel, data, text))
    return results, originals, readable


def _read(file: Path) -> tuple[bytes, str, tuple[str, str] | None]:
    """(bytes, text, None) for a readable Python source; (b"", "", (problem, advice)) when it cannot be read
    or decoded."""
    exclude = "or list it under [tool.maintenance] exclude"
    try:
        data = file.read_bytes()
    except OSError as err:
        if file.is_symlink() and not file.exists():
            target = file.readlink()
            try:
                file.stat()
            except OSError as loop:
                if loop.errno == errno.ELOOP:
                    return (
                        b"",
                        "",
                        (
                            f"symlink loop ({file.name} -> {target})",
                            f"point the link at a real file {exclude}",
                        ),
                    )
            return (
                b"",
                "",
                (f"dangling symlink to {target}, which does not exist", f"fix or delete the link {exclude}"),
            )
        advice = "make it readable (check its permissions)" if err.errno == errno.EACCES else "check the file"
        return b"", "", (f"cannot read: {err.strerror or err}", f"{advice} {exclude}")
    try:
        text = decode(data).text
    except (SyntaxError, UnicodeDecodeError, LookupError) as err:
        return (
            b"",
            "",
            (
                f"cannot decode: {err}",
                f"save it as UTF-8 (or give it a correct `# -*- coding: ... -*-` line) {exclude}",
            ),
        )
    return data, text, None


def _analyze_tasks(
    tasks: list[Task],
    n_jobs: int,
    index: ProjectIndex,
    workers: Workers | None,
    sizes: dict[str, int],
    progress: bool,
    meanwhile: Callable[[], None],
) -> dict[str, FileResult]:
    """Run the engine on the files the cache does not cover: in the run's workers, or in this process;
    `meanwhile` runs in this process while the workers analyse (before the analysis without them)."""

    def run(on_done: Callable[[int], None] | None) -> dict[str, FileResult]:
        if workers is not None and tasks:
            return workers.analyze(tasks, index, sizes, on_done, meanwhile)
        meanwhile()
        return run_tasks(tasks, 1, on_done, index)

    if progress and len(tasks) > 50:
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task_id = bar.add_task(f"analysing {len(tasks)} files", total=len(tasks))
            return run(lambda n: bar.advance(task_id, n))
    return run(None)


def _project_index(
    readable: list[tuple[Path, str, bytes, str]],
    digests: dict[str, str],
    root: Path,
    use_cache: bool,
    workers: Workers | None = None,
) -> tuple[ProjectIndex, IndexCache]:
    """The project index of the run (one `ast` pass, in the workers when there are; cached summaries reused)
    and its cache, not yet saved (`IndexCache.save`); `digests` are the files' content hashes."""
    sources = [(file, rel, text, digests[str(file)]) for file, rel, _data, text in readable]
    cache = IndexCache(root / CACHE_DIR if use_cache else None, tool_fingerprint())

    def summarize(
        missing: list[tuple[Path, str, str]], on_summary: Callable[[str, dict | None], None]
    ) -> dict:
        if workers is None:
            return summarize_here(missing, digests, root)
        return workers.summarize(missing, digests, root, on_summary)

    return build_index(sources, root, cache, summarize, save=False), cache


def keep(config: Config, findings: Iterable[Finding]) -> list[Finding]:
    """Findings the configuration reports (MNT000 always, unless explicitly ignored)."""
    kept = []
    for f in findings:
        if f.code == PARSE_ERROR_CODE:
            if not code_matches(f.code, [i for i in config.ignore if len(i) == len(PARSE_ERROR_CODE)]):
                kept.append(f)
        elif config.selects(f.code) and not config.ignored_in_file(f.path, f.code):
            kept.append(f)
    return kept
