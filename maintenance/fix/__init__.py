"""`python -m maintenance.fix`: find and fix the MNT codes (`--list` prints them) with `ast` checks and libcst
codemods, merged with ruff's findings.

Dry run by default: prints the findings, a unified diff of what `--apply` would change and a table of
counts by code; writes nothing. `--apply` writes the fixes atomically (temp file + rename, same encoding,
BOM, newlines and file mode), then runs `ruff check --fix`. Exit status: 0 no findings left, 1 findings
left, 2 usage or internal error. `run_fix` is the same run as a Python function (see `maintenance`).

The package, one concern per module: `pipeline` (`run_fix`), `analysis` (reading, the result cache, the
project index, the engine), `workers` (the worker processes), `apply` (the dry run and `--apply`),
`verification` (`--verify` around `--apply`), `phases` (the log and the phases `-v` times) and `cli`
(`build_parser`, `main`, `run`). The ruff fix policy is `maintenance.ruff_policy`.
"""

from __future__ import annotations

from maintenance.fix.analysis import analyze, keep
from maintenance.fix.apply import after_state, dry_run, settle
from maintenance.fix.cli import build_parser, exit_status, main, run
from maintenance.fix.phases import LOG
from maintenance.fix.pipeline import run_fix
from maintenance.fix.workers import PARALLEL_MIN_FILES, Task, analyze_task, run_tasks

__all__ = [
    "LOG",
    "PARALLEL_MIN_FILES",
    "Task",
    "after_state",
    "analyze",
    "analyze_task",
    "build_parser",
    "dry_run",
    "exit_status",
    "keep",
    "main",
    "run",
    "run_fix",
    "run_tasks",
    "settle",
]
