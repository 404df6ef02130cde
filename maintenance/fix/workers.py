"""The worker processes of a run: each owns a share of the files for the whole run (index pass, then analysis).

A file is parsed once where it can be: the worker that summarizes it for the project index keeps its tree
(up to `KEEP_SOURCE_CHARS`) and analyses it later; beyond that budget it runs the rules' prefilters on the
tree before dropping it, and a file none passes on (most of them: in a one-process run on 8,285 files of
installed packages, 6,324 of the 6,373 files beyond the budget) is settled without being parsed again. A
file some prefilter passes on, or one another worker takes at the end of the run (`Batches`), is parsed
again. The run's index is sent to each worker once
(`set_index`), not once per file. Small runs (fewer than `PARALLEL_MIN_FILES` files, or one job)
summarize and analyse in this process, keeping the trees the same way (`summarize_here`).
"""

from __future__ import annotations

import pickle
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maintenance.astutil import TreeNodes, cyclic_gc_paused, share_walk, tree_nodes
from maintenance.cache import content_hash
from maintenance.findings import FileResult
from maintenance.index import ProjectIndex
from maintenance.source import decode

if TYPE_CHECKING:
    from maintenance.codemods import IndexCheck

PARALLEL_MIN_FILES = 24  # below this, starting worker processes costs more than it saves
# a worker's analysis batch: at most this many files or characters (large files go one or two at a time,
# so that the last batches, the run's tail, are short); IN_FLIGHT batches per worker are queued at once
BATCH_FILES = 8
BATCH_CHARS = 200_000
IN_FLIGHT = 2
# a chunk of the index pass: at most this many files or characters (large files go one or two at a time)
SUMMARY_FILES = 64
SUMMARY_CHARS = 1_000_000
UNMATCHED_BATCH = 256  # files no prefilter passed on take about 0.1 ms each: a batch is still short


Task = tuple[str, str, tuple[str, ...], bool]


_INDEX: ProjectIndex | None = None  # the run's project index, in this process and in each worker


def set_index(index: ProjectIndex | None) -> None:
    """Worker initializer: the index is sent once per worker, not once per file."""
    global _INDEX
    _INDEX = index


def _set_index_from(blob: bytes) -> None:
    """Worker side of `Workers.analyze`: the run's index, unpickled once in each worker (with the collector
    paused: unpickling allocates the whole index, and each full collection would walk all of it again,
    2-3x the time of the unpickling itself; the index then lives in the permanent generation for the run)."""
    with cyclic_gc_paused(freeze=True):
        set_index(pickle.loads(blob))


def current_index() -> ProjectIndex | None:
    """The run's project index in this process (what the re-analyses after `--apply` see)."""
    return _INDEX


def analyze_task(task: Task) -> tuple[str, FileResult]:
    """Worker entry point (module level, so that it pickles); reuses the tree the worker kept for the index."""
    from maintenance.engine import analyze_file, analyze_text  # libcst is only imported where needed

    path, display, codes, unsafe = task
    checks = _UNMATCHED.pop(path, None)
    if checks is not None and _INDEX is not None:
        from maintenance.engine import result_without_tree

        result = result_without_tree(checks, display, _INDEX)
        if result is not None:
            return path, result
    kept = _KEPT.pop(path, None)
    if kept is not None:
        text, tree, nodes = kept
        _KEPT_CHARS[0] -= len(text)
        share_walk(tree, nodes)  # the walk the summarizer made: the codemods do not walk the tree again
        return path, analyze_text(text, display, codes, unsafe_fixes=unsafe, index=_INDEX, tree=tree)
    result, _ = analyze_file(Path(path), display, codes, unsafe, _INDEX)
    return path, result


# the trees a worker parsed for the index, with their shared walk (`tree_nodes`), kept for its analysis of
# the same files (bounded by source size)
_KEPT: dict[str, tuple[str, Any, TreeNodes]] = {}


_KEPT_CHARS = [0]  # the characters of the sources in _KEPT (not summed again for every file)


