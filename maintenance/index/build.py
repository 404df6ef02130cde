"""Building the project index of a run: summaries (from the cache, the workers or made here), then the
never-returning inference across modules."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maintenance.astutil import cyclic_gc_paused, parse
from maintenance.index.model import FunctionInfo, ModuleInfo, json_digest
from maintenance.index.names import clear_caches, module_names
from maintenance.index.never_returns import infer_across, infer_never_returning
from maintenance.index.project import ProjectIndex
from maintenance.index.summarize import Summarizer

if TYPE_CHECKING:
    from maintenance.cache import IndexCache

# (files to summarize, a callback that may be given each summary as soon as it is made) -> every summary
Summaries = Callable[
    [list[tuple[Path, str, str]], Callable[[str, dict[str, Any] | None], None]],
    dict[str, dict[str, Any] | None],
]


def summarize_file(path: Path, display: str, text: str, root: Path) -> tuple[ModuleInfo, ast.Module] | None:
    """One file's summary (local never-returning inference only) and its tree; `None` when it does not parse."""
    names = module_names(path, root)
    if not names:
        return None
    try:
        tree = parse(text)
    except (SyntaxError, ValueError):
        return None
    info = Summarizer(tree, names[0], display, path.name == "__init__.py", text).run()
    infer_never_returning(tree, info, lambda _qualified: False)  # local only: safe to cache
    return info, tree


def summary_data(info: ModuleInfo) -> dict[str, Any]:
    """The JSON-able summary of a module as the index cache stores it (with its `digest`)."""
    data = info.to_dict()
    data["digest"] = json_digest(data)
    return data


def build_index(
    sources: Iterable[tuple[Path, str, str, str]],
    root: Path,
    cache: IndexCache | None = None,
    summarize: Summaries | None = None,
    save: bool = True,
) -> ProjectIndex:
    """The index of a run from `(path, display path, text, content digest)` of each file.

    A file whose text does not parse is left out (the engine reports it as MNT000). With `cache`, an
    unchanged file's summary is reused (keyed by content and by its module name, which relative imports
    depend on). `summarize` computes the summaries the cache lacks elsewhere (`maintenance.fix` runs them
    in its worker processes, which keep the trees for the analysis): it receives `(path, display, text)`
    and a callback, and returns display path -> `summary_data` (or `None` for a file that does not
    parse); given each summary as it arrives, the callback turns it into its `ModuleInfo` while the rest
    are still being made. Without it they are computed here. Never-returning functions are then inferred
    across modules to a fixpoint. The cache is saved at the end, unless `save` is false (the caller saves
    it when it has time to spare).
    """
    clear_caches()  # a folder may have gained or lost its __init__.py since the last run of this process
    run = _Build(root, cache)
    run.add_summaries(sources, summarize)
    run.infer_across_modules()
    if save and cache is not None and cache.file is not None:
        cache.save()
    return run.index


