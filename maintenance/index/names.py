"""Module naming: every dotted name a file can be imported by, and the absolute module of a relative import."""

from __future__ import annotations

from pathlib import Path


def module_names(path: Path, root: Path) -> list[str]:
    """Every dotted name the file at `path` can be imported by, the canonical (package-based) one first."""
    path = path.resolve()
    root = root.resolve()
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
    while (folder / "__init__.py").exists() and folder != folder.parent and folder != root.parent:
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
