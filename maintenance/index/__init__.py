"""The project index: one cheap `ast` pass over every file of a run, so that codemods see across modules.

For each module the index keeps a JSON-able summary (`ModuleInfo`): its top-level classes (`ClassInfo`:
bases as written and resolved, dataclass / frozen / `__eq__` without `__hash__`, methods with their
signatures, `self.<attr> = Cls(...)` bindings made in `__init__`), its top-level functions (`FunctionInfo`:
signature, decorators, whether it never returns by a *sound* inference), its import bindings (absolute,
relative, `import a.b as c`, inside `try/except` and `if TYPE_CHECKING`) and the names that something in
the module may rebind. `ProjectIndex` maps module names to summaries and resolves a name through imports
and `__init__.py` re-exports to the class, function or module it denotes (`resolve`), follows base
classes across modules (`mro`), and says which modules depend on which (`dependencies`), which is what
the result cache keys on so that a change in one file invalidates the results of the files that use it.

How a codemod reaches it: the engine puts the index and the summary of the file being analysed on the
`FileContext` (`context.index`, `context.module`); the `ast` prefilter `Codemod.may_match(tree, source,
context)` receives the same context. When a single text is analysed on its own (`analyze_text` without an
index, as the examples tests do), the engine builds a one-module index of that text, so `context.index`
is never `None`. Typical use:

    info = context.index.resolve(context.module.name, "FeatureParams")   # ClassInfo | FunctionInfo | ...
    if isinstance(info, ClassInfo) and context.index.unhashable(info): ...

Module names are resolved against the run's root and the usual layouts: a file inside packages (folders
with `__init__.py`) is named from its outermost package (`src/pkg/a.py` -> `pkg.a`); every file is also
reachable by its root-relative dotted path (`src.pkg.a`, `scripts.train`), and a file outside any package
by its stem (`train`), which is how a script that puts its folder on `sys.path` imports its neighbours.
Whatever the index cannot see (third-party code, a dynamic import) resolves to `None`: callers skip it.

The package, one concern per module: `model` (the records), `summarize` (the `ast` pass that builds a
`ModuleInfo`), `never_returns` (the sound never-returning inference), `names` (module naming, relative
imports), `project` (`ProjectIndex`: resolution, the class hierarchy, digests), `graph` (the import graph's
closures) and `build` (`build_index`). Its cache is `maintenance.cache.IndexCache`.
"""

from __future__ import annotations

from maintenance.astutil import cyclic_gc_paused, dotted, parse
from maintenance.cache import IndexCache
from maintenance.index.build import Summaries, build_index, single_module_index, summarize_file, summary_data
from maintenance.index.model import (
    DATACLASS_DECORATORS,
    EXIT_FUNCTIONS,
    NN_MODULE,
    NO_RETURN_NAMES,
    SAME_MODULE_METHODS,
    SIGNATURE_KEEPING_WRAPPERS,
    ClassInfo,
    FunctionInfo,
    ImportBinding,
    ModuleInfo,
    Signature,
    Symbol,
    can_rebind,
    json_digest,
    signature_from_ast,
)
from maintenance.index.names import module_names, resolve_relative
from maintenance.index.never_returns import (
    BREAK,
    CONTINUE,
    NORMAL,
    RAISE,
    RETURN,
    Completion,
    infer_across,
    infer_never_returning,
    local_call_resolver,
)
from maintenance.index.project import ProjectIndex
from maintenance.index.summarize import summarize

__all__ = [
    "BREAK",
    "CONTINUE",
    "DATACLASS_DECORATORS",
    "EXIT_FUNCTIONS",
    "NN_MODULE",
    "NORMAL",
    "NO_RETURN_NAMES",
    "RAISE",
    "RETURN",
    "SAME_MODULE_METHODS",
    "SIGNATURE_KEEPING_WRAPPERS",
    "ClassInfo",
    "Completion",
    "FunctionInfo",
    "ImportBinding",
    "IndexCache",
    "ModuleInfo",
    "ProjectIndex",
    "Signature",
    "Summaries",
    "Symbol",
    "build_index",
    "can_rebind",
    "cyclic_gc_paused",
    "dotted",
    "infer_across",
    "infer_never_returning",
    "json_digest",
    "local_call_resolver",
    "module_names",
    "parse",
    "resolve_relative",
    "signature_from_ast",
    "single_module_index",
    "summarize",
    "summarize_file",
    "summary_data",
]
