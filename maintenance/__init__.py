"""maintenance: find and fix, in any Python tree, classes of bug that cost days (MNT codes) and ruff's findings.

Command line (dry run by default; see `python -m maintenance.fix --help` and `--list`)::

    python -m maintenance.fix [PATH ...] [--apply [--verify CMD]] [--select CODES] [--ignore CODES]
                              [--unsafe-fixes] [--format text|json|sarif|github] [--no-ruff] [-v]

Exit status: 0 no findings left, 1 findings left, 2 usage or internal error (or the --verify command
failing before any fix). ruff's fixes follow the fix policy of `maintenance.ruff_policy`; `--verify` is
`maintenance.verify` (docs/maintenance.md).

Python API (what `health_checks` calls)::

    from maintenance.fix import run_fix

    report = run_fix(
        paths,                     # Sequence[str | Path]: files and directories
        apply=False,               # True: write the fixes (atomically) and run `ruff check --fix` (policy rules)
        select=None,               # codes or prefixes ("MNT", "MNT001", "ruff", "F"); None: [tool.maintenance]
        ignore=None,               # same syntax; added to the config's ignore
        use_ruff=True,             # merge ruff's findings (its own config applies) under ruff's codes
        unsafe_fixes=False,        # also apply unsafe fixes (MNT005 deletion, ruff's unsafe fixes)
        root=None,                 # project root (pyproject.toml with [tool.maintenance]); None: found from paths
        # optional: jobs=None (worker processes; None = all CPUs), use_cache=True (.maintenance_cache/),
        # progress=False (rich bar on stderr), want_diff=True (False: no diff, which skips ruff's second run),
        # verify=None (with apply: a command run before and after; breaking fixes are reverted),
        # drop_unexercised=False (with verify: also revert the fixes no test executed)
    )

`run_fix` returns a `FixReport` (`maintenance.findings`): `findings: list[Finding]`, `counts_before` /
`counts_after: dict[str, int]` (by code, ruff codes included; in a dry run `counts_after` is what `--apply`
would leave), `changed_files: list[Path]`, `diff: str` (unified diff), `files_scanned: int` and
`errors: list[Finding]` (the MNT000 findings), `reverted: list[RevertedFix]` (path, code, tests) and
`verified: list[VerifiedFix]` (path, line, code, status proven / unexercised / unmeasured, tests, kept). A `Finding` is a frozen dataclass with `path, line, column,
code, message, fixable, fixed, before, after` and `to_dict()`.

Codes: MNT000 file does not parse (untouched), MNT001 unreachable code, MNT002 mutable dataclass default,
MNT003 `torch.load` without `weights_only`, MNT004 call that cannot bind to the callee's signature
(`forward` for `nn.Module` instances), MNT005 code parked in a string or in commented-out lines, MNT006 a
loss returned without its autograd graph, MNT007 a boolean flag stuck at one value, MNT008 a `Dataset` that
cannot be pickled. `maintenance.codes` maps each code to its rule class and file (`--list` prints them).

This package imports only the standard library, libcst, ruff (run as a subprocess), gitpython and
coverage.py (`--verify`): it never imports `atft` or `health_checks`, so it serves any repository.
"""

from __future__ import annotations

import sys
from pathlib import Path

__version__ = "0.1.0"

# `python -m maintenance.fix` run from a tree's root puts that root first on sys.path while the package is
# being located (sys.argv[0] is "-m" then): the tree's own `logging.py`, `ast.py` or `types.py` would shadow
# the standard library inside the fixer. Drop that entry, as pip's __main__ does; this package's own
# modules are found through its __path__, and the checked tree is read as text, never imported.
_ARGV = sys.orig_argv
_RUN_TARGET = _ARGV[_ARGV.index("-m") + 1] if "-m" in _ARGV[:-1] else ""
if (
    sys.argv[:1] == ["-m"]
    and _RUN_TARGET.partition(".")[0] == __name__
    and sys.path
    and sys.path[0] in ("", str(Path.cwd()))
):
    del sys.path[0]
