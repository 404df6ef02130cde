"""Helpers for the maintenance tests: a throw-away repository with a pyproject and some files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

PYPROJECT = """\
[tool.maintenance]
select = {select}
ignore = {ignore}
exclude = {exclude}
per-file-ignores = {per_file}

[tool.ruff.lint]
select = ["F"]
"""


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """Build a repository under tmp_path: `make_repo({"a.py": "..."}, select=["MNT"])` returns its root."""

    def build(
        files: dict[str, str | bytes],
        *,
        select: list[str] | None = None,
        ignore: list[str] | None = None,
        exclude: list[str] | None = None,
        per_file: str = "{}",
    ) -> Path:
        root = tmp_path / "repo"
        root.mkdir(exist_ok=True)
        (root / "pyproject.toml").write_text(
            PYPROJECT.format(
                select=_toml_list(select if select is not None else ["MNT"]),
                ignore=_toml_list(ignore or []),
                exclude=_toml_list(exclude or []),
                per_file=per_file,
            )
        )
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        return root

    return build


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"
