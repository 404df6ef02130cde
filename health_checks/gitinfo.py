"""What git knows about the tree under check (via gitpython): the commit, dirtiness and recent commits."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import git

logger = logging.getLogger(__name__)

MAX_COMMITS = 50
FALLBACK_COMMITS = 10


def open_repo(root: Path) -> git.Repo | None:
    """The repository whose work tree is exactly ``root``, or None (a fixture tree inside ours is not one)."""
    try:
        repo = git.Repo(root, search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    if repo.bare or Path(repo.working_tree_dir or "").resolve() != root.resolve():
        return None
    return repo


def head_info(repo: git.Repo | None) -> dict[str, Any] | None:
    """``{"commit", "short", "branch", "dirty"}`` of HEAD, or None outside a repository or before a commit."""
    if repo is None:
        return None
    try:
        commit = repo.head.commit
    except ValueError:
        return None
    branch = None if repo.head.is_detached else repo.active_branch.name
    return {"commit": commit.hexsha, "short": commit.hexsha[:8], "branch": branch, "dirty": repo.is_dirty()}


def commits_since(
    repo: git.Repo | None, previous_commit: str | None, until: str | None = None
) -> dict[str, Any]:
    """Commits after ``previous_commit`` up to ``until`` (default HEAD; the run passes the commit it checked,
    so commits made while it ran are left for the next report) with files and lines added/removed.

    Without a usable previous commit, the last few commits are listed and ``since`` says so.
    """
    if repo is None:
        return {"since": None, "note": "the tree is not a git repository", "commits": []}
    if not repo.head.is_valid():
        return {"since": None, "note": "the repository has no commit yet", "commits": []}
    head = until or "HEAD"
    rev, since, note = head, None, None
    if previous_commit:
        try:
            repo.commit(previous_commit)
            rev, since = f"{previous_commit}..{head}", previous_commit
        except (git.BadName, ValueError):
            note = f"the previous report's commit {previous_commit[:8]} is not in this repository"
    limit = MAX_COMMITS if since else FALLBACK_COMMITS
    if since is None and note is None:
        note = f"no previous report: the last {FALLBACK_COMMITS} commits"
    commits = []
    for commit in repo.iter_commits(rev, max_count=limit):
        files = {
            str(path): {"insertions": int(stat["insertions"]), "deletions": int(stat["deletions"])}
            for path, stat in commit.stats.files.items()
        }
        commits.append(
            {
                "sha": commit.hexsha,
                "short": commit.hexsha[:8],
                "date": datetime.fromtimestamp(commit.committed_date, UTC).strftime("%Y-%m-%d %H:%M"),
                "author": commit.author.name,
                "message": commit.summary if isinstance(commit.summary, str) else commit.summary.decode(),
                "files": files,
                "insertions": int(commit.stats.total["insertions"]),
                "deletions": int(commit.stats.total["deletions"]),
            }
        )
    return {"since": since, "note": note, "commits": commits}


def uncommitted(repo: git.Repo | None) -> dict[str, list[str]]:
    """Modified, staged and untracked paths (the untracked ones respect .gitignore)."""
    if repo is None:
        return {"modified": [], "staged": [], "untracked": []}
    modified = sorted({d.a_path or d.b_path for d in repo.index.diff(None)})
    try:
        staged = sorted({d.a_path or d.b_path for d in repo.index.diff("HEAD")})
    except git.BadName:
        staged = []
    return {"modified": modified, "staged": staged, "untracked": sorted(repo.untracked_files)}