# the files beyond the keep budget on which the index pass found no rule's prefilter to pass (whatever the
# index holds, or unless the checks kept here pass with the run's index): most are never parsed again
_UNMATCHED: dict[str, list[IndexCheck]] = {}


# per worker: `ast` trees take about 40 bytes per source character (measured on 8,285 files of installed
# packages), so 16M characters keep a worker near 1.2 GB; files beyond it are parsed again for the analysis
KEEP_SOURCE_CHARS = 16_000_000


def _summarize_chunk(
    chunk: list[tuple[str, str, str]], root: str, freeze: bool = True
) -> list[tuple[str, dict[str, Any] | None, bool]]:
    """Worker entry point of the index pass: read, parse and summarize files; keep their trees within the
    budget, and beyond it run the rules' prefilters before the index exists (`prefilter_before_index`):
    a file none passes is settled later without its tree. Each file's (display path, summary, whether
    the analysis needs its tree)."""
    from maintenance.engine import prefilter_before_index
    from maintenance.index import summarize_file, summary_data

    out: list[tuple[str, dict[str, Any] | None, bool]] = []
    with cyclic_gc_paused(freeze=freeze):  # a worker's kept trees live for the run: collections skip them
        for path, display, digest in chunk:
            try:
                data = Path(path).read_bytes()
                text = decode(data).text
            except (OSError, SyntaxError, UnicodeDecodeError, LookupError):
                out.append((display, None, True))
                continue
            if content_hash(data) != digest:  # changed since the run read it: summarize what the run read
                out.append((display, None, True))
                continue
            summary = summarize_file(Path(path), display, text, Path(root))
            if summary is None:
                out.append((display, None, True))
                continue
            info, tree = summary
            checks = None
            if _KEPT_CHARS[0] + len(text) <= KEEP_SOURCE_CHARS:
                replaced = _KEPT.get(path)
                _KEPT[path] = (text, tree, tree_nodes(tree))  # (the summarizer's walk)
                _KEPT_CHARS[0] += len(text) - (len(replaced[0]) if replaced is not None else 0)
            else:  # beyond the budget: the tree is dropped, and parsed again only if some rule may need it
                checks = prefilter_before_index(tree, text, display, info)
                if checks is not None:
                    _UNMATCHED[path] = checks
            out.append((display, summary_data(info), checks is None))
    return out


def summarize_here(missing: list[tuple[Path, str, str]], digests: dict[str, str], root: Path) -> dict:
    """The index pass in this process (a run without workers), keeping the trees for the analysis."""
    chunk = [(str(path), display, digests[str(path)]) for path, display, _text in missing]
    # this process lives on: no freeze
    return {display: data for display, data, _ in _summarize_chunk(chunk, str(root), freeze=False)}


def forget_kept() -> None:
    """Drop the trees kept in this process (a run's start and end: a later run re-reads its files)."""
    _KEPT.clear()
    _KEPT_CHARS[0] = 0
    _UNMATCHED.clear()


def _load_engine() -> None:
    """Worker entry point: import the engine and its codemods before the first analysis needs them."""
    import maintenance.engine  # noqa: F401


def _analyze_chunk(tasks: list[Task]) -> list[tuple[str, FileResult]]:
    return [analyze_task(task) for task in tasks]


