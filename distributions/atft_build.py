"""The PEP 517 build backend of the repository root: setuptools, building one of two distributions.

Without config settings every hook is setuptools' own, run on the root `pyproject.toml`: `pip install .`
and `pip install -e .` build the whole `atft` distribution (atft, maintenance, health_checks and torch)
exactly as before. With the config setting `distribution=maintenance-fix` the wheel hooks run setuptools on
`distributions/maintenance-fix/pyproject.toml` instead, which packages only `maintenance` with only what it
imports (libcst, ruff, gitpython, rich)::

    pip install . --config-settings distribution=maintenance-fix

pre-commit installs a `language: python` hook with `pip install . <additional_dependencies>` at the root
of the hook repository, and cannot install from a subdirectory; `.pre-commit-hooks.yaml` passes that
setting as its `additional_dependencies`, so the hook environment gets the standalone package and no torch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools

SETTING = "distribution"
STANDALONE = "maintenance-fix"
STANDALONE_DIR = Path(__file__).resolve().parent / STANDALONE
ConfigSettings = Mapping[str, Any] | None


def _standalone(config_settings: ConfigSettings) -> bool:
    """Whether the config settings ask for the standalone distribution (anything else is an error)."""
    value = (config_settings or {}).get(SETTING)
    if value in (None, "atft"):
        return False
    if value == STANDALONE:
        return True
    raise ValueError(f"config setting {SETTING}={value!r}: expected {STANDALONE!r} or 'atft'")


def _rest(config_settings: ConfigSettings) -> dict[str, Any] | None:
    """The config settings without ours, for setuptools."""
    if config_settings is None:
        return None
    return {key: value for key, value in config_settings.items() if key != SETTING}


@contextmanager
def _project(config_settings: ConfigSettings) -> Iterator[None]:
    """Run setuptools in the directory of the distribution the settings ask for."""
    if not _standalone(config_settings):
        yield
        return
    before = Path.cwd()
    os.chdir(STANDALONE_DIR)
    try:
        yield
    finally:
        os.chdir(before)


def _absolute(directory: str) -> str:
    return str(Path(directory).resolve())


def get_requires_for_build_wheel(config_settings: ConfigSettings = None) -> list[str]:
    """PEP 517: what building the wheel needs, beyond `[build-system] requires`."""
    with _project(config_settings):
        return _setuptools.get_requires_for_build_wheel(_rest(config_settings))


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: ConfigSettings = None) -> str:
    """PEP 517: write the wheel's `.dist-info` into `metadata_directory`."""
    target = _absolute(metadata_directory)
    with _project(config_settings):
        return _setuptools.prepare_metadata_for_build_wheel(target, _rest(config_settings))


def build_wheel(
    wheel_directory: str, config_settings: ConfigSettings = None, metadata_directory: str | None = None
) -> str:
    """PEP 517: build the wheel of the distribution the settings ask for into `wheel_directory`."""
    target = _absolute(wheel_directory)
    metadata = _absolute(metadata_directory) if metadata_directory else None
    with _project(config_settings):
        return _setuptools.build_wheel(target, _rest(config_settings), metadata)


def _whole_project_only(config_settings: ConfigSettings, what: str) -> None:
    if _standalone(config_settings):
        raise ValueError(
            f"{what} of {STANDALONE} is not supported: build its wheel (`pip wheel . --config-settings "
            f"{SETTING}={STANDALONE}` or `pip wheel ./distributions/{STANDALONE}`)"
        )


def get_requires_for_build_sdist(config_settings: ConfigSettings = None) -> list[str]:
    """PEP 517: what building the sdist of the whole project needs."""
    _whole_project_only(config_settings, "an sdist")
    return _setuptools.get_requires_for_build_sdist(_rest(config_settings))


def build_sdist(sdist_directory: str, config_settings: ConfigSettings = None) -> str:
    """PEP 517: the sdist of the whole project (the standalone package is a wheel of the same tree)."""
    _whole_project_only(config_settings, "an sdist")
    return _setuptools.build_sdist(sdist_directory, _rest(config_settings))


def get_requires_for_build_editable(config_settings: ConfigSettings = None) -> list[str]:
    """PEP 660: what an editable install of the whole project needs."""
    _whole_project_only(config_settings, "an editable install")
    return _setuptools.get_requires_for_build_editable(_rest(config_settings))


def prepare_metadata_for_build_editable(
    metadata_directory: str, config_settings: ConfigSettings = None
) -> str:
    """PEP 660: the `.dist-info` of an editable install of the whole project."""
    _whole_project_only(config_settings, "an editable install")
    return _setuptools.prepare_metadata_for_build_editable(metadata_directory, _rest(config_settings))


def build_editable(
    wheel_directory: str, config_settings: ConfigSettings = None, metadata_directory: str | None = None
) -> str:
    """PEP 660: the editable wheel of the whole project (`pip install -e .`)."""
    _whole_project_only(config_settings, "an editable install")
    return _setuptools.build_editable(wheel_directory, _rest(config_settings), metadata_directory)
