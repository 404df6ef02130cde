"""maintenance-fix on its own: imports without torch/atft, its distribution, one version, ruff's config, hooks."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import maintenance
from maintenance import ruff_runner
from maintenance.fix import main, run_fix

ROOT = Path(__file__).resolve().parents[2]
STANDALONE = ROOT / "distributions" / "maintenance-fix"
SETTING = "--config-settings=distribution=maintenance-fix"
UNSORTED = "import sys\nimport os\n\nprint(os.sep, sys.argv)\n"

# Blocks torch, atft and health_checks: any import of them (or of a submodule) raises ModuleNotFoundError.
BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "atft", "health_checks"}:
            raise ModuleNotFoundError(f"blocked: {name}", name=name)
        return None
sys.meta_path.insert(0, Block())
"""


def _script(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a Python script in a clean environment (only PATH, HOME and `env`)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), **env},
    )


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `code` against this checkout with torch, atft and health_checks blocked."""
    return _script(BLOCKER + textwrap.dedent(code), cwd, PYTHONPATH=str(ROOT))


def test_every_maintenance_module_imports_and_runs_with_torch_and_atft_blocked(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["F"]\n')
    (tmp_path / "dead.py").write_text("def f():\n    return 1\n    print('dead')\n")
    proc = _python(
        """
        import importlib, pkgutil, sys
        try:
            import torch
        except ModuleNotFoundError:
            pass
        else:
            raise SystemExit("the blocker let torch through")
        import maintenance
        names = [m.name for m in pkgutil.walk_packages(maintenance.__path__, "maintenance.")]
        for name in names:
            importlib.import_module(name)
        from maintenance.fix import main
        status = main(["--no-cache", "--format", "json", "."])
        print("IMPORTED", len(names), "STATUS", status)
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    imported, status = re.search(r"IMPORTED (\d+) STATUS (\d+)", proc.stdout).groups()
    assert int(imported) >= 15  # every module of maintenance and maintenance.codemods
    assert int(status) == 1  # the MNT001 finding is left in a dry run
    findings = json.loads(proc.stdout[: proc.stdout.rindex("IMPORTED")])
    assert [f["code"] for f in findings] == ["MNT001"]
    assert "blocked" not in proc.stderr


def _third_party_imports() -> set[str]:
    """Top-level names of every module the maintenance package imports that are neither stdlib nor ours."""
    names: set[str] = set()
    for file in Path(maintenance.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in {"maintenance", "__future__"}}


def _requirement_names(requirements: list[str]) -> dict[str, str]:
    return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower(): r for r in requirements}


