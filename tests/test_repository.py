"""The repository's own promises: the README's commands are what CI runs, sessions are documented."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quick_start, re.S)
    assert block, "README's Quick start has no ```bash block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_two_commands_health_then_tests() -> None:
    commands = _readme_commands()
    assert len(commands) == 2, commands
    assert commands[0].endswith("nox -s health")
    assert commands[1].endswith("nox -s tests")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert _readme_commands()[1] in lines


def test_every_nox_session_has_a_docstring_and_the_required_ones_exist() -> None:
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    sessions = {
        node.name: ast.get_docstring(node)
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and any("session" in ast.unparse(d) for d in node.decorator_list)
    }
    for required in ("health", "tests", "gate", "lint", "fix", "bench", "maintain"):
        assert sessions.get(required), f"nox session {required!r} is missing or has no docstring"


def test_pytest_markers_of_the_gate_are_registered() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    markers = {m.split(":")[0] for m in config["tool"]["pytest"]["ini_options"]["markers"]}
    assert {"signature", "variance", "checkpoint", "gpu", "slow"} <= markers


def test_torch_range_admits_gpu_builds_while_sessions_pin_the_cpu_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    torch_req = next(d for d in config["project"]["dependencies"] if d.startswith("torch>") or d == "torch")
    assert "==" not in torch_req, "pyproject must keep a range GPU users can satisfy"
    assert (
        'TORCH_SPEC = os.environ.get("ATFT_TORCH_SPEC", "torch==2.13.0")' in (ROOT / "noxfile.py").read_text()
    )
