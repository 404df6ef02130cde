"""The two records every part of the fixer exchanges: one `Finding` per problem, one `FixReport` per run."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

PARSE_ERROR_CODE = "MNT000"


@dataclass(frozen=True)
class Finding:
    """One problem at one place; `fixed` is true once `--apply` has rewritten it.

    `before` / `after` are the source lines before and after the fix (for the maintenance report);
    `after` is `None` when there is no fix and `""` when the fix deletes the lines.
    """

    path: str
    line: int
    column: int
    code: str
    message: str
    fixable: bool
    fixed: bool = False
    before: str | None = None
    after: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this finding (the fields of `--format json`)."""
        return {name: getattr(self, name) for name in _FINDING_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Inverse of `to_dict` (used by the cache)."""
        return cls(**data)


_FINDING_FIELDS = tuple(f.name for f in fields(Finding))


def unreadable(path: str, problem: str, advice: str) -> Finding:
    """The MNT000 finding of a file that cannot be read or decoded: what went wrong and what to do."""
    return Finding(
        path=path,
        line=1,
        column=1,
        code=PARSE_ERROR_CODE,
        message=f"{problem}; the file was left untouched: {advice}",
        fixable=False,
    )


@dataclass
class FileResult:
    """The outcome for one file: findings, the fixed text (`None`: unchanged) and what the fix leaves."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    new_source: str | None = None
    remaining: list[Finding] = field(default_factory=list)
    libcst_parsed: bool = False


@dataclass(frozen=True)
class RevertedFix:
    """A fix that `--verify` took back because the project's tests failed with it: file, rule, failing tests."""

    path: str
    code: str
    tests: str  # the failing tests (pytest) or the command's exit status


@dataclass(frozen=True)
class VerifiedFix:
    """What `--verify` learned about one kept fix: `proven` (a test executed it and the suite passed),
    `unexercised` (no test reached it) or `unmeasured` (coverage.py did not run); `tests` are the covering
    tests; `kept` is false when `--drop-unexercised` took it back."""

    path: str
    line: int
    code: str
    status: str
    tests: tuple[str, ...] = ()
    kept: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (one entry of `verification` in `--format json`)."""
        return {
            "path": self.path,
            "line": self.line,
            "code": self.code,
            "status": self.status,
            "tests": list(self.tests),
            "kept": self.kept,
        }


@dataclass
class FixReport:
    """What one run found and changed.

    `counts_before` / `counts_after` count findings by code (ruff's codes included) before the run and
    what is left after it (after `--apply`, or, in a dry run, what is left unless the fixes are applied).
    """

    findings: list[Finding] = field(default_factory=list)
    counts_before: dict[str, int] = field(default_factory=dict)
    counts_after: dict[str, int] = field(default_factory=dict)
    changed_files: list[Path] = field(default_factory=list)
    diff: str = ""
    files_scanned: int = 0
    errors: list[Finding] = field(default_factory=list)
    applied: bool = False
    reverted: list[RevertedFix] = field(default_factory=list)
    verified: list[VerifiedFix] = field(default_factory=list)  # under --verify: every kept fix's evidence

    @property
    def remaining(self) -> list[Finding]:
        """Findings still present in the files on disk after this run."""
        return [f for f in self.findings if not f.fixed]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary of the whole run."""
        return {
            "findings": [f.to_dict() for f in self.findings],
            "counts_before": dict(self.counts_before),
            "counts_after": dict(self.counts_after),
            "changed_files": [str(p) for p in self.changed_files],
            "files_scanned": self.files_scanned,
            "errors": [f.to_dict() for f in self.errors],
            "applied": self.applied,
            "reverted": [{"path": r.path, "code": r.code, "tests": r.tests} for r in self.reverted],
            "verified": [v.to_dict() for v in self.verified],
        }