def test_the_standalone_distribution_depends_on_exactly_what_maintenance_imports() -> None:
    standalone = tomllib.loads((STANDALONE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    whole = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = _requirement_names(standalone["dependencies"])
    module_to_dists = importlib.metadata.packages_distributions()
    imported = {module_to_dists[name][0].lower() for name in _third_party_imports()}
    # ruff is not imported: it runs as `python -m ruff` from the same environment
    assert set(declared) == imported | {"ruff"}
    assert "torch" not in declared
    # the same pins as the whole project's, so both run the same ruff
    assert set(declared.values()) <= set(whole["dependencies"])
    assert standalone["scripts"] == {"maintenance-fix": "maintenance.fix:run"}
    assert whole["scripts"]["maintenance-fix"] == "maintenance.fix:run"


def test_one_version_for_both_distributions() -> None:
    for pyproject in (ROOT / "pyproject.toml", STANDALONE / "pyproject.toml"):
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        assert "version" not in data["project"], pyproject
        assert data["project"]["dynamic"] == ["version"]
        assert data["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "maintenance.__version__"}
    import atft

    assert atft.__version__ == maintenance.__version__ == importlib.metadata.version("atft")


def _backend(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run `code` with the root's build backend imported as `backend`, in a copy of the source tree.

    (setuptools writes its `.egg-info` next to the sources; the copy keeps the checkout clean.)
    """
    tree = tmp_path / "tree"
    tree.mkdir()
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "fixtures")
    for name in ("pyproject.toml", "README.md", "distributions", "atft", "maintenance", "health_checks"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=junk)
        else:
            shutil.copy2(source, tree / name)
    script = (
        f"import sys\nsys.path.insert(0, {str(tree / 'distributions')!r})\nimport atft_build as backend\n"
    )
    return _script(script + textwrap.dedent(code), tree, TMPDIR=str(tmp_path))


def test_the_root_build_backend_builds_the_standalone_metadata_only_when_asked(tmp_path: Path) -> None:
    code = f"""
        import email, pathlib, os
        for settings in (None, {{"distribution": "maintenance-fix"}}):
            out = pathlib.Path({str(tmp_path)!r}) / f"meta-{{bool(settings)}}"
            out.mkdir()
            info = backend.prepare_metadata_for_build_wheel(str(out), settings)
            meta = email.message_from_string((out / info / "METADATA").read_text())
            print("META", meta["Name"], meta["Version"], sorted(meta.get_all("Requires-Dist") or []), os.getcwd())
    """
    proc = _backend(code, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    whole, alone = [line for line in proc.stdout.splitlines() if line.startswith("META ")]
    assert whole.startswith(f"META atft {maintenance.__version__} ") and "torch" in whole
    assert alone.startswith(f"META maintenance-fix {maintenance.__version__} ") and "torch" not in alone
    assert all(
        line.endswith(str(tmp_path / "tree")) for line in (whole, alone)
    )  # the backend restored the cwd
    for dist in ("libcst", "ruff", "gitpython", "rich", "coverage"):
        assert dist in alone.lower()


def test_the_root_build_backend_refuses_what_it_cannot_build(tmp_path: Path) -> None:
    proc = _backend(
        """
        for call in (
            lambda: backend.build_editable("x", {"distribution": "maintenance-fix"}),
            lambda: backend.build_sdist("x", {"distribution": "maintenance-fix"}),
            lambda: backend.get_requires_for_build_wheel({"distribution": "torchless"}),
        ):
            try:
                call()
            except ValueError as err:
                print("REFUSED", err)
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    refusals = [line for line in proc.stdout.splitlines() if line.startswith("REFUSED")]
    assert len(refusals) == 3
    assert "pip wheel" in refusals[0] and "torchless" in refusals[2]


def test_version_prints_ours_and_rufs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert maintenance.__version__ in out
    ruff = subprocess.run(
        [*ruff_runner.ruff_command(), "--version"], capture_output=True, text=True, check=True
    )
    assert ruff.stdout.split()[1] in out  # `ruff X.Y.Z`: the ruff that maintenance.fix runs
    assert ruff_runner.ruff_version() == ruff.stdout.split()[1]


def _ruff_codes(root: Path, *extra: str) -> set[str]:
    proc = subprocess.run(
        [*ruff_runner.ruff_command(), "check", "--output-format", "json", "--exit-zero", *extra, "."],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return {d["code"] for d in json.loads(proc.stdout)}


def _our_ruff_codes(root: Path) -> set[str]:
    report = run_fix([root], select=["ruff"], use_cache=False, jobs=1, want_diff=False)
    return {f.code for f in report.findings}


def _git_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    (path / ".git").mkdir()  # the root marker find_root looks for
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def test_a_repository_without_ruff_config_gets_ruffs_defaults(tmp_path: Path) -> None:
    repo = _git_repo(tmp_path / "repo", {"a.py": UNSORTED})
    defaults = _ruff_codes(repo, "--isolated")
    assert defaults  # ruff's default rule set finds something here (I001 in ruff >= 0.16)
    assert _our_ruff_codes(repo) == defaults


def test_a_configuration_above_the_repository_does_not_apply(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["F"]\n')
    repo = _git_repo(tmp_path / "repo", {"a.py": UNSORTED, "pyproject.toml": '[project]\nname = "x"\n'})
    assert _ruff_codes(repo) == set()  # plain ruff takes the outer select = ["F"]: nothing
    assert _our_ruff_codes(repo) == _ruff_codes(repo, "--isolated") != set()


def test_the_repositorys_own_configuration_is_followed(tmp_path: Path) -> None:
    repo = _git_repo(
        tmp_path / "repo",
        {"a.py": UNSORTED + "import json\n", "pyproject.toml": '[tool.ruff.lint]\nselect = ["F401"]\n'},
    )
    assert _our_ruff_codes(repo) == _ruff_codes(repo) == {"F401"}
    assert ruff_runner.config_args(["."], repo) == []


def test_a_ruff_toml_below_the_root_counts_as_configuration(tmp_path: Path) -> None:
    repo = _git_repo(tmp_path / "repo", {"a.py": UNSORTED})
    (repo / "sub").mkdir()
    (repo / "sub" / "ruff.toml").write_text('[lint]\nselect = ["F"]\n')
    (repo / "sub" / "b.py").write_text(UNSORTED)
    assert ruff_runner.config_args([str(repo)], repo) == []
    assert ruff_runner.config_args([str(repo / "a.py")], repo) == ["--isolated"]
    assert ruff_runner.config_args([str(repo / "sub" / "b.py")], repo) == []


def test_isolated_ruff_keeps_the_target_version_from_requires_python(tmp_path: Path) -> None:
    repo = _git_repo(
        tmp_path / "repo", {"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.12"\n'}
    )
    assert ruff_runner.config_args(["."], repo) == ["--isolated", "--target-version", "py312"]
    assert ruff_runner.config_args([str(repo)], repo) == ["--isolated", "--target-version", "py312"]
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\nrequires-python = "~=3.11,!=3.11.2"\n')
    assert ruff_runner.config_args(["."], repo) == ["--isolated", "--target-version", "py311"]


def test_the_pre_commit_hooks_install_the_standalone_distribution() -> None:
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["id"] for h in hooks} == {"maintenance-fix", "maintenance-check"}
    for hook in hooks:
        assert hook["language"] == "python"
        assert hook["entry"].split()[0] == "maintenance-fix"
        assert hook["additional_dependencies"] == [SETTING]
    clientlib = pytest.importorskip("pre_commit.clientlib")
    clientlib.load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))  # pre-commit's own schema check
