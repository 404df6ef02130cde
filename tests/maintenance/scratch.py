"""A scratch repository with its own package and pytest suite, and three fixes the suite judges differently.

- `pkg/core.py:2` F541 (f-string without placeholders): `test_name` calls `name()`, so a test runs the fix;
- `pkg/core.py:7` MNT001 (a statement after `return` in `never()`): no test calls `never()`;
- `pkg/paths.py:1` F401 (`import os` unused inside the module): `test_os_through_paths` reads `paths.os`,
  so removing the import breaks a test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FILES = {
    "pyproject.toml": (
        '[project]\nname = "scratch"\nversion = "0"\n\n'
        '[tool.maintenance]\nselect = ["MNT", "ruff"]\n\n'
        '[tool.ruff.lint]\nselect = ["F"]\n'
    ),
    "pkg/__init__.py": "",
    "pkg/core.py": 'def name():\n    return f"core"\n\n\ndef never():\n    return 1\n    print("never reached")\n',
    "pkg/paths.py": 'import os\n\n\ndef here():\n    return "."\n',
    "tests/test_pkg.py": (
        "from pkg import core, paths\n\n\n"
        'def test_name():\n    assert core.name() == "core"\n\n\n'
        "def test_os_through_paths():\n    assert paths.os.sep\n"
    ),
}
# plugin autoload off: each run of the bisection starts in a fraction of the time
TEST_COMMAND = f"env PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {sys.executable} -m pytest -q -p no:cacheprovider tests"


def make_scratch(root: Path, *, git: bool = False) -> Path:
    """Write the scratch repository under `root` (a git repository with one commit when `git`)."""
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if git:
        for argv in (
            ["git", "init", "-q", "-b", "main"],
            ["git", "add", "."],
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "scratch"],
        ):
            subprocess.run(argv, cwd=root, check=True)
    return root
