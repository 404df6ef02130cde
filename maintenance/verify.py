"""`--verify CMD`: prove the applied fixes against the project's own tests, and revert the ones that break them.

The command runs before any fix and after `--apply`. When it passed before and fails after, the fixes
that break it are found by bisection, first over files, then over the rules fixed within each guilty
file; exactly those are reverted and the command runs once more to confirm. Each reverted fix is
reported with the tests that failed while it was applied (read from pytest's junit XML when the
command is pytest, otherwise the command's exit status).

Files are never lost: before the first write, every file that may change is copied into
`<root>/.maintenance_cache/verify-backup/` and a manifest is written atomically (a write-ahead backup).
Any error or interrupt restores them; a run that was killed outright is restored by the next `--verify`
run (or `restore_interrupted`) before it does anything else.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from maintenance.source import atomic_write

LOG = logging.getLogger(__name__)
BACKUP_DIR = Path(".maintenance_cache") / "verify-backup"
MANIFEST = "manifest.json"
U = TypeVar("U", bound=Hashable)


class VerifyError(RuntimeError):
    """The verify command cannot prove anything (it fails before any fix, or cannot run)."""


@dataclass(frozen=True)
class Outcome:
    """One run of the verify command."""

    passed: bool
    returncode: int
    failures: tuple[str, ...] = ()  # failing test ids (pytest only)

    def describe(self) -> str:
        """The failing tests, or the exit status when the command is not pytest."""
        if self.failures:
            shown = ", ".join(self.failures[:5])
            more = f" and {len(self.failures) - 5} more" if len(self.failures) > 5 else ""
            return f"{shown}{more}"
        return f"exit status {self.returncode}"


def is_pytest(argv: Sequence[str]) -> bool:
    """Whether the command runs pytest (`pytest ...`, `python -m pytest ...`, `py.test ...`)."""
    return any(Path(token).name in {"pytest", "py.test"} for token in argv)


class Runner:
    """Runs one verify command from the project root; counts its runs."""

    def __init__(self, command: str, root: Path) -> None:
        self.argv = shlex.split(command)
        if not self.argv:
            raise VerifyError("--verify needs a command, e.g. --verify 'pytest -x -q'")
        self.root = root
        self.runs = 0

    def __call__(self) -> Outcome:
        """Run the command once; bytecode goes to a fresh directory so that every run compiles the files."""
        self.runs += 1
        with tempfile.TemporaryDirectory(prefix="maintenance-verify-") as tmp:
            argv = list(self.argv)
            junit = Path(tmp) / "junit.xml"
            if is_pytest(argv):
                argv.append(f"--junitxml={junit}")
            env = {**os.environ, "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
            try:
                proc = subprocess.run(
                    argv, cwd=self.root, env=env, capture_output=True, text=True, check=False
                )
            except OSError as err:
                raise VerifyError(f"cannot run --verify command {self.argv[0]!r}: {err}") from err
            failures = _junit_failures(junit) if junit.is_file() else ()
        outcome = Outcome(proc.returncode == 0, proc.returncode, failures)
        LOG.info(
            "verify run %d: %s", self.runs, "passed" if outcome.passed else f"failed ({outcome.describe()})"
        )
        if not outcome.passed and not failures:
            LOG.debug("verify output:\n%s%s", proc.stdout[-2000:], proc.stderr[-2000:])
        return outcome


def _junit_failures(path: Path) -> tuple[str, ...]:
    """`classname::name` of every failed or errored test case in a junit XML file."""
    try:
        tree = ET.parse(path)  # the file was written by the pytest run we started
    except ET.ParseError:
        return ()
    out = []
    for case in tree.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            name = case.get("name", "?")
            classname = case.get("classname", "")
            out.append(f"{classname}::{name}" if classname else name)
    return tuple(out)


@dataclass
class Backup:
    """Write-ahead copies of files about to change, under `<root>/.maintenance_cache/verify-backup/`."""

    root: Path
    files: dict[str, str] = field(default_factory=dict)  # absolute path -> backup file name

    @property
    def directory(self) -> Path:
        return self.root / BACKUP_DIR

    @classmethod
    def create(cls, root: Path, originals: dict[str, bytes]) -> Backup:
        """Copy every original (fsynced) and then write the manifest atomically; only then may files change."""
        backup = cls(root)
        backup.directory.mkdir(parents=True, exist_ok=True)
        for n, (path, data) in enumerate(sorted(originals.items())):
            name = f"{n}.orig"
            with open(backup.directory / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            backup.files[path] = name
        manifest = backup.directory / MANIFEST
        manifest.touch()
        atomic_write(manifest, json.dumps(backup.files, indent=1).encode())
        return backup

    def original(self, path: str) -> bytes:
        """The backed-up bytes of `path`."""
        return (self.directory / self.files[path]).read_bytes()

    def restore(self) -> list[str]:
        """Put every backed-up file back (atomically); returns the paths that differed."""
        restored = []
        for path in self.files:
            data = self.original(path)
            target = Path(path)
            if not target.exists() or target.read_bytes() != data:
                if not target.exists():
                    target.touch()
                atomic_write(target, data)
                restored.append(path)
        return restored

    def discard(self) -> None:
        """Drop the backup once the files on disk are the ones to keep."""
        shutil.rmtree(self.directory, ignore_errors=True)


def restore_interrupted(root: Path) -> list[str]:
    """Restore the files of a verify run that was killed before it finished; returns what was restored."""
    manifest = root / BACKUP_DIR / MANIFEST
    if not manifest.is_file():
        return []
    try:
        files = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise VerifyError(
            f"{manifest} cannot be read ({err}); restore the files from {manifest.parent} by hand, then delete it"
        ) from err
    backup = Backup(root, dict(files))
    restored = backup.restore()
    LOG.warning(
        "an interrupted --verify run left a backup; restored %d file(s) to their state before it",
        len(restored),
    )
    backup.discard()
    return restored


def bisect(
    units: Sequence[U],
    apply: Callable[[frozenset[U]], None],
    test: Callable[[], Outcome],
    evidence: Outcome,
    base: frozenset[U] = frozenset(),
) -> list[tuple[U, Outcome]]:
    """The units whose change breaks `test`, each with the failing run that proves it.

    `apply(S)` puts exactly the units in S in their changed state (the others in their original state).
    Preconditions: `test()` passes with `base` applied, and `evidence` is a failing run with `base` and
    every unit of `units` applied. Then `base` plus `units` minus the result passes (two units that break
    only together put the later one in the result). The state on disk afterwards is unspecified.
    """
    if not units:
        return []
    if len(units) == 1:
        return [(units[0], evidence)]
    half = len(units) // 2
    first, second = list(units[:half]), list(units[half:])
    apply(base | frozenset(first))
    outcome = test()
    guilty = bisect(first, apply, test, outcome, base) if not outcome.passed else []
    kept_first = base | frozenset(u for u in first if u not in {g for g, _ in guilty})
    if guilty:
        apply(kept_first | frozenset(second))
        outcome = test()
    else:
        outcome = evidence  # first half alone passes: the failure needs the second half
    if not outcome.passed:
        guilty += bisect(second, apply, test, outcome, kept_first)
    return guilty


@dataclass(frozen=True)
class Reverted:
    """One fix that `--verify` took back: the file, the rule, and the run that failed while it was applied."""

    path: str  # absolute
    code: str
    outcome: Outcome


def revert_breaking(
    test: Callable[[], Outcome],
    evidence: Outcome,
    originals: dict[str, bytes],
    finals: dict[str, bytes],
    rules: dict[str, list[str]],
    content: Callable[[str, frozenset[str]], bytes],
) -> tuple[list[Reverted], Outcome]:
    """Find and revert the fixes that make `test` fail; returns them and the confirming run.

    `originals`/`finals` hold each changed file before and after every fix, `rules[path]` the rules fixed
    in it, `content(path, S)` the file with only the rules in S fixed (it may write the file). Files are
    bisected first; within a guilty file, its rules. The last run must pass: if reverting the guilty
    fixes does not make it pass, every file is restored and `VerifyError` says so.
    """
    files = sorted(p for p in finals if finals[p] != originals.get(p))

    def put(path: str, data: bytes) -> None:
        if Path(path).read_bytes() != data:
            atomic_write(Path(path), data)

    def apply_files(chosen: frozenset[str]) -> None:
        for path in files:
            put(path, finals[path] if path in chosen else originals[path])

    guilty = bisect(files, apply_files, test, evidence)
    apply_files(frozenset(files) - {path for path, _ in guilty})
    reverted: list[Reverted] = []
    for path, file_evidence in guilty:
        file_rules = sorted(set(rules.get(path, [])))
        if len(file_rules) <= 1:
            reverted += [Reverted(path, code, file_evidence) for code in file_rules or ["?"]]
            continue
        memo: dict[frozenset[str], bytes] = {}

        def apply_rules(chosen: frozenset[str], path: str = path, memo: dict = memo) -> None:
            if chosen not in memo:
                memo[chosen] = content(path, chosen)
            put(path, memo[chosen])

        everything = frozenset(file_rules)
        apply_rules(everything)
        outcome = test()
        if outcome.passed:  # the file breaks the tests only with fixes of other files, which are now reverted
            continue
        bad = bisect(file_rules, apply_rules, test, outcome)
        apply_rules(everything - {code for code, _ in bad})
        reverted += [Reverted(path, code, run) for code, run in bad]
    confirm = test()
    if not confirm.passed:
        for path in files:
            put(path, originals[path])
        raise VerifyError(
            f"reverting the fixes that bisection blamed did not make the command pass ({confirm.describe()}); "
            "every file was restored to its state before the run"
        )
    return reverted, confirm
