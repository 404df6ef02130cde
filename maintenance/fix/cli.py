"""The command line of `python -m maintenance.fix`: the parser (in argument groups), and `main`, the one
place that turns errors into `error:` lines and exit statuses."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from maintenance import __version__, ruff_runner
from maintenance import verify as verify_module
from maintenance.config import ConfigError, find_root, load_config
from maintenance.findings import FixReport
from maintenance.fix.pipeline import run_fix
from maintenance.output import print_text, render_github, render_json, render_list, render_sarif

LOG = logging.getLogger("maintenance.fix")


DESCRIPTION = (
    "Find and fix the MNT codes (`--list` prints each with its file: MNT000 a file that does not parse, MNT001 "
    "unreachable code, MNT002 mutable dataclass defaults, MNT003 torch.load without weights_only, MNT004 calls "
    "that cannot bind to their callee, MNT005 code parked in strings or comments, MNT006 a loss returned without "
    "its graph, MNT007 a boolean flag stuck at one value, MNT008 a Dataset that cannot be pickled), plus ruff's "
    "findings under ruff's codes. Dry run by default: prints the findings, a unified diff and counts by code, "
    "and writes nothing."
)
EPILOG = (
    "Configuration: [tool.maintenance] in the root's pyproject.toml (select, ignore, exclude, "
    "per-file-ignores, ruff-fixable, extend-ruff-fixable); ruff's findings follow the repository's own "
    "ruff configuration, but --apply makes ruff's fixes only for the rules of the fix policy "
    "(`--list` prints it; F401 never removes an import inside try/if/with, in an __init__.py, "
    "re-exported with `as` or listed in __all__). Suppress one finding with `# noqa: MNT001` on its "
    "line. Exit status: 0 no findings left, 1 findings left, 2 usage or internal error (or --verify's "
    "command failing before any fix). Results are cached in <root>/.maintenance_cache/."
)


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m maintenance.fix`, one argument group per question it answers."""
    parser = argparse.ArgumentParser(prog="python -m maintenance.fix", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("paths", nargs="*", default=["."], help="files or directories to check (default: .)")
    _selection_arguments(parser.add_argument_group("what to report"))
    _fix_arguments(parser.add_argument_group("what to fix"))
    _output_arguments(parser.add_argument_group("output"))
    _run_arguments(parser.add_argument_group("how to run"))
    return parser


def _selection_arguments(group: argparse._ArgumentGroup) -> None:
    """--select, --ignore, --no-ruff: which codes a run reports."""
    group.add_argument(
        "--select",
        metavar="CODES",
        help="comma-separated code prefixes to report, e.g. MNT,ruff or MNT001,F401 (default: config)",
    )
    group.add_argument(
        "--ignore", metavar="CODES", help="comma-separated code prefixes to drop (added to the config's)"
    )
    group.add_argument(
        "--no-ruff", action="store_true", help="do not run ruff; report and fix only the MNT codes"
    )


def _fix_arguments(group: argparse._ArgumentGroup) -> None:
    """--apply, --verify, --unsafe-fixes: what a run writes, and how the writes are proven."""
    group.add_argument(
        "--apply",
        action="store_true",
        help="write the fixes (atomically) and run `ruff check --fix` for the rules of the fix policy",
    )
    group.add_argument(
        "--verify",
        metavar="CMD",
        help=(
            "with --apply: run CMD (e.g. 'pytest -x -q') from the root before and after the fixes; fixes that "
            "make it fail are found by bisection (files, then rules), reverted and reported with the failing "
            "tests; files are backed up first (write-ahead) and restored on any error"
        ),
    )
    group.add_argument(
        "--drop-unexercised",
        action="store_true",
        help="with --verify: also revert the fixes that no test executed (coverage.py measures the tests), "
        "so that only fixes a passing test ran are kept",
    )
    group.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="also apply unsafe fixes (MNT005 deletions, ruff's unsafe fixes of rules in the fix policy)",
    )


def _output_arguments(group: argparse._ArgumentGroup) -> None:
    """--format, --no-diff, --list, -v, --version: what a run prints."""
    group.add_argument(
        "--format",
        choices=["text", "json", "sarif", "github"],
        default="text",
        help="output format (default: text)",
    )
    group.add_argument(
        "--no-diff", action="store_true", help="text format: do not print the diff of a dry run"
    )
    group.add_argument(
        "--list",
        action="store_true",
        help="print the documentation of every codemod (with its file) and the ruff fix policy, and exit",
    )
    group.add_argument("-v", "--verbose", action="store_true", help="log what the run does on stderr")
    group.add_argument(
        "--version",
        action="version",
        version=f"maintenance.fix {__version__} (ruff {ruff_runner.ruff_version()})",
        help="print maintenance.fix's version and the version of the ruff it runs, and exit",
    )