class _Build:
    """The two steps of `build_index`: the module summaries, then the cross-module inference."""

    def __init__(self, root: Path, cache: IndexCache | None) -> None:
        self.root = root
        self.cache = cache
        self.index = ProjectIndex()
        self.trees: dict[str, ast.Module] = {}  # display path -> the tree parsed here (none from a worker)
        self.texts: dict[str, str] = {}
        self.prepared: dict[str, ModuleInfo] = {}  # display path -> a fresh summary, made as it arrived
        self.keys: dict[
            str, str
        ] = {}  # display path -> cache key (content digest, module name, package flag)

    def add_summaries(
        self, sources: Iterable[tuple[Path, str, str, str]], summarize: Summaries | None
    ) -> None:
        """Every file's summary into the index: from the cache, from `summarize`, or made here."""
        cache = self.cache
        entries: list[tuple[Path, str, list[str], dict[str, Any] | None]] = []
        missing: list[tuple[Path, str, str]] = []
        for path, display, text, digest in sources:
            names = module_names(path, self.root)
            if not names:
                continue
            key = f"{digest}|{names[0]}|{path.name == '__init__.py'}"
            self.keys[display] = key
            self.texts[display] = text
            data = cache.get(key) if cache is not None else None
            entries.append((path, display, names, data))
            if data is None:
                missing.append((path, display, text))
        computed: dict[str, dict[str, Any] | None] = {}
        if summarize is not None and missing:
            first_names = {display: names[0] for _path, display, names, _data in entries}

            def prepare(display: str, data: dict[str, Any] | None) -> None:
                if data is not None:
                    self.prepared[display] = ModuleInfo.from_dict(first_names[display], display, data)

            with cyclic_gc_paused():
                computed = summarize(missing, prepare)
        else:
            for path, display, text in missing:
                summary = summarize_file(path, display, text, self.root)
                if summary is not None:
                    computed[display], self.trees[display] = summary_data(summary[0]), summary[1]
                else:
                    computed[display] = None
        with cyclic_gc_paused():  # summaries are long-lived and acyclic: no collection walks them here
            self._add(entries, computed)

    def _add(
        self,
        entries: list[tuple[Path, str, list[str], dict[str, Any] | None]],
        computed: dict[str, dict[str, Any] | None],
    ) -> None:
        cache = self.cache
        for _path, display, names, data in entries:
            fresh = data is None
            data = computed.get(display) if fresh else data
            if data is None:
                continue  # does not parse
            info = self.prepared.pop(display, None) if fresh else None
            if info is None:
                info = ModuleInfo.from_dict(names[0], display, data)
            info.local_digest = data.get("digest")
            if fresh and cache is not None and cache.file is not None:
                cache.put(self.keys[display], data)
            self.index.add(info, *names[1:])

    def infer_across_modules(self) -> None:
        """Cross-module never-returning inference: a module that imports project functions or modules is
        re-inferred, unless the cache holds its result for the same contents of it and all its dependencies."""
        index, cache, keys = self.index, self.cache, self.keys
        crossing = [
            info
            for info in index.unique_modules()
            if info.functions
            and any(
                isinstance(index.resolve_qualified(b.target, optional=False), FunctionInfo | ModuleInfo)
                for bindings in info.imports.values()
                for b in bindings
            )
        ]
        cross_keys: dict[str, str] = {}
        rebound = json_digest(sorted(index.externally_rebound()))  # a patch anywhere changes the inference
        pending: list[ModuleInfo] = []
        for info in crossing:
            deps = index.closure_digest(info, "cache key", lambda m: keys.get(m.path, ""))
            cross_keys[info.path] = json_digest([keys.get(info.path, ""), deps, rebound])
            stored = cache.get_cross(cross_keys[info.path]) if cache is not None else None
            if (
                stored is not None and info.path not in self.trees
            ):  # (the summary was cached or made by a worker)
                for fname, func in info.functions.items():
                    func.never_returns = fname in stored
            else:
                pending.append(info)
        with cyclic_gc_paused():
            infer_across(index, pending, self.tree_of)
        if cache is not None and cache.file is not None:
            for info in crossing:
                cache.put_cross(
                    cross_keys[info.path], sorted(n for n, f in info.functions.items() if f.never_returns)
                )

    def tree_of(self, info: ModuleInfo) -> ast.Module:
        """The module's tree: the one parsed for its summary, or parsed again (it parsed once: it parses)."""
        if info.path not in self.trees:
            self.trees[info.path] = parse(self.texts[info.path])
        return self.trees[info.path]


def single_module_index(
    tree: ast.Module, path: str, name: str = "__main__", source: str | None = None
) -> ProjectIndex:
    """The index of one text analysed on its own (no project around it)."""
    info = Summarizer(tree, name, path, False, source).run()
    index = ProjectIndex([info])
    infer_never_returning(tree, info, index.never_returns)
    return index
