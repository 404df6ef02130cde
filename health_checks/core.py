"""The vocabulary of the package: a check, its outcome and the frozen result the reports render.

A check is a tiny class named after its stable code (``HC001``); its docstring's first line is the title,
``name`` is a short slug usable with ``--only``, ``requires`` lists the codes that must not have failed or
been skipped for it to run. ``check(ctx)`` returns an :class:`Outcome`; the runner stamps code, name,
title, severity and duration on it and freezes it into a :class:`CheckResult`. The JSON report and the
markdown report are two renderings of the same list of results.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

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


def _freeze(value: Any) -> Any:
    """Read-only view of nested details so a frozen result cannot be changed through its dict."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Plain JSON-able copy of frozen details (mappings -> dict, tuples -> list)."""
    if isinstance(value, Mapping):
        return {str(k): thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Outcome:
    """What ``Check.check`` returns: status, a one-paragraph message, structured details, a command.

    ``command`` is the exact shell command that fixes or investigates the finding; it becomes the
    recommendation in the report.
    """

    status: Status
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    command: str | None = None

    @classmethod
    def passed(cls, message: str, **details: Any) -> Outcome:
        return cls(Status.PASS, message, details)

    @classmethod
    def skipped(cls, message: str, **details: Any) -> Outcome:
        return cls(Status.SKIP, message, details)


@dataclass(frozen=True)
class CheckResult:
    """One check's result: the single record both reports are rendered from."""

    code: str
    name: str
    title: str
    status: Status
    severity: Severity
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    duration: float = 0.0
    command: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "severity", Severity(self.severity))
        object.__setattr__(self, "details", _freeze(self.details))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "title": self.title,
            "status": str(self.status),
            "severity": str(self.severity),
            "message": self.message,
            "details": thaw(self.details),
            "duration": round(self.duration, 3),
            "command": self.command,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        return cls(
            code=data["code"],
            name=data["name"],
            title=data["title"],
            status=Status(data["status"]),
            severity=Severity(data.get("severity", Severity.MAJOR)),
            message=data["message"],
            details=data.get("details", {}),
            duration=float(data.get("duration", 0.0)),
            command=data.get("command"),
        )


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
