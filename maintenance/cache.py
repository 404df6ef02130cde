"""The caches of `maintenance.fix` under `<root>/.maintenance_cache/`: results by file content, and the index.

`ResultCache`: a file whose bytes, tool version and selected rules are unchanged is not analysed again. One
JSON file per configuration under `<root>/.maintenance_cache/` maps the BLAKE2 hash of a file's bytes to
its findings (without the path, so a moved file stays cached) and, when it has fixes, to the fixed text.
The directory holds a `.gitignore` of `*`, as ruff's cache does, so it never shows up in `git status`.

`IndexCache`: the project index's module summaries by file content (and the cross-module never-returning
results by the contents a module depends on), so a warm run parses no unchanged file for the index.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from maintenance.findings import FileResult, Finding
from maintenance.source import atomic_write

LOG = logging.getLogger(__name__)
CACHE_DIR = ".maintenance_cache"
_FORMAT = 1


def content_hash(data: bytes) -> str:
    """The cache key of one file's bytes."""
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def tool_fingerprint() -> str:
    """The version of the fixer: a hash of the package's own source, so any code change invalidates the cache."""
    digest = hashlib.blake2b(digest_size=12)
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class ResultCache:
    """Findings by file content for one (tool version, selected codes, unsafe-fixes) combination."""

    def __init__(self, root: Path, codes: Sequence[str], unsafe_fixes: bool, *, enabled: bool = True) -> None:
        self.enabled = enabled
        key = f"{_FORMAT}|{tool_fingerprint()}|{','.join(sorted(codes))}|{unsafe_fixes}"
        self.directory = root / CACHE_DIR
        self.file = (
            self.directory / f"results-{hashlib.blake2b(key.encode(), digest_size=8).hexdigest()}.json"
        )
        self.entries: dict[str, dict[str, Any]] = {}
        self.dirty = False
        if enabled:
            self._load()

    def _load(self) -> None:
        try:
            self.entries = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.entries = {}
        except (OSError, ValueError) as err:
            LOG.warning("ignoring the unreadable cache %s (%s)", self.file, err)
            self.entries = {}

    def get(self, digest: str, path: str) -> FileResult | None:
        """The cached result for content `digest`, re-labelled with `path`; `None` on a miss."""
        entry = self.entries.get(digest) if self.enabled else None
        if entry is None:
            return None
        return FileResult(
            path=path,
            findings=[Finding.from_dict({**f, "path": path}) for f in entry["findings"]],
            new_source=entry.get("new_source"),
            remaining=[Finding.from_dict({**f, "path": path}) for f in entry["remaining"]],
        )

    def put(self, digest: str, result: FileResult) -> None:
        """Remember `result` for content `digest`."""
        if not self.enabled:
            return
        strip = lambda f: {k: v for k, v in f.to_dict().items() if k != "path"}  # noqa: E731
        self.entries[digest] = {
            "findings": [strip(f) for f in result.findings],
            "remaining": [strip(f) for f in result.remaining],
            "new_source": result.new_source,
        }
        self.dirty = True

    def save(self) -> None:
        """Write the cache atomically (a failure only costs speed next time, so it is logged, not raised)."""
        if not (self.enabled and self.dirty):
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# created by maintenance.fix\n*\n", encoding="utf-8")
            atomic_write(self.file, json.dumps(self.entries).encode())
        except OSError as err:
            LOG.warning("could not write the cache %s (%s); the next run starts cold", self.file, err)


class IndexCache:
    """Module summaries by file content under `<root>/.maintenance_cache/index-<version>.json`."""

    def __init__(self, directory: Path | None, fingerprint: str) -> None:
        self.file = directory / f"index-{fingerprint}.json" if directory is not None else None
        self.entries: dict[str, dict[str, Any]] = {}
        self.dirty = False
        if self.file is not None:
            try:
                self.entries = json.loads(self.file.read_text(encoding="utf-8"))
            except FileNotFoundError:
                pass
            except (OSError, ValueError) as err:
                LOG.warning("ignoring the unreadable index cache %s (%s)", self.file, err)

    def get(self, digest: str) -> dict[str, Any] | None:
        """The cached summary of content `digest`, or `None`."""
        return self.entries.get(digest)

    def get_cross(self, key: str) -> set[str] | None:
        """The never-returning functions of a module for `key` (its and its dependencies' contents)."""
        found = self.entries.get("cross:" + key)
        return set(found) if found is not None else None  # type: ignore[arg-type]

    def put_cross(self, key: str, names: list[str]) -> None:
        """Remember the cross-module never-returning functions of a module."""
        if self.entries.get("cross:" + key) != names:
            self.entries["cross:" + key] = names  # type: ignore[assignment]
            self.dirty = True

    def put(self, digest: str, data: dict[str, Any]) -> None:
        """Remember a summary."""
        self.entries[digest] = data
        self.dirty = True

    def save(self) -> None:
        """Write the cache atomically (a failure only costs speed next time, so it is logged)."""
        if self.file is None or not self.dirty:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.file, json.dumps(self.entries).encode())
        except OSError as err:
            LOG.warning("could not write the index cache %s (%s)", self.file, err)
