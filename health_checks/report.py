"""The run's report: building the typed :class:`Report` from the results, finding the previous report,
embedding its digest.

The JSON file and the markdown file are two renderings of one :class:`Report`; the markdown also
compares with a *digest* of the previous report. The digest is embedded at the end of each markdown file,
so a fresh clone (whose ``_logs/`` is empty) still compares against the last committed report.
"""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from health_checks.result import (
    SCHEMA_VERSION,
    CheckResult,
    CommitHistory,
    Environment,
    FixSummary,
    GitHead,
    Report,
    Summary,
)

JSON_PATTERN = re.compile(r"^health-check-(\d{8})-(\d{6})\.json$")
MARKDOWN_PATTERN = re.compile(r"^(\d{4}-\d{2}-\d{2})\.md$")
DIGEST_MARK = "health-checks-digest"
DIGEST_RE = re.compile(r"<!--\s*" + DIGEST_MARK + r"\s*(\{.*?\})\s*-->", re.DOTALL)


def environment() -> Environment:
    """This interpreter and machine, and the torch that measured the model (None where it does not import)."""
    try:
        import torch  # optional: the report names the torch that measured the model

        version: str | None = torch.__version__
    except ImportError:
        version = None
    return Environment(
        python=platform.python_version(),
        platform=platform.platform(terse=True),
        cpus=os.cpu_count(),
        torch=version,
    )


def make_report(
    *,
    results: Sequence[CheckResult],
    exit_code: int,
    timestamp: datetime,
    root: str,
    git: Mapping[str, Any] | None,
    command: str,
    duration: float,
    commits: Mapping[str, Any],
    fixes: Mapping[str, Any] | None,
    previous_path: str | None,
    json_path: str,
    markdown_path: str,
) -> Report:
    """The typed report of one run. Durations are kept at the precision the JSON writes (the run's to
    0.1 s, each check's to 1 ms), so the markdown of this object and of its JSON read back agree."""
    return Report(
        timestamp=timestamp.isoformat(timespec="seconds"),
        root=root,
        git=GitHead(**git) if git else None,
        command=command,
        duration=round(duration, 1),
        environment=environment(),
        summary=Summary.of(results, exit_code),
        checks=tuple(replace(r, duration=round(r.duration, 3)) for r in results),
        fixes=FixSummary.from_json(fixes) if fixes else None,
        commits=CommitHistory.from_json(commits),
        previous_report=previous_path,
        json_report=json_path,
        markdown_report=markdown_path,
    )


def build_report(**parts: Any) -> dict[str, Any]:
    """The JSON document of one run (``schema_version`` 1): ``make_report(**parts).to_json()``."""
    return make_report(**parts).to_json()


def json_name(timestamp: datetime) -> str:
    return f"health-check-{timestamp:%Y%m%d-%H%M%S}.json"


def markdown_name(timestamp: datetime) -> str:
    return f"{timestamp:%Y-%m-%d}.md"


def _check_map(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {c["code"]: c for c in report.get("checks", [])}


def digest(report: Mapping[str, Any]) -> dict[str, Any]:
    """The figures the next report compares against: statuses, lint counts, model metrics per horizon."""
    checks = _check_map(report)
    lint = checks.get("HC002", {}).get("details", {}).get("counts")
    model = checks.get("HC023", {}).get("details", {}).get("horizons")
    spread = checks.get("HC021", {}).get("details", {}).get("horizons")
    null_shares = checks.get("HC050", {}).get("details", {}).get("null_share")
    return {
        "schema_version": report.get("schema_version", SCHEMA_VERSION),
        "timestamp": report.get("timestamp"),
        "git": report.get("git"),
        "summary": report.get("summary"),
        "checks": [
            {"code": c["code"], "name": c["name"], "title": c["title"], "status": c["status"]}
            for c in report.get("checks", [])
        ],
        "lint": lint,
        "model": model,
        "spread": spread,
        "null_shares": null_shares,
        "source": report.get("json_report"),
    }


def find_previous(json_dir: Path, markdown_dir: Path, before: datetime) -> tuple[dict[str, Any], str] | None:
    """Digest and path of the newest report older than ``before``: a JSON in ``json_dir`` first, else
    the digest embedded in the newest markdown report (what a fresh clone has)."""
    stamp = f"{before:%Y%m%d-%H%M%S}"
    candidates = []
    if json_dir.is_dir():
        for path in json_dir.iterdir():
            match = JSON_PATTERN.match(path.name)
            if match and f"{match[1]}-{match[2]}" < stamp:
                candidates.append(path)
    for path in sorted(candidates, reverse=True):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        return digest(data), str(path)
    if markdown_dir.is_dir():
        for path in sorted(markdown_dir.glob("*.md"), reverse=True):
            if not MARKDOWN_PATTERN.match(path.name):
                continue
            match = DIGEST_RE.search(path.read_text(encoding="utf-8"))
            if not match:
                continue
            try:
                data = json.loads(match[1])
            except json.JSONDecodeError:
                continue
            if str(data.get("timestamp", "")) < before.isoformat(timespec="seconds"):
                return data, str(path)
    return None


def embed_digest(report: Mapping[str, Any]) -> str:
    """The HTML comment that carries the digest inside the markdown (invisible when rendered)."""
    text = json.dumps(digest(report), sort_keys=True, separators=(",", ":"))
    # "--" may not appear inside an HTML comment; inside JSON strings "\u002d" is the same character
    safe = text.replace("--", "-\\u002d")
    return f"<!-- {DIGEST_MARK} {safe} -->\n"
