"""The fixer's logger, and the phases of a run that `-v` times."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator

LOG = logging.getLogger("maintenance.fix")  # also when run as __main__


@contextlib.contextmanager
def phase(name: str) -> Iterator[dict[str, object]]:
    """Log (at INFO, shown by `-v`) how long a phase took, the counts it puts into the yielded dict and
    the peak memory of this process so far (workers' own peaks are not in it)."""
    facts: dict[str, object] = {}
    start = time.perf_counter()
    yield facts
    details = ", ".join(f"{key} {value}" for key, value in facts.items())
    LOG.info(
        "%s: %.2f s%s; peak memory of this process %.0f MB",
        name,
        time.perf_counter() - start,
        f" ({details})" if details else "",
        _peak_rss_mb(),
    )


def _peak_rss_mb() -> float:
    """This process's peak resident memory in MB (`ru_maxrss` is KiB on Linux, bytes on macOS)."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
