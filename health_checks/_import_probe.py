"""Import probe, run as a script in a fresh interpreter: ``python _import_probe.py ROOT TIMEOUT PRELOAD MOD...``.

It puts ROOT first on ``sys.path``, imports the third-party libraries named in PRELOAD (comma separated)
once, then imports each module in its own forked child process with a timeout, so one module's side
effects or hang cannot hide another's error. It writes one JSON object per module on stdout:
``{"module", "ok", "seconds", "error", "type", "frames": [[file, line, function, text], ...]}``.
Standard library only: it must run even when the tree under check is broken.
"""

import importlib
import importlib.util
import json
import multiprocessing
import sys
import time
import traceback


def _import(module, conn):
    start = time.perf_counter()
    try:
        importlib.import_module(module)
    except BaseException as error:  # noqa: BLE001 - the probe reports every way an import can fail
        frames = [
            [f.filename, f.lineno, f.name, f.line or ""] for f in traceback.extract_tb(error.__traceback__)
        ]
        if isinstance(error, SyntaxError) and error.filename:
            frames.append([error.filename, error.lineno or 0, "<module>", (error.text or "").strip()])
        conn.send(
            {
                "ok": False,
                "type": type(error).__name__,
                "error": str(error),
                "frames": frames,
                "seconds": time.perf_counter() - start,
            }
        )
    else:
        conn.send({"ok": True, "seconds": time.perf_counter() - start})
    conn.close()


def main(argv):
    root, timeout, preload, modules = argv[0], float(argv[1]), argv[2], argv[3:]
    sys.path.insert(0, root)
    for name in filter(None, preload.split(",")):
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    ctx = multiprocessing.get_context("fork")
    for module in modules:
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_import, args=(module, child))
        proc.start()
        child.close()
        if parent.poll(timeout):
            try:
                result = parent.recv()
            except EOFError:
                result = {
                    "ok": False,
                    "type": "Crash",
                    "error": "the import process died without a report",
                    "frames": [],
                    "seconds": 0.0,
                }
        else:
            proc.kill()
            result = {
                "ok": False,
                "type": "Timeout",
                "error": f"import did not finish within {timeout:g} s",
                "frames": [],
                "seconds": timeout,
            }
        proc.join()
        if proc.exitcode not in (0, None) and result.get("ok"):
            result = {
                "ok": False,
                "type": "Crash",
                "error": f"exit code {proc.exitcode}",
                "frames": [],
                "seconds": result["seconds"],
            }
        result["module"] = module
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
