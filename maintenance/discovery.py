"""Which Python files a run looks at: the given files, and the `.py` files under the given directories.

Directories named in `DEFAULT_EXCLUDED_DIRS`, `exclude` patterns and (in a git work tree) git-ignored files
are skipped while walking, but never a path the user named explicitly: `maintenance.fix
.venv/lib/python3.11/site-packages/numpy` checks numpy.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from maintenance.config import DEFAULT_EXCLUDED_DIRS, Config, path_matches
from maintenance.source import resolved

LOG = logging.getLogger(__name__)
_GIT_BATCH = 500


def relative(path: Path, root: Path) -> str:
    """`path` relative to `root` in posix form, or the absolute path when it lies outside the root."""
    if not path.is_absolute():
        path = resolved(path)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        resolved_path = resolved(path)
        try:
            return resolved_path.relative_to(root).as_posix()
        except ValueError:
            return resolved_path.as_posix()


def discover(paths: Sequence[Path], config: Config) -> list[Path]:
    """The Python files to check, sorted and without duplicates.

    A `.py` symlink that dangles or loops is kept under its own name, so that the run reports it (MNT000).
    """
    root = config.root
    found: dict[Path, None] = {}
    walked: list[tuple[Path, list[Path]]] = []
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise FileNotFoundError(f"{path}: no such file or directory; pass existing files or directories")
        if not path.is_dir():
            found[resolved(path)] = None
            continue
        # patterns that exclude the given directory itself are overridden by naming it
        given_rel = relative(path, root)
        patterns = [p for p in config.exclude if not path_matches(given_rel, p)]
        files: list[Path] = []
        # walk the resolved directory: every directory os.walk enters below it is then a real path (it
        # does not descend into symlinked ones), so only a file that is itself a symlink needs resolving
        for dirpath, dirnames, filenames in os.walk(resolved(path)):
            here = Path(dirpath)
            dirnames[:] = sorted(
                d
                for d in dirnames
                if d not in DEFAULT_EXCLUDED_DIRS
                and not d.endswith(".egg-info")
                and not (patterns and _excluded(relative(here / d, root), patterns))
            )
            for name in sorted(filenames):
                if not name.endswith(".py"):
                    continue
                file = here / name
                if not patterns or not _excluded(relative(file, root), patterns):
                    files.append(resolved(file) if file.is_symlink() else file)
        walked.append((path, files))
    for given, files in walked:
        for file in _drop_git_ignored(given, files):
            found[file] = None
    return sorted(found)


def _excluded(relpath: str, patterns: list[str]) -> bool:
    return any(path_matches(relpath, pattern) for pattern in patterns)


def _maybe_in_work_tree(given: Path) -> bool:
    """Whether `given` may be inside a git work tree: a `.git` in it or above it, or `GIT_DIR` set."""
    if "GIT_DIR" in os.environ:
        return True
    start = given.resolve()
    return any((folder / ".git").exists() for folder in (start, *start.parents))


def _drop_git_ignored(given: Path, files: list[Path]) -> list[Path]:
    """Files under `given` that git does not ignore (all of them outside a work tree, or if `given` is ignored)."""
    if not files or not _maybe_in_work_tree(given):
        return files
    import git  # imported here: a run outside git never pays for it (0.05-0.1 s)

    try:
        repo = git.Repo(given, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return files
    try:
        top = Path(repo.working_tree_dir or given).resolve()
        if given.resolve() != top and repo.ignored(str(given.resolve())):
            return files  # the user asked for an ignored directory on purpose
        ignored: set[str] = set()
        names = [str(f) for f in files]
        for start in range(0, len(names), _GIT_BATCH):
            ignored.update(repo.ignored(*names[start : start + _GIT_BATCH]))
    except git.GitCommandError as err:
        LOG.warning("git check-ignore failed (%s); checking every file under %s", err, given)
        return files
    ignored_resolved = {str(Path(p) if Path(p).is_absolute() else (top / p)) for p in ignored}
    return [f for f in files if str(f) not in ignored_resolved]
