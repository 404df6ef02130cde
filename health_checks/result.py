"""What a run produced, typed: each check's frozen :class:`CheckResult` and the :class:`Report` of the run.

The JSON report and the markdown report are two renderings of the same :class:`Report`: ``to_json()``
gives the JSON document (``schema_version`` 1), ``from_json()`` reads one back (the details typed by the
checks' own ``details_type``), and the markdown frame reads the attributes. A check's report hooks see
the report through a :class:`ReportView`. The maintenance fixes keep the record format of
``maintenance.summary``, which renders them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Self, TypeVar

from health_checks import text


class Status(enum.StrEnum):
    """What a check concluded."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


class Severity(enum.StrEnum):
    """How much a failure of the check hurts; orders the issues in the report."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2}
STATUS_ORDER = {Status.FAIL: 0, Status.WARN: 1, Status.SKIP: 2, Status.PASS: 3}


@dataclass(frozen=True, kw_only=True)
class Details:
    """Base of the typed details a check returns; a check with nothing to add returns this base itself.

    Each check declares its own subclass (``details_type``), a frozen keyword-only dataclass in the check's
    module whose fields are the JSON keys of ``checks[].details`` (``dataclasses.asdict``; a field left
    ``None`` is written as ``null``). ``evidence`` renders the fields as the markdown evidence of the
    check; a subclass overrides it where a field has its own report section.
    """

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The details read back from a JSON report; raises ValueError naming any key the type lacks."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"{cls.__name__} has no field {', '.join(unknown)}")
        return cls(**data)

    def evidence(self) -> list[str]:
        """The markdown evidence lines of these details (bullets, tables, code blocks)."""
        return text.evidence(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class RunDetails(Details):
    """What the runner records for a check it did not run (or that crashed) instead of the check's own
    details: why it was skipped, whether it does not apply to the tree, the traceback of a crash."""

    skip_reason: str | None = None
    not_applicable: bool | None = None
    traceback: list[str] | None = None
    #: the check raised: an error of health_checks itself, not a finding about the tree
    tool_error: bool | None = None

    def evidence(self) -> list[str]:
        lines = [f"- skip reason: {self.skip_reason}"] if self.skip_reason else []
        if self.traceback:
            lines += ["", "```text", "".join(self.traceback).strip(), "```"]
        return lines


@dataclass(frozen=True, kw_only=True)
class UntypedDetails(Details):
    """Details read back from a report whose check this version does not know (or whose fields changed):
    kept as they were written and rendered generically, never dropped."""

    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.values)

    def evidence(self) -> list[str]:
        return text.evidence(self.values)


@dataclass(frozen=True)
class CheckResult:
    """One check's result: the single record both reports are rendered from."""

    code: str
    name: str
    title: str
    status: Status
    severity: Severity
    message: str
    details: Details = field(default_factory=Details)
    duration: float = 0.0
    command: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "severity", Severity(self.severity))
        if not isinstance(self.details, Details):
            raise TypeError(
                f"{self.code}: details must be a health_checks.core.Details, got {type(self.details).__name__}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "title": self.title,
            "status": str(self.status),
            "severity": str(self.severity),
            "message": self.message,
            "details": self.details.to_dict(),
            "duration": round(self.duration, 3),
            "command": self.command,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], details_type: type[Details] | None = None) -> CheckResult:
        """A result read back from a JSON report, its details typed as ``details_type`` (the check's own
        type): a runner record for skipped or crashed checks, :class:`UntypedDetails` when the stored keys
        do not fit the type."""
        raw = dict(data.get("details") or {})
        details: Details
        if not raw:
            details = Details()
        elif set(raw) & {f.name for f in fields(RunDetails)} and set(raw) <= {
            f.name for f in fields(RunDetails)
        }:
            details = RunDetails.from_dict(raw)
        else:
            try:
                details = details_type.from_dict(raw) if details_type else UntypedDetails(values=raw)
            except (TypeError, ValueError):
                details = UntypedDetails(values=raw)
        return cls(
            code=data["code"],
            name=data["name"],
            title=data["title"],
            status=Status(data["status"]),
            severity=Severity(data.get("severity", Severity.MAJOR)),
            message=data["message"],
            details=details,
            duration=float(data.get("duration", 0.0)),
            command=data.get("command"),
        )


