"""The health report of two fixture trees, with its run-dependent fields blanked, for a before/after diff.

`python -m benchmarks.health_report_identity OUT_DIR` copies ``tests/health_checks/fixtures/tinyrepo`` (the
runtime checks, with one planted bug so failures are rendered too) and ``fixtures/planted`` (the static
checks; once more with a list of maintenance fixes given by ``--fixes``) into a temporary folder, runs ``python -m health_checks`` on each and writes the JSON and markdown
reports to ``OUT_DIR`` with timestamps, durations, temporary paths and the environment replaced by fixed
text. Run it before and after a change that must not alter the reports, then ``diff -r`` the two folders.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "health_checks" / "fixtures"
# report name: (fixture tree, checks run, whether the run lists the maintenance fixes of FIXES)
RUNS = {
    "tinyrepo": (
        "tinyrepo",
        "HC005,HC040,HC041,HC042,HC043,HC044,HC045,HC046,HC047,HC048,HC049,HC050,HC051",
        False,
    ),
    "planted": ("planted", "HC001,HC002,HC005,HC011,HC031", False),
    "planted-fixes": ("planted", "HC002,HC005", True),
}
# the fixes another run applied, as maintenance.summary writes them (python -m health_checks --fixes FILE)
FIXES = {
    "applied": [
        {
            "path": "planted/settings.py",
            "line": 9,
            "code": "MNT002",
            "message": "mutable dataclass default",
            "before": "tags: list = []",
            "after": "tags: list = field(default_factory=list)",
            "status": "proven",
            "tests": ["tests/test_settings.py::test_defaults"],
        }
    ],
    "withheld": [],
    "verified": True,
    "counts_before": {"MNT002": 1, "F401": 2},
    "counts_after": {"F401": 2},
    "changed_files": ["planted/settings.py"],
    "reverted": [{"path": "planted/model.py", "code": "F401", "tests": "tests/test_model.py::test_export"}],
    "errors": [],
}
# the planted bug of tinyrepo's copy: the mixer averages over tickers (HC046 fails)
PLANT = (
    "tinyrepo/model.py",
    "return h + weights @ self.value(h)",
    "return (weights @ self.value(h)).mean(dim=0, keepdim=True).expand_as(h)",
)


def _blank(value: Any, tmp: str) -> Any:
    """``value`` with every field that differs between two runs of the same tree replaced by fixed text."""
    if isinstance(value, dict):
        return {
            k: (
                "<run>"
                if k in {"duration", "timestamp", "environment", "git", "commits", "slowest"}
                else _blank(v, tmp)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_blank(v, tmp) for v in value]
    if isinstance(value, str):
        return re.sub(r"health-check-\d{8}-\d{6}", "health-check-<stamp>", value.replace(tmp, "<tmp>"))
    return value


def _blank_text(text: str, tmp: str) -> str:
    text = text.replace(tmp, "<tmp>")
    text = re.sub(r"health-check-\d{8}-\d{6}", "health-check-<stamp>", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00", "<time>", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2}", "<date>", text)
    text = re.sub(r"\d+(\.\d+)? s\b", "<s> s", text)
    text = re.sub(r"- Environment: .*", "- Environment: <env>", text)
    text = re.sub(r"- slowest: .*", "- slowest: <run>", text)
    return re.sub(r"<!-- health-checks-digest .* -->", "<!-- digest -->", text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.health_report_identity", description=__doc__)
    parser.add_argument("out", type=Path, help="folder the blanked reports are written to")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (fixture, only, with_fixes) in RUNS.items():
            root = Path(tmp) / name
            shutil.copytree(FIXTURES / fixture, root)
            if name == "tinyrepo":
                path = root / PLANT[0]
                path.write_text(
                    path.read_text(encoding="utf-8").replace(PLANT[1], PLANT[2]), encoding="utf-8"
                )
            command = [sys.executable, "-m", "health_checks", "--root", str(root), "--only", only]
            if with_fixes:
                fixes = Path(tmp) / f"{name}-fixes.json"
                fixes.write_text(json.dumps(FIXES), encoding="utf-8")
                command += ["--fixes", str(fixes)]
            subprocess.run([*command, "--no-progress"], check=False, capture_output=True, text=True)
            [json_path] = sorted((root / "_logs" / "health-checks").glob("*.json"))
            [markdown_path] = sorted((root / "reports").glob("*.md"))
            report = _blank(json.loads(json_path.read_text(encoding="utf-8")), tmp)
            (args.out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
            text = _blank_text(markdown_path.read_text(encoding="utf-8"), tmp)
            (args.out / f"{name}.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
