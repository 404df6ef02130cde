"""`python -m atft checkpoint`: inspect a safe checkpoint or migrate a legacy pickle one (explicitly)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

NAME = "checkpoint"
HELP = "Inspect a checkpoint's metadata, or migrate a legacy full-pickle checkpoint to the safe format."


def configure(parser: argparse.ArgumentParser) -> None:
    from atft.cli import output_options

    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    inspect = sub.add_parser(
        "inspect",
        help="print the metadata of a checkpoint (no tensors, no pickle)",
        parents=[output_options(top=False)],
    )
    inspect.add_argument("path", type=Path)
    migrate = sub.add_parser(
        "migrate",
        help="convert a legacy torch.save (pickle) checkpoint into the safe format; tensors and plain data "
        "are read with torch's restricted unpickler, anything more needs --trust-pickle",
        parents=[output_options(top=False)],
    )
    migrate.add_argument("old", type=Path, metavar="OLD", help="legacy .pt/.pth file (a pickle)")
    migrate.add_argument("new", type=Path, metavar="NEW", help="output .safetensors checkpoint")
    migrate.add_argument(
        "--trust-pickle",
        action="store_true",
        help="I know where OLD came from; unpickle it once to convert it",
    )


def run(args: argparse.Namespace) -> int:
    from atft.checkpoint import migrate_legacy, read_metadata

    if args.action == "inspect":
        text = json.dumps(read_metadata(args.path))
        if args.format == "json":
            sys.stdout.write(text + "\n")
        else:
            Console().print_json(text)
        return 0
    path = migrate_legacy(args.old, args.new, trust_pickle=args.trust_pickle)
    if args.format == "json":
        sys.stdout.write(json.dumps({"migrated": str(args.old), "to": str(path)}) + "\n")
    else:
        Console().print(f"migrated {args.old} -> {path}")
    return 0
