"""Fixtures of the health_checks tests: copies of the planted-bug tree, tiny trees, the golden-file flag."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden files of tests/health_checks instead of comparing with them",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True only on an explicit request: `pytest --update-golden` (when this conftest is loaded at start-up,
    e.g. `pytest tests/health_checks`) or UPDATE_GOLDEN=1."""
    return (
        bool(request.config.getoption("--update-golden", default=False))
        or os.environ.get("UPDATE_GOLDEN") == "1"
    )


@pytest.fixture
def planted_tree(tmp_path: Path) -> Path:
    """A private copy of the planted-bug tree (the fixer and the reports write into it)."""
    root = tmp_path / "planted"
    shutil.copytree(FIXTURES / "planted", root)
    return root


@pytest.fixture
def tiny_tree(tmp_path: Path) -> Path:
    """A two-module tree that imports cleanly and lints clean, with fast settings."""
    root = tmp_path / "tiny"
    (root / "tiny").mkdir(parents=True)
    (root / "tiny" / "__init__.py").write_text('"""A tiny package."""\n')
    (root / "tiny" / "core.py").write_text(
        '"""Core."""\n\n\ndef add(a: int, b: int) -> int:\n    return a + b\n'
    )
    (root / "pyproject.toml").write_text(
        '[tool.ruff]\nline-length = 100\n\n[tool.health_checks]\nimport_preload = []\nmarkdown_dir = "reports"\n'
    )
    return root
