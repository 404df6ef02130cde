"""The weekly maintenance workflow runs `nox -s maintain` and proposes the generated report as a PR."""

from __future__ import annotations

from pathlib import Path

import yaml  # a dependency of libcst

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "maintenance.yml"


def test_maintenance_workflow_schedules_nox_maintain_and_opens_a_pull_request() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert "workflow_dispatch" in triggers and triggers["schedule"][0]["cron"].split()[-1] == "1"
    steps = workflow["jobs"]["maintain"]["steps"]
    setup = next(s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "3.11" and setup["with"]["cache"] == "pip"
    assert any("nox -s maintain" in str(s.get("run", "")) for s in steps)
    pull = next(s for s in steps if str(s.get("uses", "")).startswith("peter-evans/create-pull-request"))
    assert pull["with"]["body-path"] == "${{ steps.report.outputs.path }}"
    locate = next(s for s in steps if s.get("id") == "report")
    assert "docs/improvements/*.md" in locate["run"]
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}
