"""MNT001 is proven safe by running programs: generated programs behave the same before and after the fix.

Each program defines a function that never returns as written, may rebind it (`global` in an installer,
module-level assignment, `del` + redefinition, a decorator, `setattr` on the module, `globals()`, an
import of the same name, a module `__getattr__`), then calls it with code after the call (inside
`try/finally` or not). The program's stdout and the exception it raises (type and message) must be the
same before and after `--apply` of the codemods; where nothing rebinds the function, the dead code is
deleted (so the test exercises the fix, not only the skip).
"""

from __future__ import annotations

import contextlib
import io
import sys
import types
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from maintenance.engine import analyze_text
from maintenance.fix import run_fix

HOOK = """\
def real_hook():
    print("real hook")


def hook():
    raise NotImplementedError


def install():
    global hook
    hook = real_hook


def run():
    install()
    hook()
    print("reached")


run()
"""

ENDINGS = {
    "raise": "    raise NotImplementedError('stop')\n",
    "exit": "    sys.exit(3)\n",
    "nested": "    if flag:\n        raise KeyError('a')\n    else:\n        sys.exit(4)\n",
    "chain": "    other_stop()\n",
}
REBINDINGS = {
    "none": "",
    "global": "def install():\n    global stop\n    stop = lambda *a: print('installed')\n\n\ninstall()\n",
    "global_later": "def install():\n    global stop\n    stop = lambda *a: print('installed')\n",
    "assign": "stop = lambda *a: print('reassigned')\n",
    "del": "del stop\n\n\ndef stop():\n    print('redefined')\n",
    "setattr": "setattr(sys.modules[__name__], 'stop', lambda *a: print('patched'))\n",
    "globals": "globals()['stop'] = lambda *a: print('via globals')\n",
    "import": "from os.path import join as stop\n",
    "getattr": "def __getattr__(name):\n    return print\n",
}
DECORATORS = {"none": "", "replacing": "@replace\n", "wrapping": "@functools.wraps(print)\n"}
CALL_SITES = {
    "plain": "    stop()\n    print('after stop')\n    return 1\n",
    "try_finally": "    try:\n        stop()\n        print('after stop in try')\n    finally:\n        print('finally')\n    print('after try')\n",
    "try_except": "    try:\n        stop()\n        print('after stop in try')\n    except Exception as err:\n        print('caught', type(err).__name__)\n    print('after try')\n",
    "loop": "    for i in range(2):\n        print('loop', i)\n        stop()\n        print('after stop in loop')\n",
}


@st.composite
def programs(draw: st.DrawFn) -> str:
    ending = draw(st.sampled_from(sorted(ENDINGS)))
    rebinding = draw(st.sampled_from(sorted(REBINDINGS)))
    decorator = draw(st.sampled_from(sorted(DECORATORS)))
    call_site = draw(st.sampled_from(sorted(CALL_SITES)))
    install_first = draw(st.booleans())
    flag = draw(st.booleans())
    parts = [
        "import functools\nimport sys\n\n",
        f"flag = {flag}\n\n\n",
        "def replace(func):\n    return lambda *a: print('replaced')\n\n\n",
        "def other_stop():\n    raise RuntimeError('other')\n\n\n",
        f"{DECORATORS[decorator]}def stop():\n    print('stopping')\n{ENDINGS[ending]}\n\n",
        REBINDINGS[rebinding] + "\n\n",
        f"def main():\n{'    install()' + chr(10) if install_first and rebinding == 'global_later' else ''}{CALL_SITES[call_site]}\n\n",
        "main()\nprint('module end')\n",
    ]
    return "".join(parts)


def _run(source: str) -> tuple[str, str | None]:
    """stdout and the raised exception (type and message) of one program run as a fresh module."""
    module = types.ModuleType("__program__")
    sys.modules["__program__"] = module  # so that `setattr(sys.modules[__name__], ...)` reaches it
    out = io.StringIO()
    error = None
    try:
        with contextlib.redirect_stdout(out):
            try:
                exec(compile(source, "<program>", "exec"), module.__dict__)
            except BaseException as err:  # noqa: BLE001 (SystemExit included: it is part of the behaviour)
                error = f"{type(err).__name__}: {err}"
    finally:
        sys.modules.pop("__program__", None)
    return out.getvalue(), error


def _fixed(source: str) -> str:
    result = analyze_text(source, "program.py", None, unsafe_fixes=False)
    return result.new_source if result.new_source is not None else source


@settings(max_examples=200, deadline=None)
@given(programs())
def test_fixed_programs_behave_the_same(source: str) -> None:
    before = _run(source)
    after = _run(_fixed(source))
    assert after == before, f"behaviour changed:\n{source}\n--- fixed:\n{_fixed(source)}"


def test_an_unrebound_never_returning_call_is_fixed() -> None:
    source = "import sys\n\n\ndef stop():\n    sys.exit(3)\n\n\ndef main():\n    stop()\n    print('after')\n\n\nmain()\n"
    fixed = _fixed(source)
    assert "print('after')" not in fixed
    assert _run(fixed) == _run(source)


def test_the_hook_example_keeps_its_live_code(make_repo: Callable[..., Path]) -> None:
    root = make_repo({"hook.py": HOOK}, select=["MNT"])
    report = run_fix([root], root=root, use_ruff=False, use_cache=False, apply=True, jobs=1)
    assert report.changed_files == []
    assert (root / "hook.py").read_text() == HOOK
    assert _run(HOOK) == ("real hook\nreached\n", None)