class Workers:
    """Worker processes that each own a share of the files for the whole run (index pass, then analysis).

    The worker that summarizes a file for the index keeps its tree (within the keep budget) and analyses
    it later (one single-process executor per worker, so that a file's analysis reaches its owner). The
    index pass hands out chunks, largest files first, to whichever worker frees up (`summarize`); files
    the index cache already covers go to the least loaded worker when they need analysis. The analysis
    goes out in `Batches`: a worker that has done its share takes the smallest files of another's, so that
    the run does not wait on one worker's tail.
    """

    def __init__(self, jobs: int) -> None:
        from concurrent.futures import ProcessPoolExecutor

        self.pools = [ProcessPoolExecutor(max_workers=1) for _ in range(jobs)]
        for pool in self.pools:  # each starts (and imports the engine) while this process reads the files
            pool.submit(_load_engine)
        self.load = [0] * jobs
        self.owner: dict[str, int] = {}
        self.unmatched: set[str] = set()  # files whose owner needs no tree to analyse them (most of them)

    def _assign(self, path: str, size: int) -> int:
        worker = self.owner.get(path)
        if worker is None:
            worker = min(range(len(self.pools)), key=self.load.__getitem__)
            self.owner[path] = worker
        self.load[worker] += size
        return worker

    def summarize(
        self,
        missing: list[tuple[Path, str, str]],
        digests: dict[str, str],
        root: Path,
        on_summary: Callable[[str, dict | None], None] | None = None,
    ) -> dict:
        """Every missing file's summary, made in the workers; `on_summary` is given each as its chunk arrives
        (this process turns them into the index's objects while the workers make the rest).

        The files go out largest first in chunks (at most `SUMMARY_FILES` files or `SUMMARY_CHARS`
        characters, and about 8 or more per worker), each to the next worker that has one chunk or none
        left to do, so that the workers finish together; the worker that summarizes a file owns it for the
        analysis."""
        from concurrent.futures import FIRST_COMPLETED, Future, wait

        # at least about 8 chunks per worker, so that the last ones are short whatever the run's size
        limit = min(SUMMARY_CHARS, sum(len(m[2]) for m in missing) // (8 * len(self.pools)) + 1)
        chunks = deque(_sized_chunks(sorted(missing, key=lambda m: -len(m[2])), limit))
        by_display = {display: path for path, display, _text in missing}
        running: dict[Future, int] = {}

        def submit(worker: int) -> None:
            if not chunks:
                return
            chunk = chunks.popleft()
            for path, _display, text in chunk:
                self.owner[str(path)] = worker
                self.load[worker] += len(text)
            work = [(str(path), display, digests[str(path)]) for path, display, _text in chunk]
            running[self.pools[worker].submit(_summarize_chunk, work, str(root))] = worker

        for worker in range(len(self.pools)):
            for _ in range(IN_FLIGHT):
                submit(worker)
        summaries = {}
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                worker = running.pop(future)
                submit(worker)  # first: the worker's next chunk is queued before this one is read
                for display, data, needs_tree in future.result():
                    summaries[display] = data
                    if on_summary is not None:
                        on_summary(display, data)
                    if not needs_tree:
                        self.unmatched.add(str(by_display[display]))
        return summaries

    def analyze(
        self,
        tasks: list[Task],
        index: ProjectIndex,
        sizes: dict[str, int],
        on_done: Callable[[int], None] | None,
        meanwhile: Callable[[], None] | None = None,
    ) -> dict[str, FileResult]:
        # pickled once for all the workers, with the collector paused: the reductions allocate a tuple per
        # object, and the collections they set off took 0.5 of 1.35 s on 8,285 files' index
        with cyclic_gc_paused():
            blob = pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL)
        for pool in self.pools:
            pool.submit(_set_index_from, blob)  # once per worker, before its analyses (one process: in order)
        queues: list[list[Task]] = [[] for _ in self.pools]
        unmatched: list[list[Task]] = [[] for _ in self.pools]  # only their owner has their checks
        for task in sorted(tasks, key=lambda t: -sizes.get(t[0], 0)):
            if task[0] in self.unmatched:
                unmatched[self.owner[task[0]]].append(task)
            else:
                queues[self._assign(task[0], sizes.get(task[0], 0))].append(task)
        batches = Batches(queues, sizes, unmatched)
        from concurrent.futures import FIRST_COMPLETED, Future, wait

        running: dict[Future, int] = {}

        def submit(worker: int) -> None:
            batch = batches.take(worker)
            if batch:
                running[self.pools[worker].submit(_analyze_chunk, batch)] = worker

        for worker in range(len(self.pools)):
            for _ in range(IN_FLIGHT):  # a second batch waits in the worker's pipe: no gap between batches
                submit(worker)
        if meanwhile is not None:  # this process's own work while the workers unpickle the index and analyse
            meanwhile()
        results: dict[str, FileResult] = {}
        with cyclic_gc_paused():  # the results are unpickled here
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    worker = running.pop(future)
                    done = future.result()
                    results.update(done)
                    if on_done:
                        on_done(len(done))
                    submit(worker)
        return results

    def close(self) -> None:
        for pool in self.pools:
            pool.shutdown(cancel_futures=True)


