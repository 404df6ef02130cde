"""The registry: every ``HC###`` class of the ``health_checks.checks`` family modules, ordered by code."""

from __future__ import annotations

import re
from collections.abc import Iterable

from health_checks.checks import (
    checkpoint,
    collapse,
    contract,
    data,
    datacontract,
    environment,
    export,
    forward,
    gradients,
    hygiene,
    imports,
    lint,
    loss,
    maintenance,
    metrics,
    normalisation,
    training,
    training_watch,
)
from health_checks.core import Check

# One family per module (docs/health_checks.md names each check's file); checks are ordered by code.
CHECK_MODULES = tuple(
    module.__name__
    for module in (
        imports,
        lint,
        maintenance,
        hygiene,
        data,
        contract,
        loss,
        training,
        metrics,
        checkpoint,
        export,
        forward,
        gradients,
        normalisation,
        collapse,
        environment,
        datacontract,
        training_watch,
    )
)

CODE_PATTERN = re.compile(r"^HC\d{3}$")


def _subclasses(cls: type[Check]) -> Iterable[type[Check]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def all_checks() -> list[type[Check]]:
    """Every registered check class, sorted by code. Raises when two checks share a code or a name."""
    found = [c for c in _subclasses(Check) if CODE_PATTERN.match(c.__name__)]
    found = [c for c in found if c.__module__ in CHECK_MODULES]
    codes = [c.code() for c in found]
    names = [c.name for c in found]
    for label, values in (("code", codes), ("name", names)):
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise ValueError(f"health check {label}s must be unique; duplicated: {duplicates}")
    return sorted(found, key=lambda c: c.code())


def select(checks: list[type[Check]], only: Iterable[str]) -> list[type[Check]]:
    """The checks whose code or name is in ``only`` (case-insensitive); unknown entries raise."""
    wanted = {item.strip().lower() for item in only if item.strip()}
    by_key = {c.code().lower(): c for c in checks} | {c.name.lower(): c for c in checks}
    unknown = sorted(wanted - set(by_key))
    if unknown:
        known = ", ".join(f"{c.code()} ({c.name})" for c in checks)
        raise ValueError(f"unknown check(s) {unknown} for --only; known checks: {known}")
    chosen = {by_key[key] for key in wanted}
    return [c for c in checks if c in chosen]
