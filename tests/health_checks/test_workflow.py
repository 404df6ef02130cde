"""The reusable action (action.yml) and the workflows: valid against GitHub's schemas, and wired together:
our weekly workflow uses our own action with the noxfile's test command, and every input reaches the
autopilot's command line."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # a dependency of libcst

from health_checks.cli import build_parser as health_parser
from maintenance.autopilot import build_parser

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
WORKFLOW = ROOT / ".github" / "workflows" / "maintenance.yml"
EXAMPLE = ROOT / "docs" / "examples" / "maintenance-caller.yml"


def test_the_weekly_workflow_uses_our_own_action() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert "workflow_dispatch" in triggers and triggers["schedule"][0]["cron"].split()[-1] == "1"
    steps = workflow["jobs"]["maintain"]["steps"]
    ours = next(s for s in steps if s.get("uses") == "./")
    noxfile = (ROOT / "noxfile.py").read_text()
    verify = re.search(r"VERIFY_COMMAND = '(.+)'", noxfile)
    assert verify is not None and ours["with"]["test-command"] == verify.group(1)
    assert ours["with"]["health-checks"] == "true"
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write", "issues": "write"}
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0


def test_every_input_of_the_action_reaches_the_autopilot() -> None:
    action = yaml.safe_load(ACTION.read_text())
    steps = action["runs"]["steps"]
    text = yaml.safe_dump(steps)
    for name in action["inputs"]:
        assert f"inputs.{name}" in text, f"input {name} is declared but never used"
    run = next(s for s in steps if s.get("id") == "autopilot")["run"]
    options = {o for a in build_parser()._actions for o in a.option_strings}
    used = set(re.findall(r"(--[a-z][a-z-]+)", run.split("python -P -m maintenance.autopilot")[0]))
    # --probe and --watch go to health_checks through --health-args: they must be options of health_checks
    health_options = {o for a in health_parser()._actions for o in a.option_strings}
    assert used - options == {"--probe", "--watch"}
    assert used - options <= health_options
    for output in action["outputs"]:
        assert f"steps.autopilot.outputs.{output}" in action["outputs"][output]["value"]
    # no torch unless the health checks are asked for
    fixer = next(s for s in steps if "distributions/maintenance-fix" in s.get("run", ""))
    assert fixer["if"] == "inputs.health-checks != 'true'" and "torch" not in fixer["run"]


def test_the_caller_example_pins_the_action() -> None:
    example = yaml.safe_load(EXAMPLE.read_text())
    uses = [s["uses"] for s in example["jobs"]["maintain"]["steps"] if "uses" in s]
    assert "OWNER/atft@REV" in uses


@pytest.mark.skipif(
    importlib.util.find_spec("check_jsonschema") is None,
    reason="check-jsonschema (dev group) is not installed",
)
def test_action_and_workflows_match_githubs_schemas() -> None:
    workflows = [str(p) for p in sorted((ROOT / ".github" / "workflows").glob("*.yml"))] + [str(EXAMPLE)]
    for schema, files in (("vendor.github-workflows", workflows), ("vendor.github-actions", [str(ACTION)])):
        proc = subprocess.run(
            [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *files],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
