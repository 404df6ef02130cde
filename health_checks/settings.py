"""Settings of a run, read from ``[tool.health_checks]`` (and ``[tool.maintenance].exclude``) of a tree.

The CLI reads the pyproject of ``--root`` once and hands a frozen :class:`HealthSettings` down; nothing
below reads files named by the user or the environment.
"""

from __future__ import annotations

import dataclasses
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_EXCLUDE = (".venv", ".nox", ".git", "build", "dist", "_logs", "docs", "tests", "node_modules")


@dataclass(frozen=True)
class HealthSettings:
    """Every knob of a health-check run, read from ``[tool.health_checks]``; a key left out keeps the default here."""

    # where the reports go, relative to the root unless absolute
    json_dir: str = "_logs/health-checks"
    markdown_dir: str = "docs/improvements"
    # "package.module:function" returning health_checks.probe.Probe (what the runtime checks look at)
    probe: str | None = None
    # codes or names of checks switched off; every other check that cannot run is a failure
    disable: tuple[str, ...] = ()
    # quick training on the embedded market, bounded by epochs and training days (never by wall clock)
    quick_train_market: str = "pse"
    quick_train_epochs: int = 2
    # at most this many (most recent) training days per epoch (train.max_train_days); None = all
    quick_train_max_days: int | None = None
    # a safety cap: a quick training that hits it is stopped and HC020 FAILS (its metrics are not
    # reproducible); None = no cap
    quick_train_max_seconds: float | None = None
    # TOML config (relative to the root) the quick training starts from; None = atft's defaults
    quick_train_config: str | None = None
    # a horizon whose per-day prediction std / target std falls below this is a collapse
    min_scale_ratio: float = 0.05
    # ... and one above this is over-dispersed (both in the units the model predicts)
    max_scale_ratio: float = 2.0
    # a prediction std below this share of the previous report's (same horizon) is a warning (HC021)
    min_spread_vs_previous: float = 0.5
    # per-module import timeout (seconds) and the third-party libraries imported once before forking
    import_timeout: float = 60.0
    import_preload: tuple[str, ...] = ("numpy", "pandas", "torch", "torch_geometric")
    # "module:callable" returning the nn.Module under check instead of a quick training (fixture trees)
    model_factory: str | None = None
    # a drop of the validation IC larger than this (absolute) against the previous report is a warning
    ic_drop_tolerance: float = 0.01
    # the training program the watch checks (HC060-HC068) run: a script or "-m module" with its arguments
    watch: str | None = None
    # optimiser steps watched before the program is stopped
    watch_steps: int = 5
    # processes of the watched run: above 1 it runs under torchrun (gloo on CPU), every rank watched
    watch_nproc: int = 1
    # the program sums this many backward passes into each optimiser step (gradient accumulation)
    watch_accumulation: int = 1
    # parameter name patterns (fnmatch, "backbone.*") the program freezes or leaves unstepped on purpose
    watch_frozen: tuple[str, ...] = ()
    # training forwards (or backward passes) without an optimiser step before the program is stopped
    watch_idle: int = 20
    # a safety cap (seconds) for a watched program that hangs; the watch itself is bounded by steps
    watch_timeout: float = 900.0
    # paths (relative, prefix match) that no check walks
    exclude: tuple[str, ...] = field(default=DEFAULT_EXCLUDE)

    def resolve(self, root: Path, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else root / path


def load_settings(root: Path, overrides: dict[str, Any] | None = None) -> HealthSettings:
    """Read ``root/pyproject.toml``; unknown keys are logged (a typo should not silently do nothing)."""
    table: dict[str, Any] = {}
    maintenance_exclude: list[str] = []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        with pyproject.open("rb") as handle:
            data = tomllib.load(handle)
        table = dict(data.get("tool", {}).get("health_checks", {}))
        maintenance_exclude = list(data.get("tool", {}).get("maintenance", {}).get("exclude", []))
    table.update(overrides or {})
    known = {f.name for f in dataclasses.fields(HealthSettings)}
    unknown = sorted(set(table) - known)
    if unknown:
        logger.warning(
            "ignoring unknown [tool.health_checks] keys %s in %s; known keys: %s",
            unknown,
            pyproject,
            sorted(known),
        )
    values = {k: v for k, v in table.items() if k in known}
    for key in ("import_preload", "exclude", "disable", "watch_frozen"):
        if key in values:
            values[key] = tuple(values[key])
    exclude = tuple(dict.fromkeys([*values.get("exclude", DEFAULT_EXCLUDE), *maintenance_exclude]))
    values["exclude"] = exclude
    return HealthSettings(**values)
