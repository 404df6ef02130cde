"""What a check is: a tiny class named after its stable code (``HC001``) returning an :class:`Outcome`.

A check's docstring's first line is the title, ``name`` is a short slug usable with ``--only``,
``requires`` lists the codes that must not have failed or been skipped for it to run. ``check(ctx)``
returns an :class:`Outcome` carrying the check's own typed :class:`Details` (``details_type``); the runner
stamps code, name, title, severity and duration on it and freezes it into a :class:`CheckResult`
(:mod:`health_checks.result`, re-exported here). The markdown of what a check measured is rendered by the
check's report hooks, which see the run's typed report through a :class:`ReportView`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from health_checks.result import (
    CheckResult,
    Details,
    ReportView,
    RunDetails,
    Severity,
    Status,
    UntypedDetails,
)

if TYPE_CHECKING:
    from health_checks.context import CheckContext

__all__ = [
    "Check",
    "CheckResult",
    "Details",
    "NotApplicable",
    "Outcome",
    "ReportView",
    "RunDetails",
    "Severity",
    "SkipCheck",
    "Status",
    "UntypedDetails",
]


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
    #: the check looks at atft itself (its data, model, loss, training, checkpoints); on another tree it
    #: is not applicable. The other checks serve any PyTorch repository.
    atft_only: ClassVar[bool] = False

    @classmethod
    def code(cls) -> str:
        return cls.__name__

    @classmethod
    def title(cls) -> str:
        doc = (cls.__doc__ or cls.__name__).strip()
        return doc.splitlines()[0].rstrip(".")

    @classmethod
    def source_file(cls) -> str:
        """The file that defines the check, relative to the repository root (``--list`` and the docs name it)."""
        return cls.__module__.replace(".", "/") + ".py"

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
