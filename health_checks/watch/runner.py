"""Run a training program under the watcher and collect what it recorded.

The program is named as on a command line (``train.py --epochs 1``, ``-m atft train --market pse``; a
leading ``python`` is dropped) and runs in a child process of its own (``health_checks.watch.bootstrap``),
in the tree's root, with the tree's environment; with ``nproc > 1`` it runs under ``torchrun``
(``torch.distributed.run --standalone``) and every rank is watched. The child writes one trace per rank
and ends itself after ``steps`` optimiser steps; ``timeout`` is only a safety cap for a program that hangs
(a run it stops is reported as such, never judged).
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import health_checks
from health_checks.watch.trace import Trace, WatchOptions

logger = logging.getLogger(__name__)

# how much of the program's own output a failed watch keeps
OUTPUT_TAIL = 4000


class WatchCommandError(ValueError):
    """The watch command names no program (empty, or only an interpreter)."""


@dataclass(frozen=True)
class WatchRun:
    """What one watched run gave: the traces of its processes (one per rank), how it ended."""

    command: str
    argv: list[str]
    nproc: int
    traces: list[Trace] = field(default_factory=list)
    returncode: int | None = None
    timed_out: bool = False
    output_tail: str = ""


def program_argv(command: str) -> list[str]:
    """``["-m", module, *args]`` or ``[script, *args]`` from a command line, a leading python dropped."""
    words = shlex.split(command)
    if words and Path(words[0]).name.startswith("python"):
        words = words[1:]
    if words and (Path(words[0]).name == "torchrun" or words[:2] == ["-m", "torch.distributed.run"]):
        raise WatchCommandError(
            f"the watch command {command!r} starts torchrun; name the program alone and set "
            "[tool.health_checks] watch_nproc = N (or --watch-nproc N): the watcher launches torchrun itself"
        )
    if not words or (words[0] == "-m" and len(words) < 2):
        raise WatchCommandError(
            f"the watch command {command!r} names no program; write a script and its arguments "
            '("train.py --epochs 1") or a module ("-m package.train --epochs 1")'
        )
    return words


def watch_program(
    root: Path, command: str, options: WatchOptions, *, nproc: int = 1, timeout: float = 600.0
) -> WatchRun:
    """Run ``command`` in ``root`` under the watcher; return the traces it left in ``options.out_dir``."""
    argv = program_argv(command)
    if argv[0] != "-m" and not (root / argv[0]).is_file():
        raise WatchCommandError(
            f"the watch command {command!r} names the script {argv[0]}, which is not a file under {root}; "
            'give its path relative to the root, or a module as "-m package.module"'
        )
    out_dir = Path(options.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    options_path = out_dir / "options.json"
    options_path.write_text(options.to_json(), encoding="utf-8")
    bootstrap = ["-m", "health_checks.watch.bootstrap", str(options_path), *argv]
    if nproc > 1:
        launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
        full = [*launch, *bootstrap]
    else:
        full = [sys.executable, *bootstrap]
    env = dict(os.environ)
    package_parent = str(Path(health_checks.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH", "")) if p)
    timed_out = False
    logger.info(
        "watching `%s` in %s for %d optimiser steps (%d process(es))", command, root, options.steps, nproc
    )
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            full, cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            returncode: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out, returncode = True, None
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        output.seek(0)
        tail = output.read().decode("utf-8", "replace")[-OUTPUT_TAIL:]
    traces = [Trace.read(path) for path in sorted(out_dir.glob("trace-rank*.json"))]
    logger.info(
        "watched `%s`: %s",
        command,
        ", ".join(f"rank {t.rank} {len(t.steps)} steps ({t.stopped})" for t in traces),
    )
    return WatchRun(
        command=command,
        argv=full,
        nproc=nproc,
        traces=sorted(traces, key=lambda t: t.rank),
        returncode=returncode,
        timed_out=timed_out,
        output_tail=tail,
    )
