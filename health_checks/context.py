"""What every check receives: the tree under check, the settings, the previous report and shared artefacts.

Expensive things several checks need (the maintenance.fix dry run, the dataset, the quick training) are
computed once, on first use, through :meth:`CheckContext.memo`; a failure is remembered too, so the
checks that depend on a broken artefact all report the same error instead of recomputing it.
"""

from __future__ import annotations

import fnmatch
import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from health_checks.settings import HealthSettings

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class CheckContext:
    """Shared state of one run. ``previous`` is the previous JSON report (a dict) or None."""

    root: Path
    settings: HealthSettings
    previous: dict[str, Any] | None = None
    trust_pickle: bool = False
    #: the fixes this run lists, as ``maintenance.summary`` writes them (``--apply-fixes`` or ``--fixes``;
    #: None when the run lists none)
    applied_fixes: Mapping[str, Any] | None = None
    #: where checks put files the markdown links to (plots); the markdown directory of the run
    artifact_dir: Path | None = None
    #: the date of the run; names the artefacts that sit next to the dated markdown
    report_date: date | None = None
    _memo: dict[str, tuple[bool, Any]] = field(default_factory=dict, repr=False)
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """Compute ``compute()`` once per run; a raised exception is cached and raised again."""
        if key not in self._memo:
            try:
                self._memo[key] = (True, compute())
            except Exception as error:  # noqa: BLE001 - remembered and re-raised to every caller
                logger.debug("artefact %s failed: %s", key, error)
                self._memo[key] = (False, error)
        ok, value = self._memo[key]
        if not ok:
            raise value
        return value

    def peek(self, key: str) -> Any:
        """The cached artefact ``key`` if it was computed successfully, else None (computes nothing)."""
        ok, value = self._memo.get(key, (False, None))
        return value if ok else None

    @property
    def scratch(self) -> Path:
        """A temporary directory removed at the end of the run."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="health-checks-")
        return Path(self._tmp.name)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def is_excluded(self, path: Path) -> bool:
        """True when ``path`` (absolute or relative to root) lies under an excluded prefix or pattern."""
        rel = path.relative_to(self.root) if path.is_absolute() else path
        text = rel.as_posix()
        for pattern in self.settings.exclude:
            pattern = pattern.rstrip("/")
            if text == pattern or text.startswith(pattern + "/") or fnmatch.fnmatch(text, pattern):
                return True
            if any(fnmatch.fnmatch(part, pattern) for part in rel.parts[:-1]) and "/" not in pattern:
                return True
        return False

    def python_files(self) -> list[Path]:
        """Every ``*.py`` file of the tree that no exclude pattern covers, sorted, relative to root."""

        def compute() -> list[Path]:
            files = []
            for path in sorted(self.root.rglob("*.py")):
                rel = path.relative_to(self.root)
                if not self.is_excluded(rel):
                    files.append(rel)
            return files

        return self.memo("python_files", compute)

    def rel(self, path: str | Path) -> str:
        """``path`` relative to the root when it lies inside it (for messages and reports)."""
        candidate = Path(path)
        if not candidate.is_absolute():
            return candidate.as_posix()
        try:
            return candidate.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return candidate.as_posix()
