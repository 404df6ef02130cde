"""`python -m atft checkpoint`: inspect a safe checkpoint or migrate a legacy pickle one (explicitly)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console

NAME = "checkpoint"
HELP = "Inspect a checkpoint's metadata, or migrate a legacy full-pickle checkpoint to the safe format."


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    inspect = sub.add_parser("inspect", help="print the metadata of a checkpoint (no tensors, no pickle)")
    inspect.add_argument("path", type=Path)
    migrate = sub.add_parser(
        "migrate",
        help="convert a legacy torch.save (pickle) checkpoint into the safe format; tensors and plain data "
        "are read with torch's restricted unpickler, anything more needs --trust-pickle",
    )
    migrate.add_argument("old", type=Path, metavar="OLD", help="legacy .pt/.pth file (a pickle)")
    migrate.add_argument("new", type=Path, metavar="NEW", help="output .safetensors checkpoint")
    migrate.add_argument(
        "--trust-pickle",
        action="store_true",
        help="I know where OLD came from; unpickle it once to convert it",
    )


def run(args: argparse.Namespace) -> int:
    from atft.checkpoint import CheckpointError, migrate_legacy, read_metadata

    console = Console()
    try:
        if args.action == "inspect":
            console.print_json(json.dumps(read_metadata(args.path)))
            return 0
        path = migrate_legacy(args.old, args.new, trust_pickle=args.trust_pickle)
    except CheckpointError as error:
        console.print(f"[red]error:[/red] {error}")
        return 2
    console.print(f"migrated {args.old} -> {path}")
    return 0
