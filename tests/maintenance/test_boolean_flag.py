"""MNT007's fix keeps every existing invocation: the same argv parses to the same Namespace before and after.

Hypothesis builds parsers with a mix of flags (some stuck at True, some fine, some with partners, some
options that share prefixes with the `--no-` options the fix adds), runs MNT007 over the program, executes
the program before and after, and parses argv drawn from the options that existed before, abbreviations
included. Both parsers must agree on every argv: the same Namespace, or both refuse it.
"""

from __future__ import annotations

import argparse
import contextlib
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maintenance.engine import analyze_text

NAMES = ["rescale", "amp", "gat", "shuffle", "cache", "num-workers", "no-cuda", "nodes", "resume", "seed"]
KINDS = ["stuck", "store_true", "store_false", "int", "stuck_with_partner"]


def _program(flags: list[tuple[str, str]]) -> str:
    lines = [
        "import argparse",
        "",
        "",
        "def build():",
        "    parser = argparse.ArgumentParser(exit_on_error=False)",
    ]
    for name, kind in flags:
        option = f"'--{name}'"
        if kind == "stuck":
            lines.append(f"    parser.add_argument({option}, action='store_true', default=True)")
        elif kind == "stuck_with_partner":
            dest = name.replace("-", "_")
            lines.append(f"    parser.add_argument({option}, action='store_true', default=True)")
            lines.append(f"    parser.add_argument('--without-{name}', dest='{dest}', action='store_false')")
        elif kind == "int":
            lines.append(f"    parser.add_argument({option}, type=int, default=0)")
        else:
            lines.append(f"    parser.add_argument({option}, action='{kind}')")
    lines.append("    return parser")
    return "\n".join(lines) + "\n"


def _parser(source: str) -> argparse.ArgumentParser:
    namespace: dict[str, object] = {}
    exec(compile(source, "cli.py", "exec"), namespace)
    return namespace["build"]()  # type: ignore[operator]


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> dict[str, object] | str:
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            return vars(parser.parse_args(argv))
        except (SystemExit, argparse.ArgumentError) as err:
            return f"refused: {type(err).__name__}"


flag_sets = st.lists(
    st.tuples(st.sampled_from(NAMES), st.sampled_from(KINDS)),
    min_size=1,
    max_size=6,
    unique_by=lambda f: f[0],
)


@st.composite
def invocations(draw: st.DrawFn, flags: list[tuple[str, str]]) -> list[str]:
    options = []
    for name, kind in flags:
        options.append((f"--{name}", kind == "int"))
        if kind == "stuck_with_partner":
            options.append((f"--without-{name}", False))
    argv: list[str] = []
    for option, takes_value in draw(st.lists(st.sampled_from(options), max_size=5)):
        cut = draw(st.integers(min_value=3, max_value=len(option)))  # an abbreviation, or the whole option
        argv.append(option[:cut])
        if takes_value:
            argv.append(str(draw(st.integers(0, 9))))
    return argv


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), flags=flag_sets)
def test_the_fix_keeps_the_meaning_of_every_existing_invocation(data: st.DataObject, flags) -> None:
    before = _program(flags)
    result = analyze_text(before, "cli.py", ["MNT007"])
    after = result.new_source or before
    stuck = [name for name, kind in flags if kind == "stuck"]
    fixed = [f for f in result.findings if f.fixable]
    assert len(result.findings) == len(stuck)  # the partnered ones are fine
    old, new = _parser(before), _parser(after)
    for _ in range(5):
        argv = data.draw(invocations(flags))
        assert _parse(old, argv) == _parse(new, argv), (argv, before, after)
    for finding in fixed:
        dest = finding.message.split("`")[1].lstrip("-").replace("-", "_")
        assert _parse(old, [])[dest] is True  # type: ignore[index]
        assert _parse(new, [f"--no-{dest.replace('_', '-')}"])[dest] is False  # type: ignore[index]


