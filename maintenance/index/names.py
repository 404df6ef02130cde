"""Module naming: every dotted name a file can be imported by, and the absolute module of a relative import."""

from __future__ import annotations

import functools
from pathlib import Path


def module_names(path: Path, root: Path) -> list[str]:
    """Every dotted name the file at `path` can be imported by, the canonical (package-based) one first."""
    # the folder is resolved once for all its files; only a file that is itself a symlink is resolved whole
    path = path.resolve() if path.is_symlink() else _resolved(path.parent) / path.name
    root = _resolved(root)
    try:
        rel = path.relative_to(root)
    except ValueError:
        rel = Path(path.name)
    stem_parts = list(rel.with_suffix("").parts)
    is_init = path.name == "__init__.py"
    if is_init:
        stem_parts = stem_parts[:-1]
    # outermost package: climb while the parent folder has an __init__.py
    folder = path.parent
    package_parts: list[str] = [] if is_init else [path.stem]
    if is_init:
        package_parts = [folder.name]
        folder = folder.parent
    while _is_package(folder) and folder != folder.parent and folder != root.parent:
        package_parts.insert(0, folder.name)
        folder = folder.parent
    names: list[str] = []
    for candidate in (".".join(package_parts), ".".join(stem_parts)):
        if candidate and candidate not in names and all(p.isidentifier() for p in candidate.split(".")):
            names.append(candidate)
    if stem_parts and stem_parts[0] in {"src", "lib"} and len(stem_parts) > 1:
        alt = ".".join(stem_parts[1:])
        if alt not in names:
            names.append(alt)
    return names


@functools.lru_cache(maxsize=4096)
def _is_package(folder: Path) -> bool:
    """Whether `folder` holds an `__init__.py` (asked once per folder, not once per file in it)."""
    return (folder / "__init__.py").exists()


@functools.lru_cache(maxsize=4096)
def _resolved(folder: Path) -> Path:
    return folder.resolve()


def clear_caches() -> None:
    """Forget the folders seen (`build_index` calls it: each run sees the files as they are)."""
    _is_package.cache_clear()
    _resolved.cache_clear()


def resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str | None:
    """The absolute module of `from <level dots><name> import ...` written in `module`."""
    package = module if is_package else module.rpartition(".")[0]
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    if name:
        base.append(name)
    return ".".join(base) if base else None