class Batches:
    """The analysis batches of a run's workers: each worker's `unmatched` files first (no prefilter passed
    in the index pass: checked without a tree, `UNMATCHED_BATCH` at a time, never taken by another worker,
    which would parse them), then its own queue, largest first (it kept their trees), in batches of at most
    `BATCH_FILES` files or `BATCH_CHARS` characters; a worker with nothing of its own left takes from the
    back of the queue with the most characters left (the smallest files, which it parses again), so that no
    worker idles while another still has files queued."""

    def __init__(
        self, queues: list[list[Task]], sizes: dict[str, int], unmatched: list[list[Task]] | None = None
    ) -> None:
        self.queues = [deque(queue) for queue in queues]
        self.unmatched = [list(tasks) for tasks in unmatched] if unmatched else [[] for _ in queues]
        self.sizes = sizes
        self.left = [sum(sizes.get(task[0], 0) for task in queue) for queue in queues]

    def take(self, worker: int) -> list[Task]:
        """The next batch for `worker` (empty when every queue is)."""
        if self.unmatched[worker]:  # first: only this worker can take them (and they are quick)
            batch = self.unmatched[worker][-UNMATCHED_BATCH:]
            del self.unmatched[worker][-UNMATCHED_BATCH:]
            return batch
        steal = not self.queues[worker]
        if steal:
            worker = max(range(len(self.queues)), key=lambda w: (self.left[w], len(self.queues[w])))
        queue = self.queues[worker]
        batch: list[Task] = []
        chars = 0
        while queue and len(batch) < BATCH_FILES and chars < BATCH_CHARS:
            task = queue.pop() if steal else queue.popleft()
            batch.append(task)
            chars += self.sizes.get(task[0], 0)
        self.left[worker] -= chars
        return batch


def _sized_chunks(files: list[tuple[Path, str, str]], limit: int) -> Iterator[list[tuple[Path, str, str]]]:
    """`(path, display, text)` in chunks of at most `SUMMARY_FILES` files or `limit` characters (a larger
    file goes alone)."""
    chunk: list[tuple[Path, str, str]] = []
    chars = 0
    for item in files:
        if chunk and (len(chunk) >= SUMMARY_FILES or chars + len(item[2]) > limit):
            yield chunk
            chunk, chars = [], 0
        chunk.append(item)
        chars += len(item[2])
    if chunk:
        yield chunk


def run_tasks(
    tasks: list[Task],
    jobs: int,
    on_done: Callable[[int], None] | None = None,
    index: ProjectIndex | None = None,
) -> dict[str, FileResult]:
    """Analyse files in worker processes (or in this one for small batches), with the run's `index`."""
    results: dict[str, FileResult] = {}
    set_index(index)
    if jobs <= 1 or len(tasks) < PARALLEL_MIN_FILES:
        for task in tasks:
            path, result = analyze_task(task)
            results[path] = result
            if on_done:
                on_done(1)
        return results
    from concurrent.futures import ProcessPoolExecutor

    chunksize = max(1, min(16, len(tasks) // (jobs * 8)))
    with ProcessPoolExecutor(max_workers=jobs, initializer=set_index, initargs=(index,)) as pool:
        for path, result in pool.map(analyze_task, tasks, chunksize=chunksize):
            results[path] = result
            if on_done:
                on_done(1)
    return results
