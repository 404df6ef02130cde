"""`--verify CMD`: prove the applied fixes against the project's own tests, and revert the ones that break them.

The command runs before any fix and after `--apply`. When it passed before and fails after, the fixes
that break it are found by bisection, first over files, then over the rules fixed within each guilty
file; exactly those are reverted and the command runs once more to confirm. Each reverted fix is
reported with the tests that failed while it was applied (read from pytest's junit XML when the
command is pytest, otherwise the command's exit status).

Under `--verify` every run on the fixed tree also measures, with coverage.py, which lines of the changed
files each test executed (`COVERAGE_PROCESS_START` and coverage's own `.pth` start it in every Python
process of the command, xdist workers included; `dynamic_context = test_function` names the test). Each
kept fix is then *proven* (a test executed a statement it changed and the suite passed) or
*unexercised* (no test reached it); `drop_unexercised` takes the unexercised ones back as well, and one
more run confirms the tree that stays. When the command's Python has no coverage.py, nothing is
measured and the fixes are *unmeasured*, never proven.

Files are never lost: before the first write, every file that may change is copied into
`<root>/.maintenance_cache/verify-backup/` and a manifest is written atomically (a write-ahead backup).
Any error or interrupt restores them; a run that was killed outright is restored by the next `--verify`
run (or `restore_interrupted`) before it does anything else.
"""

from __future__ import annotations

import ast
import difflib
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
from typing import Literal, TypeVar

from maintenance.findings import Finding
from maintenance.source import atomic_write

LOG = logging.getLogger(__name__)
BACKUP_DIR = Path(".maintenance_cache") / "verify-backup"
MANIFEST = "manifest.json"
U = TypeVar("U", bound=Hashable)
# absolute file -> executed line -> the tests (coverage contexts) that executed it; "" is code run outside
# any test function (imports during collection, fixtures)
LineContexts = dict[str, dict[int, tuple[str, ...]]]
Status = Literal["proven", "unexercised", "unmeasured", "reverted"]
OUTSIDE_TESTS = "(outside a test function: import or fixture)"


class VerifyError(RuntimeError):
    """The verify command cannot prove anything (it fails before any fix, or cannot run)."""


