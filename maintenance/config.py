"""`[tool.maintenance]` of the target repository: which codes run, which files are skipped.

```toml
[tool.maintenance]
select = ["MNT", "ruff"]          # code prefixes; "ruff" = every ruff finding, "ALL" = everything
ignore = []                        # prefixes to drop
exclude = ["tests/fixtures"]       # globs relative to the root (a directory excludes what is under it)
per-file-ignores = { "tests/**" = ["MNT004"] }
extend-ruff-fixable = ["I001"]     # ruff rules whose fixes --apply may make, added to the shipped list
# ruff-fixable = ["F401", "F541"]  # or replace the shipped allow-list (maintenance.ruff_policy)
```
Ruff's findings follow the target's own ruff configuration; `select`/`ignore` here filter them further.
"""

from __future__ import annotations

import fnmatch
import logging
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from maintenance.ruff_policy import RUFF_FIX_ALLOWLIST

LOG = logging.getLogger(__name__)
DEFAULT_SELECT = ("MNT", "ruff")
# directory names never descended into (unless given explicitly on the command line)
DEFAULT_EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".nox",
        ".tox",
        ".eggs",
        "__pycache__",
        "node_modules",
        "site-packages",
        ".maintenance_cache",
        ".ruff_cache",
        ".mypy_cache",
        ".pytest_cache",
        "build",
        "dist",
    }
)


class ConfigError(ValueError):
    """`[tool.maintenance]` holds something that is not understood."""


@dataclass
class Config:
    """The fixer's configuration for one root."""

    root: Path
    select: list[str] = field(default_factory=lambda: list(DEFAULT_SELECT))
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    # ruff rule -> why its fix keeps behaviour ("" for entries added in pyproject.toml)
    ruff_fixable: dict[str, str] = field(default_factory=lambda: dict(RUFF_FIX_ALLOWLIST))

    def selects(self, code: str) -> bool:
        """Whether a finding with `code` is reported (selected and not ignored)."""
        return code_matches(code, self.select) and not code_matches(code, self.ignore)

    def wants_ruff(self) -> bool:
        """Whether any selector can match a ruff code."""
        return any(not sel.upper().startswith("MNT") for sel in self.select)

    def ignored_in_file(self, relpath: str, code: str) -> bool:
        """Whether `per-file-ignores` drops `code` in the file at `relpath` (posix, relative to the root)."""
        return any(
            path_matches(relpath, pattern) and code_matches(code, codes)
            for pattern, codes in self.per_file_ignores.items()
        )

    def excluded(self, relpath: str) -> bool:
        """Whether `relpath` (posix, relative to the root) or a directory above it is excluded."""
        return any(path_matches(relpath, pattern) for pattern in self.exclude)


def code_matches(code: str, selectors: Iterable[str]) -> bool:
    """`code` against selectors: a prefix (`MNT`, `MNT00`, `F`, `E501`), `ruff` (any non-MNT code) or `ALL`."""
    code = code.upper()
    for selector in selectors:
        sel = selector.strip().upper()
        if sel == "ALL" or (sel == "RUFF" and not code.startswith("MNT")) or (sel and code.startswith(sel)):
            return True
    return False


def path_matches(relpath: str, pattern: str) -> bool:
    """Glob match of a posix path or of any directory above it (`**` matches across directories)."""
    pattern = pattern.strip().rstrip("/")
    path = PurePosixPath(relpath)
    candidates = [str(path), *(str(parent) for parent in path.parents if str(parent) != ".")]
    if "/" not in pattern:
        candidates += list(path.parts)
    glob = pattern.replace("**/", "*/").replace("/**", "/*")
    return any(
        fnmatch.fnmatchcase(candidate, glob) or fnmatch.fnmatchcase(candidate, pattern)
        for candidate in candidates
    )


def find_root(paths: Sequence[Path]) -> Path:
    """The project root: the nearest directory above the paths with a pyproject.toml or .git."""
    resolved = [p.resolve() for p in paths] or [Path.cwd().resolve()]
    common = Path(*_common_parts(resolved))
    start = common if common.is_dir() else common.parent
    for candidate in [start, *start.parents]:
        if (candidate / "pyproject.toml").is_file() or (candidate / ".git").exists():
            return candidate
    return start


def _common_parts(paths: list[Path]) -> tuple[str, ...]:
    parts = paths[0].parts
    for path in paths[1:]:
        n = 0
        while n < min(len(parts), len(path.parts)) and parts[n] == path.parts[n]:
            n += 1
        parts = parts[:n]
    return parts or ("/",)


def _codes(value: object, key: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(
        f'[tool.maintenance] {key} = {value!r}: expected a list of code prefixes such as ["MNT", "ruff"]'
    )


def load_config(root: Path) -> Config:
    """Read `[tool.maintenance]` from `root/pyproject.toml`; defaults when the file or table is absent."""
    pyproject = root / "pyproject.toml"
    table: dict[str, object] = {}
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(
                f"{pyproject} is not valid TOML ({err}); fix it or pass --root elsewhere"
            ) from err
        table = data.get("tool", {}).get("maintenance", {})
    known = {
        "select",
        "ignore",
        "exclude",
        "per-file-ignores",
        "extend-select",
        "ruff-fixable",
        "extend-ruff-fixable",
    }
    unknown = set(table) - known
    if unknown:
        raise ConfigError(
            f"[tool.maintenance] in {pyproject}: unknown keys {sorted(unknown)}; known keys are {sorted(known)}"
        )
    config = Config(root=root)
    if "select" in table:
        config.select = _codes(table["select"], "select")
    if "extend-select" in table:
        config.select += _codes(table["extend-select"], "extend-select")
    config.ignore = _codes(table.get("ignore", []), "ignore")
    config.exclude = _codes(table.get("exclude", []), "exclude")
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(
            f"[tool.maintenance] per-file-ignores = {per_file!r}: expected a table of glob = [codes]"
        )
    config.per_file_ignores = {str(k): _codes(v, f"per-file-ignores.{k}") for k, v in per_file.items()}
    if "ruff-fixable" in table:
        config.ruff_fixable = {
            code: RUFF_FIX_ALLOWLIST.get(code, "") for code in _codes(table["ruff-fixable"], "ruff-fixable")
        }
    for code in _codes(table.get("extend-ruff-fixable", []), "extend-ruff-fixable"):
        config.ruff_fixable.setdefault(code, RUFF_FIX_ALLOWLIST.get(code, ""))
    return config
