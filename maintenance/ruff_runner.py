"""Run the ruff of this environment (`python -m ruff`) and turn its JSON output into `Finding`s.

Ruff runs from the project root with the paths the user gave, so the target repository's own ruff
configuration (rules, excludes, per-file-ignores) applies to ruff's findings. A repository without any ruff
configuration gets ruff's defaults: ruff runs `--isolated` there, so that neither a configuration in a
directory above the repository nor the user's own ruff.toml applies (ruff would otherwise pick them up),
with the `--target-version` that ruff infers from the root's `requires-python`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from maintenance import discovery
from maintenance.config import DEFAULT_EXCLUDED_DIRS
from maintenance.findings import Finding
from maintenance.ruff_policy import GUARDED_F401, UNUSED_NOQA, FixPolicy
from maintenance.source import atomic_write

LOG = logging.getLogger(__name__)


class RuffError(RuntimeError):
    """ruff could not run or failed."""


def ruff_command() -> list[str]:
    """The ruff that this environment depends on."""
    return [sys.executable, "-m", "ruff"]


def ruff_version() -> str:
    """The version of the ruff that `ruff_command()` runs ("not installed" when this environment has none)."""
    import importlib.metadata

    try:
        return importlib.metadata.version("ruff")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _pyproject(directory: Path) -> dict[str, Any] | None:
    """`directory/pyproject.toml` parsed, `None` when absent or unreadable (ruff reports a broken one)."""
    try:
        return tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


def _has_ruff_config(directory: Path) -> bool:
    """Whether ruff takes a configuration from `directory`: ruff.toml, .ruff.toml or `[tool.ruff]`."""
    if (directory / "ruff.toml").is_file() or (directory / ".ruff.toml").is_file():
        return True
    if not (directory / "pyproject.toml").is_file():
        return False
    data = _pyproject(directory)
    return data is None or "ruff" in data.get("tool", {})


def _repository_has_ruff_config(paths: Sequence[str], root: Path) -> bool:
    """Whether any directory from the root down to (and under) the checked paths holds a ruff config."""
    root = root.resolve()
    if _has_ruff_config(root):
        return True
    directories: set[Path] = set()
    for raw in paths:
        path = (root / raw).resolve()  # ruff runs in the root: relative paths are relative to it
        start = path if path.is_dir() else path.parent
        directories.update(d for d in (start, *start.parents) if root in d.parents)
        if path.is_dir():
            for current, dirs, _ in os.walk(path):
                dirs[:] = [d for d in dirs if d not in DEFAULT_EXCLUDED_DIRS]
                directories.add(Path(current))
    return any(_has_ruff_config(d) for d in sorted(directories))


def _target_version(root: Path) -> list[str]:
    """`--target-version pyXY` from the lowest version `requires-python` of the root's pyproject allows."""
    requires = ((_pyproject(root) or {}).get("project") or {}).get("requires-python")
    if not isinstance(requires, str):
        return []
    lows = [
        (int(major), int(minor))
        for major, minor in re.findall(r"(?:>=|~=|==)\s*(\d+)\.(\d+)", requires)
        if major == "3"
    ]
    return ["--target-version", f"py{min(lows)[0]}{min(lows)[1]}"] if lows else []


def config_args(paths: Sequence[str], root: Path) -> list[str]:
    """Nothing when the repository configures ruff; else `--isolated` (ruff's defaults) and its target."""
    if _repository_has_ruff_config(paths, root):
        return []
    return ["--isolated", *_target_version(root)]


def _run(args: list[str], root: Path) -> subprocess.CompletedProcess[str]:
    paths = args[args.index("--") + 1 :] if "--" in args else []
    command = [*ruff_command(), args[0], *config_args(paths, root), *args[1:]]
    try:
        proc = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    except OSError as err:
        raise RuffError(f"cannot run {' '.join(command)}: {err}; install ruff or pass --no-ruff") from err
    if proc.returncode not in (0, 1):
        raise RuffError(
            f"`{' '.join(command[:6])} ...` exited {proc.returncode}: {proc.stderr.strip()[-800:]}; "
            "fix ruff's configuration or pass --no-ruff"
        )
    return proc