@dataclass(frozen=True)
class Outcome:
    """One run of the verify command."""

    passed: bool
    returncode: int
    failures: tuple[str, ...] = ()  # failing test ids (pytest only)
    coverage: LineContexts | None = None  # what a measured run executed in the files it measured

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

    def __call__(self, measure: Sequence[str] = ()) -> Outcome:
        """Run the command once; bytecode goes to a fresh directory so that every run compiles the files.

        `measure` names absolute files whose executed lines (and the tests that executed them) the run
        records with coverage.py; `Outcome.coverage` is then set (empty when no process measured them).
        """
        self.runs += 1
        with tempfile.TemporaryDirectory(prefix="maintenance-verify-") as tmp:
            argv = list(self.argv)
            junit = Path(tmp) / "junit.xml"
            if is_pytest(argv):
                argv.append(f"--junitxml={junit}")
            env = {**os.environ, "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
            if measure:
                env["COVERAGE_PROCESS_START"] = str(_coverage_rc(Path(tmp), measure))
            try:
                proc = subprocess.run(
                    argv, cwd=self.root, env=env, capture_output=True, text=True, check=False
                )
            except OSError as err:
                raise VerifyError(f"cannot run --verify command {self.argv[0]!r}: {err}") from err
            failures = _junit_failures(junit) if junit.is_file() else ()
            executed = _read_coverage(Path(tmp) / "coverage") if measure else None
        outcome = Outcome(proc.returncode == 0, proc.returncode, failures, executed)
        LOG.info(
            "verify run %d: %s", self.runs, "passed" if outcome.passed else f"failed ({outcome.describe()})"
        )
        if not outcome.passed and not failures:
            LOG.debug("verify output:\n%s%s", proc.stdout[-2000:], proc.stderr[-2000:])
        return outcome


def _coverage_rc(tmp: Path, files: Sequence[str]) -> Path:
    """A coverage.py config measuring only `files`, per test function, one data file per process."""
    data = tmp / "coverage"
    data.mkdir()
    include = "".join(f"\n    {f}" for f in sorted(files))
    rc = tmp / "coveragerc"
    rc.write_text(
        f"[run]\ndata_file = {data / '.coverage'}\nparallel = True\n"
        f"dynamic_context = test_function\ninclude ={include}\n",
        encoding="utf-8",
    )
    return rc


def _read_coverage(directory: Path) -> LineContexts | None:
    """Combine the data files of every measured process: file -> line -> tests that executed it.

    `None` when no process wrote any (the command's Python has no coverage.py, or runs in a sandbox that
    drops the environment): nothing was measured, which is not the same as nothing executed.
    """
    if not any(directory.glob(".coverage.*")):
        return None
    import coverage  # only a measured run needs it

    cov = coverage.Coverage(data_file=str(directory / ".coverage"), config_file=False)
    cov.combine([str(directory)], keep=False)
    data = cov.get_data()
    out: LineContexts = {}
    for name in data.measured_files():
        lines = data.contexts_by_lineno(name)
        out[str(Path(name).resolve())] = {line: tuple(sorted(tests)) for line, tests in lines.items()}
    return out


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
    confirm_test: Callable[[], Outcome] | None = None,
) -> tuple[list[Reverted], Outcome]:
    """Find and revert the fixes that make `test` fail; returns them and the confirming run.

    `originals`/`finals` hold each changed file before and after every fix, `rules[path]` the rules fixed
    in it, `content(path, S)` the file with only the rules in S fixed (it may write the file). Files are
    bisected first; within a guilty file, its rules. The last run must pass: if reverting the guilty
    fixes does not make it pass, every file is restored and `VerifyError` says so. `confirm_test` (default
    `test`) makes that last run, e.g. one that measures coverage.
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
    confirm = (confirm_test or test)()
    if not confirm.passed:
        for path in files:
            put(path, originals[path])
        raise VerifyError(
            f"reverting the fixes that bisection blamed did not make the command pass ({confirm.describe()}); "
            "every file was restored to its state before the run"
        )
    return reverted, confirm


@dataclass(frozen=True)
class FixSite:
    """One applied fix: the file (absolute), the rule, and the lines it rewrote in the original file."""

    path: str
    code: str
    line: int
    end_line: int


@dataclass(frozen=True)
class Evidence:
    """What the tests say about one kept fix.

    `status` is proven / unexercised / unmeasured; `tests` the tests that executed a changed statement
    (`OUTSIDE_TESTS` for code run at import or in a fixture); `lines` the statements of the fixed file
    that were looked up; `kept` is false when `drop_unexercised` took the fix back.
    """

    site: FixSite
    status: Status
    tests: tuple[str, ...] = ()
    lines: tuple[int, ...] = ()
    kept: bool = True


@dataclass
class Proof:
    """The outcome of `prove`: the fixes bisection reverted, the evidence for every other fix."""

    reverted: list[Reverted]
    evidence: list[Evidence]
    measured: bool  # whether coverage.py measured the final run


def site(finding: Finding, path: str) -> FixSite:
    """The `FixSite` of a fixable finding in the file `path` (its `before` text gives the lines it spans)."""
    span = len(finding.before.splitlines()) if finding.before else 1
    return FixSite(path, finding.code, finding.line, finding.line + max(span, 1) - 1)


def changed_statements(original: str, final: str, line: int, end_line: int) -> tuple[int, ...]:
    """The first lines of the statements of `final` that a fix of original lines `line..end_line` rewrote.

    The two texts are aligned with difflib; every changed block that overlaps the fix's lines maps to its
    lines in `final`. A block that only deletes (unreachable code after a `return`) maps to the line
    before the deletion, whose execution is what the deletion relies on. Each line is then widened to the
    innermost statement holding it, since coverage.py records a statement at its first line (and a
    decorated definition at its decorators too).
    """
    old, new = original.splitlines(), final.splitlines()
    lo, hi = line - 1, max(line, end_line)  # 0-based, half-open
    targets: set[int] = set()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    opcodes = matcher.get_opcodes()
    for tag, i1, i2, j1, j2 in opcodes:
        touches = (i1 < hi and i2 > lo) if i2 > i1 else lo <= i1 <= hi
        if tag == "equal" or not touches:
            continue
        targets.update(range(j1 + 1, j2 + 1) if j2 > j1 else [max(j1, 1)])
    if not targets:  # the fix changed nothing at its own lines (its edit lies elsewhere): its place
        for tag, i1, i2, j1, _ in opcodes:
            if tag == "equal":
                targets.update(j1 + 1 + i - i1 for i in range(max(i1, lo), min(i2, hi)))
    try:
        tree = ast.parse(final)
    except SyntaxError:
        return tuple(sorted(targets))
    innermost: dict[int, ast.stmt] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        end = node.end_lineno or node.lineno
        for target in targets:
            held = innermost.get(target)
            if node.lineno <= target <= end and (
                held is None or end - node.lineno < (held.end_lineno or held.lineno) - held.lineno
            ):
                innermost[target] = node
    lines: set[int] = set()
    for node in innermost.values():
        lines.add(node.lineno)
        lines.update(d.lineno for d in getattr(node, "decorator_list", ()))
    return tuple(sorted(lines))


def classify(
    sites: Sequence[FixSite],
    originals: dict[str, bytes],
    finals: dict[str, bytes],
    executed: LineContexts | None,
) -> list[Evidence]:
    """Proven / unexercised / unmeasured for each fix, from what a passing run on `finals` executed."""
    from maintenance.source import decode

    texts: dict[str, tuple[str, str]] = {}
    out = []
    for site in sites:
        if executed is None:
            out.append(Evidence(site, "unmeasured"))
            continue
        if site.path not in texts:
            texts[site.path] = (decode(originals[site.path]).text, decode(finals[site.path]).text)
        lines = changed_statements(*texts[site.path], site.line, site.end_line)
        hits = executed.get(str(Path(site.path).resolve()), {})
        contexts = {context for n in lines for context in hits.get(n, ())}
        if not contexts:
            out.append(Evidence(site, "unexercised", (), lines))
            continue
        tests = tuple(sorted(c for c in contexts if c)) or (OUTSIDE_TESTS,)
        out.append(Evidence(site, "proven", tests, lines))
    return out


def prove(
    runner: Runner,
    originals: dict[str, bytes],
    finals: dict[str, bytes],
    rules: dict[str, list[str]],
    content: Callable[[str, frozenset[str]], bytes],
    sites: Sequence[FixSite],
    drop_unexercised: bool = False,
) -> Proof:
    """Run the command on the fixed tree, revert what breaks it, and say which tests reach each kept fix.

    The run on the fixed tree (or, after a bisection, the confirming run) measures coverage of the
    changed files; `classify` reads it. With `drop_unexercised`, the (file, rule) fixes that no test
    reached are reverted too (`content` rewrites a file with only the given rules fixed) and one more
    run must pass on what stays, else every file is restored and `VerifyError` says so.
    """
    changed = sorted(p for p in finals if finals[p] != originals.get(p))

    def measured() -> Outcome:
        return runner(measure=changed)

    outcome = measured()
    reverted: list[Reverted] = []
    if not outcome.passed:
        reverted, outcome = revert_breaking(
            runner, outcome, originals, finals, rules, content, confirm_test=measured
        )
    gone = {(r.path, r.code) for r in reverted}
    now = {p: Path(p).read_bytes() for p in finals}
    evidence = classify([s for s in sites if (s.path, s.code) not in gone], originals, now, outcome.coverage)
    drop = {(e.site.path, e.site.code) for e in evidence if e.status == "unexercised"}
    if drop_unexercised and outcome.coverage is None:
        LOG.warning("coverage.py measured nothing, so no fix is known to be unexercised; none was dropped")
    if drop_unexercised and drop:
        for path in sorted({p for p, _ in drop}):
            keep = frozenset(rules.get(path, ())) - {c for p, c in drop | gone if p == path}
            content(path, keep)
        confirm = runner()
        if not confirm.passed:
            for path in changed:
                if Path(path).read_bytes() != originals[path]:
                    atomic_write(Path(path), originals[path])
            raise VerifyError(
                f"the tree without the unexercised fixes fails the command ({confirm.describe()}); "
                "every file was restored to its state before the run"
            )
        evidence = [
            Evidence(e.site, e.status, e.tests, e.lines, (e.site.path, e.site.code) not in drop)
            for e in evidence
        ]
    return Proof(reverted, evidence, outcome.coverage is not None)
