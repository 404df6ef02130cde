"""The vocabulary of the package: a check, its outcome and the frozen result the reports render.

A check is a tiny class named after its stable code (``HC001``); its docstring's first line is the title,
``name`` is a short slug usable with ``--only``, ``requires`` lists the codes that must not have failed or
been skipped for it to run. ``check(ctx)`` returns an :class:`Outcome` carrying the check's own typed
:class:`Details` (``details_type``); the runner stamps code, name, title, severity and duration on it and
freezes it into a :class:`CheckResult`. The JSON report and the markdown report are two renderings of the
same list of results; the markdown of what a check measured is rendered by the check's report hooks.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from health_checks import text

if TYPE_CHECKING:
    from health_checks.context import CheckContext


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
class Outcome:
    """What ``Check.check`` returns: status, a one-paragraph message, typed details, a command.

    ``command`` is the exact shell command that fixes or investigates the finding; it becomes the
    recommendation in the report.
    """

    status: Status
    message: str
    details: Details = field(default_factory=Details)
    command: str | None = None

    @classmethod
    def passed(cls, message: str, details: Details | None = None) -> Outcome:
        return cls(Status.PASS, message, details or Details())


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


D = TypeVar("D", bound=Details)


@dataclass(frozen=True)
class ReportView:
    """What a check's report hooks see: the JSON report dict, the previous report's digest (or None) and
    every result of the run by code, with its typed details."""

    report: Mapping[str, Any]
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


class SkipCheck(Exception):
    """Raised inside a check (or a helper it calls) when a prerequisite is missing: the check is skipped
    with this message, never passed."""


class NotApplicable(SkipCheck):
    """Raised when the check does not apply to this tree (e.g. an atft check on a tree without atft)."""


class Check:
    """Base of every check. Subclasses are named ``HC###`` and set ``name`` (and usually ``requires``).

    The class docstring's first line is the title shown in reports; the rest of it explains what the
    check looks at and why, and is shown by ``python -m health_checks --list``.
    """

    name: ClassVar[str]
    severity: ClassVar[Severity] = Severity.MAJOR
    requires: ClassVar[tuple[str, ...]] = ()
    #: the type of the details ``check`` returns (the base :class:`Details` when it returns none)
    details_type: ClassVar[type[Details]] = Details
    #: where the check's own report section goes among the sections of the checks (None: no section)
    section_rank: ClassVar[int | None] = None

    @classmethod
    def code(cls) -> str:
        return cls.__name__

    @classmethod
    def title(cls) -> str:
        doc = (cls.__doc__ or cls.__name__).strip()
        return doc.splitlines()[0].rstrip(".")

    @classmethod
    def description(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return "\n".join(line.strip() for line in doc.splitlines()[1:]).strip()

    def check(self, ctx: CheckContext) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.check is not implemented")

    # The report hooks: the markdown frame (health_checks.markdown) asks every check that has a result
    # for these; each check renders what it measured next to the code that measured it.
    @classmethod
    def figures(cls, view: ReportView) -> list[str]:
        """Key figures for the report's summary line (``"lint findings: 4"``)."""
        return []

    @classmethod
    def impact(cls, view: ReportView) -> list[str]:
        """Impact bullets: how the check's figures moved since the previous report."""
        return []

    @classmethod
    def section(cls, view: ReportView) -> list[str]:
        """The check's own report section (``## Linting``), placed by ``section_rank``."""
        return []

    @classmethod
    def references(cls, view: ReportView) -> list[str]:
        """Reference bullets (files the check wrote that the report links to)."""
        return []
