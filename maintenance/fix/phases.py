"""The fixer's logger, and the phases of a run that `-v` times."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

LOG = logging.getLogger("maintenance.fix")  # also when run as __main__


@contextlib.contextmanager
def phase(name: str) -> Iterator[dict[str, object]]:
    """Log (at INFO, shown by `-v`) how long a phase took and the counts it puts into the yielded dict."""
    facts: dict[str, object] = {}
    start = time.perf_counter()
    yield facts
    details = ", ".join(f"{key} {value}" for key, value in facts.items())
    LOG.info("%s: %.2f s%s", name, time.perf_counter() - start, f" ({details})" if details else "")
