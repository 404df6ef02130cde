"""health_checks: ML-aware health checks of the atft tree and the dated JSON + markdown reports they produce.

`python -m health_checks` (run by `nox -s health`) runs every registered check, shows progress on stderr,
writes `_logs/health-checks/health-check-YYYYMMDD-HHMMSS.json` and `docs/improvements/YYYY-MM-DD.md`, and
exits 0 when healthy, 1 with warnings and 2 when a check failed. See docs/health_checks.md.
"""

from health_checks.core import Check, CheckResult, Outcome, Severity, Status

__all__ = ["Check", "CheckResult", "Outcome", "Severity", "Status"]