STATUS_WORD = {0: "healthy", 1: "warnings", 2: "critical"}


@dataclass(frozen=True)
class Summary:
    """How many checks ended in each status, and the run's exit code (0 healthy, 1 warnings, 2 critical)."""

    total: int
    passed: int
    warned: int
    failed: int
    skipped: int
    exit_code: int

    @property
    def status(self) -> str:
        return STATUS_WORD[self.exit_code]

    @classmethod
    def of(cls, results: Sequence[CheckResult], exit_code: int) -> Summary:
        count = {s: sum(r.status == s for r in results) for s in Status}
        return cls(
            len(results),
            count[Status.PASS],
            count[Status.WARN],
            count[Status.FAIL],
            count[Status.SKIP],
            exit_code,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "pass": self.passed,
            "warn": self.warned,
            "fail": self.failed,
            "skip": self.skipped,
            "exit_code": self.exit_code,
            "status": self.status,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Summary:
        return cls(data["total"], data["pass"], data["warn"], data["fail"], data["skip"], data["exit_code"])


@dataclass(frozen=True)
class GitHead:
    """The commit the run checked (``gitinfo.head_info``)."""

    commit: str
    short: str
    branch: str | None = None
    dirty: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Environment:
    """The interpreter and machine that ran the checks; ``torch`` is None where torch does not import."""

    python: str | None = None
    platform: str | None = None
    cpus: int | None = None
    torch: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FileChange:
    insertions: int
    deletions: int


@dataclass(frozen=True)
class Commit:
    """One commit since the previous report (``gitinfo.commits_since``), with its lines per file."""

    sha: str
    short: str
    date: str
    author: str | None
    message: str
    files: Mapping[str, FileChange]
    insertions: int
    deletions: int

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "files": {path: asdict(stat) for path, stat in self.files.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Commit:
        files = {path: FileChange(**stat) for path, stat in (data.get("files") or {}).items()}
        return cls(**{**data, "author": data.get("author"), "files": files})


@dataclass(frozen=True)
class CommitHistory:
    """The commits since the previous report's commit; ``note`` says why that commit could not be used."""

    since: str | None = None
    note: str | None = None
    commits: tuple[Commit, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since, "note": self.note, "commits": [c.to_json() for c in self.commits]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CommitHistory:
        commits = tuple(Commit.from_json(c) for c in data.get("commits") or [])
        return cls(data.get("since"), data.get("note"), commits)


@dataclass(frozen=True)
class AppliedFix:
    """A maintenance fix left in a file, with the tests that executed it (``maintenance.summary``)."""

    path: str
    line: int
    code: str
    message: str = ""
    before: str | None = None
    after: str | None = None
    status: str = "applied"
    tests: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "tests": list(self.tests)}


@dataclass(frozen=True)
class FixSummary:
    """The maintenance fixes of the run (``maintenance.summary.summarize``): the applied ones typed; the
    withheld and reverted records kept in maintenance's format, which ``maintenance.summary`` renders."""

    applied: tuple[AppliedFix, ...] = ()
    withheld: tuple[Mapping[str, Any], ...] = ()
    verified: bool = False
    counts_before: Mapping[str, int] = field(default_factory=dict)
    counts_after: Mapping[str, int] = field(default_factory=dict)
    changed_files: tuple[str, ...] = ()
    reverted: tuple[Mapping[str, Any], ...] = ()
    errors: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "applied": [fix.to_json() for fix in self.applied],
            "withheld": [dict(w) for w in self.withheld],
            "verified": self.verified,
            "counts_before": dict(self.counts_before),
            "counts_after": dict(self.counts_after),
            "changed_files": list(self.changed_files),
            "reverted": [dict(r) for r in self.reverted],
            "errors": list(self.errors),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FixSummary:
        """The fixes of a ``maintenance.summary`` JSON; raises ValueError naming a key it does not know."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(
                f"the fixes JSON has keys maintenance.summary does not write: {', '.join(unknown)}"
            )
        applied = tuple(
            AppliedFix(**{**fix, "tests": tuple(fix.get("tests") or ())}) for fix in data.get("applied") or []
        )
        return cls(
            applied=applied,
            withheld=tuple(data.get("withheld") or ()),
            verified=bool(data.get("verified", False)),
            counts_before=dict(data.get("counts_before") or {}),
            counts_after=dict(data.get("counts_after") or {}),
            changed_files=tuple(data.get("changed_files") or ()),
            reverted=tuple(data.get("reverted") or ()),
            errors=tuple(data.get("errors") or ()),
        )


SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Report:
    """One run: where and what was checked, every result, the fixes applied and the commits since the
    previous report, and where the reports were written."""

    timestamp: str
    root: str
    git: GitHead | None
    command: str
    duration: float
    environment: Environment
    summary: Summary
    checks: tuple[CheckResult, ...]
    fixes: FixSummary | None
    commits: CommitHistory
    previous_report: str | None
    json_report: str
    markdown_report: str
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        """The JSON document of the run (``schema_version`` 1), the keys in their documented order."""
        return {
            "schema_version": self.schema_version,
            "timestamp": self.timestamp,
            "root": self.root,
            "git": self.git.to_json() if self.git else None,
            "command": self.command,
            "duration": self.duration,
            "environment": self.environment.to_json(),
            "summary": self.summary.to_json(),
            "checks": [r.to_dict() for r in self.checks],
            "maintenance_fixes": self.fixes.to_json() if self.fixes else None,
            "commits": self.commits.to_json(),
            "previous_report": self.previous_report,
            "json_report": self.json_report,
            "markdown_report": self.markdown_report,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], details_types: Mapping[str, type[Details]]) -> Report:
        """A JSON report read back, each check's details typed by ``details_types[code]`` (the check's own
        ``details_type``; untyped for a code this version does not know)."""
        git = data.get("git")
        fixes = data.get("maintenance_fixes")
        return cls(
            schema_version=data.get("schema_version", SCHEMA_VERSION),
            timestamp=data["timestamp"],
            root=data.get("root") or ".",
            git=GitHead(**git) if git else None,
            command=data.get("command") or "",
            duration=data.get("duration") or 0.0,
            environment=Environment(**(data.get("environment") or {})),
            summary=Summary.from_json(data["summary"]),
            checks=tuple(
                CheckResult.from_dict(c, details_types.get(c["code"])) for c in data.get("checks") or []
            ),
            fixes=FixSummary.from_json(fixes) if fixes else None,
            commits=CommitHistory.from_json(data.get("commits") or {}),
            previous_report=data.get("previous_report"),
            json_report=data.get("json_report") or "",
            markdown_report=data.get("markdown_report") or "",
        )


D = TypeVar("D", bound=Details)


@dataclass(frozen=True)
class ReportView:
    """What a check's report hooks see: the run's typed report, the previous report's digest (or None) and
    every result of the run by code, with its typed details."""

    report: Report
    previous: Mapping[str, Any] | None
    results: Mapping[str, CheckResult]

    def result(self, code: str) -> CheckResult | None:
        return self.results.get(code)

    def details(self, code: str, kind: type[D]) -> D | None:
        """The details of check ``code`` when they are of type ``kind`` (a check that ran), else None."""
        result = self.results.get(code)
        return result.details if result is not None and isinstance(result.details, kind) else None

    def message(self, code: str, default: str) -> str:
        result = self.results.get(code)
        return result.message if result is not None else default