def test_the_fix_makes_the_flag_switchable_and_keeps_its_default() -> None:
    before = _program([("rescale", "stuck"), ("seed", "int")])
    after = analyze_text(before, "cli.py", ["MNT007"]).new_source
    assert after is not None and "argparse.BooleanOptionalAction" in after
    old, new = _parser(before), _parser(after)
    for argv in ([], ["--rescale"], ["--seed", "3"], ["--rescale", "--seed", "3"], ["--resc"]):
        assert _parse(old, argv) == _parse(new, argv)
    assert _parse(old, ["--no-rescale"]).startswith("refused")  # type: ignore[union-attr]
    assert _parse(new, ["--no-rescale"]) == {"rescale": False, "seed": 0}


def test_an_abbreviation_that_would_turn_ambiguous_makes_the_fix_unsafe() -> None:
    before = _program([("rescale", "stuck"), ("num-workers", "int")])
    safe = analyze_text(before, "cli.py", ["MNT007"])
    assert safe.new_source is None and [f.fixable for f in safe.findings] == [False]
    unsafe = analyze_text(before, "cli.py", ["MNT007"], unsafe_fixes=True)
    assert unsafe.new_source is not None
    old, new = _parser(before), _parser(unsafe.new_source)
    assert _parse(old, ["--n", "2"]) == {"rescale": True, "num_workers": 2}
    assert _parse(new, ["--n", "2"]).startswith("refused")  # type: ignore[union-attr]


def test_a_parser_from_another_module_is_checked_and_its_fix_is_unsafe() -> None:
    source = "def add_training_args(parser):\n    parser.add_argument('--shuffle', action='store_true', default=True)\n"
    safe = analyze_text(source, "train_args.py", ["MNT007"])
    assert [(f.code, f.fixable) for f in safe.findings] == [("MNT007", False)]
    assert "created in another module" in safe.findings[0].message
    unsafe = analyze_text(source, "train_args.py", ["MNT007"], unsafe_fixes=True)
    assert unsafe.new_source == "import argparse\n\n" + source.replace(
        "action='store_true'", "action=argparse.BooleanOptionalAction"
    )


_ARGUMENT_CALLS = st.tuples(
    st.sampled_from(["'--amp'", "'-a'", "'--gat', '-g'", "'pos'", "flag_name", "b'--raw'", "'--a' 'mp'"]),
    st.sampled_from(
        [
            "",
            "action='store_true'",
            "action='store_false'",
            "action=argparse.BooleanOptionalAction",
            "action=Custom",
            "action='count'",
        ]
    ),
    st.sampled_from(["", "default=True", "default=False", "default=None", "default=1", "default=flag"]),
    st.sampled_from(["", "dest='amp'", "dest='gat'", "dest=name"]),
    st.sampled_from(["", "type=bool", "type=int", "**extra"]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ARGUMENT_CALLS, min_size=1, max_size=5))
def test_the_ast_prefilter_is_the_visitors_decision(calls: list[tuple[str, ...]]) -> None:
    # MNT007's prefilter decides on `ast` what its libcst visitor reports: a module passes it exactly when
    # the visitor (run on every module, prefilter bypassed) reports something
    from maintenance.codemods.boolean_flag import StuckBooleanFlag

    lines = ["import argparse", "", "p = argparse.ArgumentParser()"]
    lines += [f"p.add_argument({', '.join(part for part in call if part)})" for call in calls]
    source = "\n".join(lines) + "\n"
    with_prefilter = analyze_text(source, "cli.py", ["MNT007"])
    original = StuckBooleanFlag.may_match
    try:
        StuckBooleanFlag.may_match = classmethod(lambda cls, tree, text, context: True)  # type: ignore[method-assign,assignment]
        without = analyze_text(source, "cli.py", ["MNT007"])
    finally:
        StuckBooleanFlag.may_match = original  # type: ignore[method-assign]
    assert with_prefilter.findings == without.findings
    assert with_prefilter.libcst_parsed is bool(without.findings)
