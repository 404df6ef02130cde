"""Real code: the engine over the installed sources of numpy and torch (thousands of files).

Zero crashes, and every file the fixes change (unsafe fixes included, to exercise every rewrite) still
compiles wherever the original compiled. Prints the file count, findings by code and the time taken.
"""

from __future__ import annotations

import importlib.util
import os
import time
import warnings
from collections import Counter
from pathlib import Path

import pytest

from maintenance import fix as fix_module
from maintenance.codemods import REGISTRY


def _sources(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} is not installed in this environment")
    return Path(next(iter(spec.submodule_search_locations)))


def _compiles(source: str, name: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(source, name, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize("package", ["numpy", "torch"])
def test_installed_sources(package: str) -> None:
    root = _sources(package)
    files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    codes = tuple(c.CODE for c in REGISTRY)
    tasks = [(str(p), p.relative_to(root).as_posix(), codes, True) for p in files]
    start = time.perf_counter()
    results = fix_module.run_tasks(tasks, os.cpu_count() or 1)  # an exception in any file fails the test
    elapsed = time.perf_counter() - start
    assert len(results) == len(files)

    changed = {path: r for path, r in results.items() if r.new_source is not None}
    broken = [
        r.path
        for path, r in changed.items()
        if _compiles(Path(path).read_text(encoding="utf-8", errors="replace"), path)
        and not _compiles(r.new_source or "", path)
    ]
    counts = Counter(f.code for r in results.values() for f in r.findings)
    print(
        f"\n{package}: {len(files)} files in {elapsed:.1f}s ({len(files) / elapsed:.1f} files/s), "
        f"findings {dict(sorted(counts.items()))}, {len(changed)} files changed by the fixes"
    )
    assert broken == [], f"fixed output no longer compiles: {broken}"