def check(
    paths: Sequence[str],
    root: Path,
    *,
    fix: bool = False,
    unsafe_fixes: bool = False,
    options: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """ruff's JSON diagnostics for `paths` (after fixing them in place when `fix`); `options` go before them."""
    return _diagnostics(_run([*_check_args(fix, unsafe_fixes), *options, "--", *paths], root).stdout)


def _check_args(fix: bool = False, unsafe_fixes: bool = False) -> list[str]:
    if not fix:
        return ["check", "--output-format", "json", "--exit-zero", "--no-fix"]
    return ["check", "--output-format", "json", "--exit-zero", "--fix"] + (
        ["--unsafe-fixes"] if unsafe_fixes else []
    )


def _diagnostics(text: str) -> list[dict[str, Any]]:
    try:
        return json.loads(text or "[]")
    except json.JSONDecodeError as err:
        raise RuffError(f"ruff printed something that is not JSON ({err}): {text[:200]!r}") from err


def diff(paths: Sequence[str], root: Path, *, unsafe_fixes: bool = False, options: Sequence[str] = ()) -> str:
    """The unified diff of ruff's fixes for `paths`, without writing anything (files in ruff's order:
    `diff_policy` sorts them)."""
    args = ["check", "--diff", "--exit-zero"] + (["--unsafe-fixes"] if unsafe_fixes else [])
    return _run([*args, *options, "--", *paths], root).stdout


def by_file(diff_text: str) -> str:
    """A multi-file unified diff with its files in path order: ruff prints them as its threads finish,
    so two runs of the same check differ in order (seen on qlib). A hunk's lines are counted from its
    ``@@ -a,b +c,d @@`` header, so a removed line that reads ``-- x`` never starts a file. A line outside
    every file's hunks that is not blank (ruff's ``Would fix N errors.``) goes to the end, in the order
    given: it had followed whichever file ruff happened to print last (seen on Django); the blank line
    ruff prints after each file stays with its file."""
    chunks: list[list[str]] = []
    trailer: list[str] = []
    old_left = new_left = 0
    pieces = diff_text.split("\n")  # only "\n" ends a line here (`splitlines` also breaks at a form feed)
    for line in [piece + "\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else []):
        if old_left or new_left:  # inside a hunk ("\\ No newline at end of file" counts as neither side)
            kind = line[:1]
            old_left -= kind in " -"
            new_left -= kind in " +"
        elif line.startswith("@@"):
            match = _HUNK.match(line)
            if match is not None:
                old_left = int(match.group(2) or 1)
                new_left = int(match.group(4) or 1)
        elif line.startswith("--- ") or not chunks:
            chunks.append([])
        elif line.strip() and not line.startswith(("+++ ", "\\")):  # ruff's summary, not a file's line
            trailer.append(line)
            continue
        chunks[-1].append(line)
    return "".join("".join(chunk) for chunk in sorted(chunks, key=lambda chunk: chunk[0])) + "".join(trailer)


_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def apply_policy(files: Sequence[str], root: Path, policy: FixPolicy) -> None:
    """`ruff check --fix` on `files` (absolute paths) within `policy`; writes the files in place."""
    for group, options in policy.groups(files):
        check(group, root, fix=True, unsafe_fixes=policy.unsafe_fixes, options=options)


def diff_policy(files: Sequence[str], root: Path, policy: FixPolicy) -> str:
    """The unified diff of what `apply_policy` would change, writing nothing."""
    return by_file(
        "".join(
            diff(group, root, unsafe_fixes=policy.unsafe_fixes, options=options)
            for group, options in policy.groups(files)
        )
    )


def is_fixable(diagnostic: dict[str, Any], unsafe_fixes: bool) -> bool:
    """Whether `ruff check --fix` (with `--unsafe-fixes` when asked) applies this diagnostic's fix."""
    fix = diagnostic.get("fix")
    if not fix:
        return False
    applicability = fix.get("applicability", "safe")
    return applicability == "safe" or (unsafe_fixes and applicability == "unsafe")


def to_findings(
    diagnostics: Sequence[dict[str, Any]],
    display: dict[str, str],
    unsafe_fixes: bool,
    policy: FixPolicy | None = None,
    sources: Mapping[str, bytes] | None = None,
) -> list[Finding]:
    """Findings from ruff's JSON; `display` maps absolute file names to the paths to show.

    A finding is fixable when ruff has a fix that applies (safe, or unsafe with `unsafe_fixes`) and
    `policy` (when given) allows it; an F401 import the policy keeps says why in its message.
    Diagnostics of files outside `display` (excluded by our configuration) and ruff's syntax errors
    (reported by us as MNT000) are dropped. `sources` (file -> bytes, as the run read them) spares reading
    the files again for the findings' lines.
    """
    findings = []
    lines_of: dict[str, list[str]] = {}
    resolved: dict[str, str] = {}
    for diag in diagnostics:
        raw = diag.get("filename", "")
        if raw not in resolved:  # (a file the run discovered is named by its resolved path already)
            resolved[raw] = raw if raw in display else str(discovery.resolved(Path(raw)))
        filename = resolved[raw]
        code = diag.get("code")
        if filename not in display or not code:
            continue
        row = diag["location"]["row"]
        column = diag["location"]["column"]
        fixable = is_fixable(diag, unsafe_fixes)
        message = diag.get("message", "")
        if policy is not None:
            fixable = fixable and policy.allows(code, filename, row)
            why = policy.kept.get((filename, row)) if code == GUARDED_F401 else None
            if why:
                message = f"{message} (kept by the fix policy: {why})"
            elif code == GUARDED_F401 and filename in policy.keep_f401 and is_fixable(diag, unsafe_fixes):
                message = f"{message} (not fixed: this file holds an import the fix policy keeps; remove it by hand)"
            noqa = policy.noqa_kept.get((filename, row)) if code == UNUSED_NOQA else None
            if noqa is not None:
                message = f"{message} (kept by the fix policy: {noqa[0]})"
        if filename not in lines_of:
            try:
                data = sources[filename] if sources and filename in sources else Path(filename).read_bytes()
                lines_of[filename] = data.decode("utf-8", errors="replace").splitlines()
            except OSError:
                lines_of[filename] = []
        lines = lines_of[filename]
        before = lines[row - 1] if 0 < row <= len(lines) else None
        # a RUF100 fix that keeps other linters' codes differs from the edit ruff reported: see the diff
        partial = policy is not None and code == UNUSED_NOQA and (filename, row) in policy.noqa_kept
        after = _after_line(diag, before, row) if fixable and not partial else None
        findings.append(
            Finding(
                path=display[filename],
                line=row,
                column=column,
                code=code,
                message=message,
                fixable=fixable,
                before=before,
                after=after,
            )
        )
    return findings


def _after_line(diag: dict[str, Any], before: str | None, row: int) -> str | None:
    """The line after ruff's fix when every edit stays on that line (else `None`: see the diff)."""
    if before is None:
        return None
    edits = diag["fix"].get("edits", [])
    if not all(e["location"]["row"] == row and e["end_location"]["row"] == row for e in edits):
        return None
    text = before
    for edit in sorted(edits, key=lambda e: e["location"]["column"], reverse=True):
        start, end = edit["location"]["column"] - 1, edit["end_location"]["column"] - 1
        text = text[:start] + (edit.get("content") or "") + text[end:]
    return text


CONFIG_NAMES = ("pyproject.toml", "ruff.toml", ".ruff.toml")


def check_cached(
    paths: Sequence[str], root: Path, files: Sequence[Path], cache_dir: Path | None
) -> list[dict[str, Any]]:
    """`check(paths, root)`, reused while no checked file and no ruff config file has changed.

    The key is ruff's version, the arguments, every checked file's size and mtime (what ruff's own cache
    uses) and the content of every pyproject.toml/ruff.toml/.ruff.toml in their directories and above.
    """
    if cache_dir is None:
        return check(paths, root)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{ruff_version()}|{json.dumps(list(paths))}|{root}\n".encode())
    directories: set[Path] = set()
    for file in files:
        try:
            info = file.stat()
        except OSError:
            return check(paths, root)
        digest.update(f"{file}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
        directories.add(file.parent)
    ancestors = {d for directory in directories for d in (directory, *directory.parents)}
    for directory in sorted(ancestors):
        for name in CONFIG_NAMES:
            config = directory / name
            if config.is_file():
                digest.update(str(config).encode() + config.read_bytes())
    target = cache_dir / f"ruff-{digest.hexdigest()}.json"
    try:
        return json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    text = _run([*_check_args(), "--", *paths], root).stdout or "[]"
    diagnostics = _diagnostics(text)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob("ruff-*.json"):
            old.unlink(missing_ok=True)
        atomic_write(target, text.encode())  # ruff's own text: 27 MB on 8,285 files need no encoding again
    except OSError as err:
        LOG.warning("could not cache ruff's results in %s (%s)", cache_dir, err)
    return diagnostics