def _run_arguments(group: argparse._ArgumentGroup) -> None:
    """--root, --jobs, --no-cache: where and how a run works."""
    group.add_argument(
        "--root", type=Path, default=None, help="project root (default: nearest pyproject.toml/.git)"
    )
    group.add_argument(
        "--jobs", type=int, default=None, metavar="N", help="worker processes (default: all CPUs)"
    )
    group.add_argument("--no-cache", action="store_true", help="ignore and do not update .maintenance_cache/")


def _split(codes: str | None) -> list[str] | None:
    return [c.strip() for c in codes.split(",") if c.strip()] if codes else None


def main(argv: Sequence[str] | None = None, *, process_ends: bool = False) -> int:
    """CLI entry point; returns the exit status (0 clean, 1 findings left, 2 usage or internal error).

    `process_ends`: the process exits after this run (`run`), so what the run built is left to the
    permanent generation of the collector (`run_fix`), not walked again by every later collection."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version (0) and usage errors (2)
        return int(stop.code or 0)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.list:
        try:
            allowlist = load_config(find_root([Path(p) for p in args.paths])).ruff_fixable
        except ConfigError:
            allowlist = None
        sys.stdout.write(render_list(_split(args.select), allowlist))
        return 0
    if args.verify is not None and not args.apply:
        parser.print_usage(sys.stderr)
        sys.stderr.write("error: --verify needs --apply (it proves the fixes that --apply makes)\n")
        return 2
    if args.drop_unexercised and args.verify is None:
        parser.print_usage(sys.stderr)
        sys.stderr.write(
            "error: --drop-unexercised needs --verify CMD (the tests tell which fixes they reach)\n"
        )
        return 2
    if args.jobs is not None and args.jobs < 1:
        parser.print_usage(sys.stderr)
        sys.stderr.write("error: --jobs must be at least 1\n")
        return 2
    try:
        report = run_fix(
            args.paths,
            apply=args.apply,
            select=_split(args.select),
            ignore=_split(args.ignore),
            use_ruff=not args.no_ruff,
            unsafe_fixes=args.unsafe_fixes,
            root=args.root,
            jobs=args.jobs,
            use_cache=not args.no_cache,
            progress=sys.stderr.isatty(),
            want_diff=args.format == "text" and not args.no_diff,
            verify=args.verify,
            drop_unexercised=args.drop_unexercised,
            process_ends=process_ends,
        )
    except (ConfigError, FileNotFoundError, ruff_runner.RuffError, verify_module.VerifyError) as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    except Exception:  # the CLI boundary: an internal error is exit 2 with its traceback, never a silent 0/1
        LOG.exception("internal error in maintenance.fix; please report it with the traceback above")
        return 2
    if args.format == "json":
        sys.stdout.write(render_json(report) + "\n")
    elif args.format == "sarif":
        sys.stdout.write(render_sarif(report, __version__) + "\n")
    elif args.format == "github":
        text = render_github(report)
        sys.stdout.write(text + ("\n" if text else ""))
    else:
        from rich.console import Console

        # emoji=False: `:100:` in `file.py:100:5` is a rich emoji code
        console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 120, emoji=False)
        print_text(report, console, show_diff=not args.no_diff)
    return exit_status(report)


def exit_status(report: FixReport) -> int:
    """0 when no finding is left in the files, else 1."""
    if report.applied:
        return 1 if any(report.counts_after.values()) else 0
    return 1 if report.findings else 0


def run() -> NoReturn:
    """The console script and `python -m maintenance.fix`: `main()` on the command line, then `exit_fast`."""
    exit_fast(main(process_ends=True))


def exit_fast(status: int) -> NoReturn:
    """End the process with `status` once its output is flushed, without freeing the run's objects.

    At a normal exit the interpreter frees the project index, the results and the sources one object at
    a time: 1.5 s after an 8,285-file run, for memory the operating system takes back at once. Under
    coverage.py (which writes its data at exit) the exit is the normal one.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`): nothing more to write
            stream.flush()
    logging.shutdown()
    coverage = sys.modules.get("coverage")
    if (
        coverage is not None
        and getattr(coverage, "Coverage", None) is not None
        and coverage.Coverage.current()
    ):
        raise SystemExit(status)
    os._exit(status)
