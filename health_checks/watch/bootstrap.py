"""The watched process: ``python -m health_checks.watch.bootstrap OPTIONS.json (-m MODULE | SCRIPT) ARGS...``.

Installs the recorder, then runs the program as Python would (``runpy``, with ``sys.argv`` and
``sys.path[0]`` as the program expects, and ``__main__`` pointing at the program so that spawned
DataLoader workers re-import the program, not this bootstrap). When the watch is over (enough optimiser
steps, no progress, or the program ended or crashed) the trace is written to the watch folder and the
process ends with ``os._exit``: nothing the program does (``except BaseException``, ``atexit`` handlers,
threads that keep it alive) can swallow the stop or keep training.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

from health_checks.watch.recorder import Recorder
from health_checks.watch.trace import TRACE_NAME, Trace, WatchOptions
from maintenance.source import atomic_write


def _write_and_exit(trace: Trace, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / TRACE_NAME.format(rank=trace.rank), trace.to_json().encode("utf-8"))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit(
            "usage: python -m health_checks.watch.bootstrap OPTIONS.json (-m MODULE | SCRIPT) ARGS..."
        )
    options = WatchOptions.from_json(Path(argv[0]).read_text(encoding="utf-8"))
    out_dir = Path(options.out_dir)
    recorder = Recorder(options, lambda trace: _write_and_exit(trace, out_dir))
    if argv[1] == "-m":
        module, args = argv[2], argv[3:]
        sys.argv = [module, *args]
        if str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        run = lambda: runpy.run_module(module, run_name="__main__", alter_sys=True)  # noqa: E731
    else:
        script, args = argv[1], argv[2:]
        sys.argv = [script, *args]
        sys.path[0] = str(Path(script).resolve().parent)
        path = str(Path(script).resolve())  # frames keep an absolute file name if the program chdirs
        run = lambda: runpy.run_path(path, run_name="__main__")  # noqa: E731
    recorder.install()
    try:
        run()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) or stop.code is None else 1
        if code:
            recorder.finish("crashed", f"the program exited with status {code}", None)
        recorder.finish("finished")
    except BaseException as error:  # noqa: BLE001 - the program's own crash is what the watch reports
        recorder.finish("crashed", f"{type(error).__name__}: {error}", recorder.crash_site(error))
    recorder.finish("finished")


if __name__ == "__main__":
    main(sys.argv[1:])
