"""Command line of atft: `python -m atft <command> ...`.

The CLI is the only layer that reads argv, the environment or files named by the user. Each command is a
module in this package exposing ``NAME``, ``HELP``, ``configure(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m atft",
        description="ATFT-GAT-FAN: train, evaluate, export and diagnose a multi-horizon stock-return model.",
        epilog="Run `python -m atft COMMAND --help` for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"atft {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    return int(args._run(args))
