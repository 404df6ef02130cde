"""Command line of atft: `python -m atft <command> ...`.

The CLI is the only layer that reads argv, the environment or files named by the user. Each command is a
module in this package exposing ``NAME``, ``HELP``, ``configure(parser)`` and ``run(args) -> int``; a
command raises its expected errors and `main` is the one boundary that turns them into an ``error:`` line.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from atft import __version__

# Order is the order of `--help`.
COMMAND_MODULES = (
    "atft.cli.data",
    "atft.cli.evaluate",
    "atft.cli.train",
    "atft.cli.experiment",
    "atft.cli.export",
    "atft.cli.diagnose",
    "atft.cli.checkpoint",
)


class UsageError(Exception):
    """A command line argparse refuses (unknown option, bad choice, missing argument)."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose refusals reach `main`'s boundary as one `error:` line, not a usage dump.

    Subparsers are built with the parser's own class, so every command and sub-action raises too.
    """

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def output_options(*, top: bool) -> argparse.ArgumentParser:
    """-v and --format, accepted before the command (top) and after it (every command)."""
    parent = Parser(add_help=False)
    parent.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if top else argparse.SUPPRESS,
        help="more logging (-vv for debug); tracebacks of expected errors",
    )
    parent.add_argument(
        "--format",
        choices=("text", "json"),
        default="text" if top else argparse.SUPPRESS,
        help="output format on stdout (default text)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m atft",
        description="ATFT-GAT-FAN: train, evaluate, export and diagnose a multi-horizon stock-return model.",
        epilog="Run `python -m atft COMMAND --help` for the options of one command. Expected errors (bad "
        "data, config, checkpoint or file) print one `error:` line and exit with status 2.",
        parents=[output_options(top=True)],
    )
    parser.add_argument("--version", action="version", version=f"atft {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        command = sub.add_parser(
            module.NAME, help=module.HELP, description=module.HELP, parents=[output_options(top=False)]
        )
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def expected_errors() -> tuple[type[BaseException], ...]:
    """What a user can cause (bad data, config, checkpoint, contract or file), as opposed to a bug."""
    from atft.checkpoint import CheckpointError
    from atft.config import ConfigError
    from atft.contract import ContractError
    from atft.data import DataError
    from atft.export import EmptyExportError

    return (DataError, ConfigError, CheckpointError, ContractError, EmptyExportError, OSError, ValueError)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, OSError) and error.filename is not None:
        text = f"{error.filename}: {error.strerror or text}"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Parse argv, run the command; every expected error becomes one `error:` line and exit status 2."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        sys.stderr.write(f"error: {_one_line(error)}\n")
        return 2
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # one line per training epoch when the output is not a terminal (atft.monitor)
    logging.getLogger("atft.monitor").setLevel(min(level, logging.INFO))
    try:
        return int(args._run(args))
    except expected_errors() as error:
        if args.verbose:
            traceback.print_exc(file=sys.stderr)
        sys.stderr.write(f"error: {_one_line(error)}\n")
        return 2
