"""The shortcuts that make the fixer fast must not change what it finds.

- `TreeNodes` (the one walk all codemods share) lists exactly what `ast.walk` yields, in its order, less
  the operator and context leaves; `child_nodes` is `ast.iter_child_nodes` less the same leaves, and
  `parents` the parent (and statement list) of every node that `ast.iter_fields` gives;
- the cross-module never-returning inference skips modules none of whose imported callees never return:
  the result equals re-inferring every module to a fixpoint, on fixtures and on a real package;
- `cyclic_gc_paused` restores the collector's state;
- the silenced parse (`astutil.parse`) is safe in two threads at once (the ruff side of a run makes its
  fix policy beside the analysis): the process's warning filters come back as they were.
"""

from __future__ import annotations

import ast
import email
import gc
import importlib
import json
import logging
import unittest
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maintenance.astutil import _LEFT_OUT, TreeNodes, child_nodes, parents
from maintenance.cache import content_hash
from maintenance.findings import Finding
from maintenance.index import (
    FunctionInfo,
    ModuleInfo,
    ProjectIndex,
    build_index,
    cyclic_gc_paused,
    infer_never_returning,
    parse,
)
from maintenance.scopes import Scope, Scopes

REAL_PACKAGES = [Path(email.__file__).parent, Path(json.__file__).parent, Path(logging.__file__).parent]


def _real_files() -> list[Path]:
    return [p for root in REAL_PACKAGES for p in sorted(root.rglob("*.py"))]


@pytest.mark.parametrize("path", _real_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_tree_nodes_are_ast_walk_without_operator_leaves(path: Path) -> None:
    tree = ast.parse(path.read_bytes())
    walked = [node for node in ast.walk(tree) if not isinstance(node, _LEFT_OUT)]
    nodes = TreeNodes(tree)
    assert nodes.all() == walked
    for kind in {type(node) for node in walked}:
        assert nodes.of(kind) == [node for node in walked if type(node) is kind]
    both = (ast.FunctionDef, ast.ClassDef)
    assert nodes.of(*both) == [node for node in walked if type(node) in both]


@pytest.mark.parametrize("path", _real_files()[::4], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_child_nodes_and_parents_are_the_generic_walk_without_operator_leaves(path: Path) -> None:
    tree = ast.parse(path.read_bytes())
    expected: dict[int, tuple[ast.AST, list | None]] = {}
    for node in ast.walk(tree):
        kept = [child for child in ast.iter_child_nodes(node) if not isinstance(child, _LEFT_OUT)]
        assert child_nodes(node) == kept
        for _, value in ast.iter_fields(node):
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST) and not isinstance(child, _LEFT_OUT):
                    expected[id(child)] = (node, value if isinstance(child, ast.stmt) else None)
    found = parents(tree)
    assert found.keys() == expected.keys()
    for key, (parent, block) in expected.items():
        assert found[key][0] is parent
        assert found[key][1] is block


def test_tree_nodes_refuse_to_list_the_leaves_they_leave_out() -> None:
    nodes = TreeNodes(ast.parse("a = b + 1\n"))
    with pytest.raises(ValueError, match="operator or context"):
        nodes.of(ast.Load)
    with pytest.raises(ValueError, match="operator or context"):
        nodes.of(ast.Add)


def _files(root: Path, files: dict[str, str]) -> list[tuple[Path, str, str, str]]:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return [(root / n, n, t, content_hash(t.encode())) for n, t in files.items()]


def _never_returning(index: ProjectIndex) -> set[str]:
    out = set()
    for info in {id(m): m for m in index.modules.values()}.values():
        out |= {f"{info.name}.{name}" for name, func in info.functions.items() if func.never_returns}
    return out


def _reinfer_everything(index: ProjectIndex, texts: dict[str, str]) -> set[str]:
    """The unpruned inference: every module re-inferred with the cross-module resolver to a fixpoint."""
    modules = list({id(m): m for m in index.modules.values()}.values())
    trees = {info.path: parse(texts[info.path]) for info in modules}
    for _ in range(20):
        before = _never_returning(index)
        for info in modules:
            infer_never_returning(trees[info.path], info, index.never_returns)
        if _never_returning(index) == before:
            return before
    raise AssertionError("no fixpoint")


CHAIN = {
    "pkg/__init__.py": "from .errors import fail as fail\n",
    "pkg/errors.py": "import sys\n\n\ndef fail(msg):\n    print(msg)\n    sys.exit(2)\n",
    "pkg/checks.py": "from pkg import fail\n\n\ndef must(x):\n    if not x:\n        fail('no')\n    return x\n\n\ndef never():\n    fail('never')\n",
    "pkg/cli.py": "from . import checks\nfrom .checks import never\n\n\ndef stop():\n    never()\n\n\ndef go():\n    checks.must(1)\n",
    "pkg/other.py": "import json\n\n\ndef load(p):\n    return json.load(p)\n",
    "pkg/reader.py": "from .other import load\n\n\ndef read(p):\n    load(p)\n    return 1\n",
}


def test_pruned_cross_module_inference_equals_reinferring_every_module(tmp_path: Path) -> None:
    sources = _files(tmp_path, CHAIN)
    index = build_index(sources, tmp_path)
    pruned = _never_returning(index)
    assert {"pkg.errors.fail", "pkg.checks.never", "pkg.cli.stop"} <= pruned  # through a re-export, 2 hops
    assert "pkg.checks.must" not in pruned and "pkg.cli.go" not in pruned
    assert _reinfer_everything(index, {d: t for _p, d, t, _h in sources}) == pruned


def test_modules_whose_imported_callees_all_return_are_never_parsed_again(tmp_path: Path) -> None:
    from maintenance.index import build as index_module  # where build_index looks `parse` up

    parsed: list[str] = []
    real_parse = index_module.parse

    def counting(text: str) -> ast.Module:
        parsed.append(text)
        return real_parse(text)

    sources = _files(tmp_path, CHAIN)
    # summaries made elsewhere (as the fix's workers make them): build_index has no trees of its own
    summaries = {}
    for path, display, text, _digest in sources:
        summary = index_module.summarize_file(path, display, text, tmp_path)
        assert summary is not None
        summaries[display] = index_module.summary_data(summary[0])
    index_module.parse = counting  # type: ignore[assignment]
    try:
        index = build_index(sources, tmp_path, summarize=lambda missing, _on_summary: summaries)
    finally:
        index_module.parse = real_parse  # type: ignore[assignment]
    assert index.never_returns("pkg.cli.stop")
    # checks.py calls `fail` (never returns) and cli.py calls `never` (found so across modules): parsed;
    # reader.py imports a project function too, but `load` returns: never parsed again (nor are the
    # modules that import no project function)
    assert sorted(parsed) == sorted([CHAIN["pkg/checks.py"], CHAIN["pkg/cli.py"]])


def test_pruned_inference_equals_reinferring_every_module_on_a_real_package(tmp_path: Path) -> None:
    root = Path(email.__file__).parent.parent
    files = sorted(Path(email.__file__).parent.rglob("*.py"))
    sources = [(p, str(p.relative_to(root)), p.read_text(), content_hash(p.read_bytes())) for p in files]
    index = build_index(sources, root)
    pruned = _never_returning(index)
    assert _reinfer_everything(index, {d: t for _p, d, t, _h in sources}) == pruned


def test_external_calls_are_what_the_inference_asked_about() -> None:
    tree = ast.parse(
        "import pkg.errors as e\nfrom pkg import fail\n\n\ndef f():\n    fail('x')\n\n\ndef g():\n    e.fail()\n    return 1\n"
    )
    info = ModuleInfo(name="m", path="m.py")
    info.functions = {
        name: FunctionInfo(name=name, line=1, signature=None)  # type: ignore[arg-type]
        for name in ("f", "g")
    }
    from maintenance.index import ImportBinding

    info.imports = {
        "e": [ImportBinding("e", "pkg.errors", is_module=True)],
        "fail": [ImportBinding("fail", "pkg.fail")],
    }
    info.binding_counts = {"e": 1, "fail": 1, "f": 1, "g": 1}
    asked: list[str] = []
    infer_never_returning(tree, info, lambda q: asked.append(q) or False)
    assert sorted(info.external_calls) == sorted(set(asked)) == ["pkg.errors.fail", "pkg.fail"]
    assert not any(f.never_returns for f in info.functions.values())
    infer_never_returning(tree, info, lambda q: q == "pkg.fail")
    assert info.functions["f"].never_returns and not info.functions["g"].never_returns


def test_cyclic_gc_paused_restores_the_collector() -> None:
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause does not re-enable what the outer one paused
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        with cyclic_gc_paused(freeze=True):
            kept = [object() for _ in range(10)]  # noqa: F841
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()


def _search_dependencies(index: ProjectIndex, info: ModuleInfo) -> set[str]:
    """The dependencies of `info` by a plain search from it (the oracle of the index's one-pass closures)."""
    seen: set[str] = set()
    stack = [info]
    while stack:
        current = stack.pop()
        for name in index.imported_modules(current):
            if name not in seen:
                seen.add(name)
                stack.append(index.modules[name])
        parent = current.name.rpartition(".")[0]
        while parent:  # packages on the way are imported too (their __init__ runs, and may re-export)
            if parent in index.modules and parent not in seen:
                seen.add(parent)
                stack.append(index.modules[parent])
            parent = parent.rpartition(".")[0]
    seen.discard(info.name)
    return seen


def _digest_reaches(index: ProjectIndex, info: ModuleInfo, unique: list[ModuleInfo]) -> set[str]:
    """The modules whose summary digest `info`'s context digest depends on: each one's digest is changed
    in turn (a fresh index over the same summaries, so no memo survives) and the context digest compared."""
    base = index.context_digest(info)
    reached: set[str] = set()
    for other in unique:
        fresh = ProjectIndex(unique)
        original = fresh.summary_digest
        fresh.summary_digest = lambda m, _o=other, _f=original: "changed" if m is _o else _f(m)  # type: ignore[method-assign]
        if fresh.context_digest(info) != base:
            reached.add(other.name)
    return reached


CYCLES = {
    "pkg/__init__.py": "from .a import fa\n",
    "pkg/a.py": "from . import b\n\n\ndef fa():\n    return b.fb()\n",
    "pkg/b.py": "from .a import fa\nfrom .sub import deep\n\n\ndef fb():\n    return 1\n",
    "pkg/sub/__init__.py": "",
    "pkg/sub/deep.py": "from pkg.sub import leaf\n",
    "pkg/sub/leaf.py": "import json\n",
    "tool.py": "import pkg.b\n",
}


@pytest.mark.parametrize("project", ["cycles", "logging"])
def test_dependency_closures_equal_a_search_per_module(tmp_path: Path, project: str) -> None:
    if project == "cycles":
        sources = _files(tmp_path, CYCLES)
        root = tmp_path
    else:
        root = Path(logging.__file__).parent.parent
        files = [*Path(logging.__file__).parent.rglob("*.py"), *Path(email.__file__).parent.rglob("*.py")]
        sources = [(p, str(p.relative_to(root)), p.read_text(), content_hash(p.read_bytes())) for p in files]
    index = build_index(sources, root)
    unique = list({id(m): m for m in index.modules.values()}.values())
    assert all(index.dependencies(m) == _search_dependencies(index, m) for m in unique)
    # the Merkle digest moves with exactly the summaries the module depends on (and its own when on a cycle)
    for m in unique if project == "cycles" else unique[:12]:
        deps = _search_dependencies(index, m)
        on_cycle = any(m.name in _search_dependencies(index, index.modules[d]) for d in deps)
        assert _digest_reaches(index, m, unique) == deps | ({m.name} if on_cycle else set()), m.name
    if project == "cycles":
        assert index.dependencies(index.modules["tool"]) == {
            "pkg",
            "pkg.a",
            "pkg.b",
            "pkg.sub",
            "pkg.sub.deep",
            "pkg.sub.leaf",
        }
        assert "pkg.a" not in index.dependencies(index.modules["pkg.a"])
        assert "pkg.b" in index.dependencies(index.modules["pkg.a"])


def _task(name: str) -> tuple[str, str, tuple[str, ...], bool]:
    return (name, name, ("MNT001",), False)


def test_batches_take_a_workers_own_files_largest_first_then_steal_the_smallest_of_the_busiest() -> None:
    from maintenance.fix.workers import BATCH_CHARS, BATCH_FILES, Batches

    sizes = {f"a{i}": 1000 - i for i in range(BATCH_FILES + 3)} | {"b0": BATCH_CHARS, "b1": 10, "c0": 50}
    own_a = [_task(f"a{i}") for i in range(BATCH_FILES + 3)]  # queued largest first, as `analyze` queues them
    batches = Batches([own_a, [_task("b0"), _task("b1")], [_task("c0")]], sizes)
    assert batches.take(0) == own_a[:BATCH_FILES]  # at most BATCH_FILES files
    assert batches.take(1) == [_task("b0")]  # at most BATCH_CHARS characters: a large file goes alone
    assert batches.take(1) == [_task("b1")]
    # worker 1's queue is empty: it takes from the back of the queue with the most characters left (worker
    # 0's smallest files), not from worker 2's
    assert batches.take(1) == own_a[BATCH_FILES:][::-1]
    assert batches.take(0) == [_task("c0")]
    assert batches.take(0) == batches.take(1) == batches.take(2) == []
    taken_everything = Batches([own_a], sizes)
    assert [t for _ in range(3) for t in taken_everything.take(0)] == own_a


def test_a_run_whose_files_all_belong_to_one_worker_gives_the_serial_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every file owned by worker 0 (as when the index cache covered them all and worker 0 was least
    # loaded): worker 1 takes the back of worker 0's queue, worker 0 parses the files whose trees and
    # checks worker 1 kept, and the results are those of a serial run
    from maintenance.fix import workers as fix_workers
    from maintenance.fix.pipeline import run_fix

    for i in range(fix_workers.PARALLEL_MIN_FILES + 8):
        body = "def f():\n    return 1\n    print('dead')\n" if i % 4 == 0 else f"x = {i}\n"
        (tmp_path / f"m{i}.py").write_text(body)
    (tmp_path / "pyproject.toml").write_text('[tool.maintenance]\nselect = ["MNT"]\n')
    serial = run_fix([tmp_path], use_ruff=False, jobs=1, use_cache=False)
    analyze = fix_workers.Workers.analyze

    def all_owned_by_worker_0(self: fix_workers.Workers, *args: object, **kwargs: object) -> object:
        # (the trees and checks stay where the index pass left them: worker 0 parses the files it lacks)
        self.owner = dict.fromkeys(self.owner, 0)
        monkeypatch.setattr(self, "_assign", lambda path, size: self.owner.setdefault(path, 0))
        return analyze(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fix_workers.Workers, "analyze", all_owned_by_worker_0)
    parallel = run_fix([tmp_path], use_ruff=False, jobs=2, use_cache=False)
    assert parallel.findings == serial.findings
    assert parallel.diff == serial.diff
    assert len(serial.findings) == sum(1 for i in range(fix_workers.PARALLEL_MIN_FILES + 8) if i % 4 == 0)


# MNT005's comment runs: only the blocks of consecutive comment lines are read (one regular expression),
# and the bracket and string checks are asked about the runs' lines only; both equal reading every line
_LINES = st.sampled_from(
    [
        "# x = compute(a)",
        "    # y = x + 1",
        "\t# return y",
        "# noqa: E501",
        "#",
        "   ",
        "",
        "z = 1",
        "\xa0# nbsp before the hash",
        "# pylint: disable=foo",
        "    value = f(  # an entry",
        "'''",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, max_size=30), st.booleans())
def test_comment_runs_from_the_blocks_equal_reading_every_line(lines: list[str], final_newline: bool) -> None:
    from maintenance.codemods.parked_code import _comment_runs, _comment_runs_in_text

    source = "\n".join(lines) + ("\n" if final_newline else "")
    assert _comment_runs_in_text(source) == _comment_runs([*source.splitlines(), ""], 1)
    # other line breaks (a form feed, a carriage return) are read line by line, as `splitlines` splits them
    other = source.replace("# y", "\f# y").replace("#\n", "#\r\n")
    assert _comment_runs_in_text(other) == _comment_runs([*other.splitlines(), ""], 1)


@pytest.mark.parametrize("path", _real_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_comment_runs_and_their_bracket_and_string_lines_on_real_files(path: Path) -> None:
    from maintenance.codemods.parked_code import (
        _bracket_interior_lines,
        _comment_runs,
        _comment_runs_in_text,
        _string_interior_lines,
    )

    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert _comment_runs_in_text(source) == _comment_runs([*source.splitlines(), ""], 1)
    every_line = set(range(1, source.count("\n") + 2))
    brackets, inside = set(), set()  # every line, as the checks were once computed
    for node in ast.walk(tree):
        if isinstance(node, ast.List | ast.Tuple | ast.Set | ast.Dict | ast.Call) and node.end_lineno:
            brackets.update(range(node.lineno + 1, node.end_lineno))
        if isinstance(node, ast.Constant | ast.JoinedStr) and node.end_lineno:
            inside.update(range(node.lineno + 1, node.end_lineno + 1))
    assert _bracket_interior_lines(tree, every_line) == brackets
    assert _string_interior_lines(tree, every_line) == inside


def test_silenced_parses_in_two_threads_leave_the_warning_filters_as_they_were() -> None:
    import threading
    import warnings

    from maintenance.astutil import parse

    source = "x = '\\d'\n" * 50  # an invalid escape: the parse warns, silenced
    errors: list[BaseException] = []

    def work() -> None:
        for _ in range(3000):
            try:
                parse(source)
            except BaseException as err:  # noqa: BLE001 -- any warning that got through, raised by the "error" filter
                errors.append(err)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        before = list(warnings.filters)
        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert warnings.filters == before
    assert errors == []


def test_a_workers_unmatched_files_come_first_and_are_never_taken_by_another() -> None:
    from maintenance.fix.workers import UNMATCHED_BATCH, Batches

    sizes = {"a0": 500, "b0": 100, "b1": 90} | {f"u{i}": 10 for i in range(UNMATCHED_BATCH + 5)}
    unmatched = [_task(f"u{i}") for i in range(UNMATCHED_BATCH + 5)]
    batches = Batches([[_task("a0")], [_task("b0"), _task("b1")]], sizes, [unmatched, []])
    first = batches.take(0)  # worker 0's unmatched files first: no other worker can take them
    assert len(first) == UNMATCHED_BATCH
    assert batches.take(1) == [_task("b0"), _task("b1")]
    # worker 1 has nothing of its own left: it takes worker 0's queued file, not its unmatched ones
    assert batches.take(1) == [_task("a0")]
    assert batches.take(1) == []
    second = batches.take(0)
    assert len(second) == 5
    assert sorted(first + second) == sorted(unmatched)
    assert batches.take(0) == []


def _shortcut_project(make_repo: Callable[..., Path]) -> Path:
    """The fixture project of `test_projects` (MNT001 through another module's `die()`, MNT004 through every
    resolution path: findings the index pass cannot decide alone) beside the real sources of `email`."""
    from tests.maintenance.test_projects import _project

    files: dict[str, str | bytes] = dict(_project())
    root = Path(email.__file__).parent
    for path in sorted(root.rglob("*.py")):
        files[f"src/email/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    return make_repo(files, select=["MNT"])


@pytest.mark.parametrize("jobs", [1, 2])
def test_files_no_prefilter_passes_on_are_parsed_once_and_the_findings_stay(
    make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    import maintenance.engine as engine
    from maintenance.fix import workers as fix_workers
    from maintenance.fix.pipeline import run_fix

    root = _shortcut_project(make_repo)
    monkeypatch.setattr(
        fix_workers, "KEEP_SOURCE_CHARS", 0
    )  # no tree kept: each file the analysis needs is parsed again
    parses = [0]
    parse_ast = engine._parse_ast

    def counted(source: str) -> ast.Module:
        parses[0] += 1
        return parse_ast(source)

    monkeypatch.setattr(engine, "_parse_ast", counted)
    fast = run_fix([root], root=root, use_ruff=False, use_cache=False, jobs=jobs, unsafe_fixes=True)
    fast_parses = parses[0]
    monkeypatch.setattr(engine, "prefilter_before_index", lambda *args: None)  # every file keeps its tree
    parses[0] = 0
    full = run_fix([root], root=root, use_ruff=False, use_cache=False, jobs=jobs, unsafe_fixes=True)
    full_parses = parses[0]
    assert fast.findings == full.findings
    assert fast.diff == full.diff
    codes = {f.code for f in fast.findings}
    assert {"MNT001", "MNT002", "MNT004"} <= codes, codes  # the cross-module findings are among them
    if jobs == 1:  # (the workers' parses are not counted here)
        files = [p for p in root.rglob("*.py") if p.stat().st_size]  # (an empty file is always kept)
        assert full_parses >= len(files)
        assert fast_parses < full_parses / 2, (fast_parses, full_parses)


def test_the_cross_module_prefilters_pass_only_with_the_runs_index(tmp_path: Path) -> None:
    # alone, neither module shows anything; the index pass keeps each one's check, and the run's index
    # (which knows `die` never returns and what `Net.forward` takes) makes both checks pass
    from maintenance.engine import prefilter_before_index, result_without_tree
    from maintenance.index import summarize_file

    files = {
        "pkg/__init__.py": "",
        "pkg/util.py": "import sys\n\n\ndef die(msg):\n    sys.exit(msg)\n",
        "pkg/net.py": "class Net:\n    def __init__(self, size):\n        self.size = size\n",
        "pkg/main.py": "from pkg.net import Net\nfrom pkg.util import die\n\n\ndef main():\n"
        "    die('usage')\n    print('never')\n\n\ndef build():\n    return Net(1, 2)\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    sources = [(tmp_path / name, name, text, content_hash(text.encode())) for name, text in files.items()]
    index = build_index(sources, tmp_path)
    summary = summarize_file(tmp_path / "pkg/main.py", "pkg/main.py", files["pkg/main.py"], tmp_path)
    assert summary is not None
    info, tree = summary
    checks = prefilter_before_index(tree, files["pkg/main.py"], "pkg/main.py", info)
    assert checks is not None and len(checks) == 2  # MNT001's answers, MNT004's calls
    assert [check.may_match(index, index.modules["pkg.main"]) for check in checks] == [True, True]
    assert result_without_tree(checks, "pkg/main.py", index) is None
    # a module with nothing to find is settled without its tree
    summary = summarize_file(tmp_path / "pkg/net.py", "pkg/net.py", files["pkg/net.py"], tmp_path)
    assert summary is not None
    checks = prefilter_before_index(summary[1], files["pkg/net.py"], "pkg/net.py", summary[0])
    assert checks is not None
    result = result_without_tree(checks, "pkg/net.py", index)
    assert result is not None and result.findings == [] and result.new_source is None


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ['a "quoted"\n\tline', "é\\x"]
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.builds(
            Finding,
            path=_TEXT,
            line=st.integers(0, 10**6),
            column=st.integers(0, 500),
            code=_TEXT,
            message=_TEXT,
            fixable=st.booleans(),
            fixed=st.booleans(),
            before=st.none() | _TEXT,
            after=st.none() | _TEXT,
        ),
        max_size=5,
    )
)
def test_json_output_is_what_the_indenting_encoder_writes(findings: list[Finding]) -> None:
    # the findings are encoded row by row by json's C encoder: the text is that of `json.dumps(indent=2)`
    from maintenance.findings import FixReport
    from maintenance.output import render_json

    report = FixReport(findings=findings)
    assert render_json(report) == json.dumps([f.to_dict() for f in findings], indent=2)
    assert json.loads(render_json(report)) == [f.to_dict() for f in findings]


_FRAGMENTS = st.sampled_from(
    [
        "setattr",
        "patch",
        "globals",
        "vars",
        "object",
        "(",
        " (",
        "\n(",
        "_",
        "x",
        "é",
        ".",
        " ",
        "\t",
        "#",
        "ö(",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=12).map("".join))
def test_the_rebinding_call_search_by_find_equals_the_regular_expression(text: str) -> None:
    from maintenance.index.summarize import _REBINDING_CALLS, _calls_rebinding

    assert _calls_rebinding(text) == (_REBINDING_CALLS.search(text) is not None)


# ------------------------------------------------------------- the scope model's and MNT004's shortcuts

SCOPE_CASES = """
import os
if os.name:
    from json import loads as parse
g = 0


def outer(a: int, *args, **kwargs):
    global g
    g = 1
    x = 1

    def inner():
        nonlocal x
        x = 2
        return parse(x), os.sep, print, a, args, kwargs

    return inner


class C:
    y = 1

    def m(self):
        return y, C, f"{(z := 3)}", z


try:
    pass
except ValueError as err:
    pass


def uses(a):
    try:
        pass
    except KeyError as err:
        return err, g
    match a:
        case {"k": v, **rest}:
            return v, rest
        case [first, *others]:
            return first, others
    import email.mime as mime
    import xml.dom
    return mime, email, xml, [w for w in a], (lambda q: q)(a)


@outer
def decorated(b=(h := 1)):
    return h, b
"""


def _every_scope(tree: ast.Module, scopes: Scopes) -> list[Scope]:
    found = [scopes.root]
    stack: list[tuple[ast.AST, Scope]] = [(tree, scopes.root)]
    while stack:
        node, scope = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = scopes.child(scope, child)
                found.append(inner)
                stack.append((child, inner))
            else:
                stack.append((child, scope))
    return found


def _assert_resolve_answers_as_each_scope(tree: ast.Module) -> int:
    scopes = Scopes(tree)
    asked = 0
    for scope in _every_scope(tree, scopes):
        names = {n.id for n in ast.walk(scope.node) if isinstance(n, ast.Name)} | {"print", "nowhere"}
        for name in sorted(names):
            fast = scopes.resolve(name, scope)
            slow = scope.resolve(name, scope)
            assert [(s, b, b.owner) for s, b in fast] == [(s, b, b.owner) for s, b in slow], (
                name,
                scope.prefix,
            )
            asked += 1
    return asked


def test_scopes_resolve_answers_as_each_scope_does_on_the_hard_cases() -> None:
    tree = ast.parse(SCOPE_CASES)
    assert _assert_resolve_answers_as_each_scope(tree) > 50
    # the names only module-level statements bind are answered without the bodies' bindings
    scopes = Scopes(tree)
    inner = scopes.child(scopes.child(scopes.root, tree.body[3]), tree.body[3].body[3])
    assert scopes.resolve("os", inner)[0][0] is scopes.root
    assert inner._bindings is None  # (never found)
    assert scopes.resolve("x", inner)[0][0].prefix == "outer.<locals>"  # `nonlocal x`: the body's binding


@pytest.mark.parametrize("path", _real_files()[::3], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_scopes_resolve_answers_as_each_scope_does_on_real_files(path: Path) -> None:
    _assert_resolve_answers_as_each_scope(ast.parse(path.read_bytes()))


def test_mnt004_judges_only_calls_that_can_fail_and_finds_the_same(
    make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # MNT004 records only the calls `_judged` keeps, walks only into nodes whose lines hold one, resolves
    # names that no body binds at module level (`Scopes.resolve`) and finds a call's statement list from
    # the statements alone: with the shortcuts off (every call judged, every node walked, every scope's
    # bindings found, the parent of every node), the findings on the fixture projects and on `email` are
    # the same
    import maintenance.codemods.call_signature_mismatch as mnt004
    from maintenance.fix.pipeline import run_fix

    root = _shortcut_project(make_repo)
    for fixture in ("mnt004_two_bindings", "mnt004_expected_errors"):
        source = Path(__file__).parent / "fixtures" / fixture
        for path in source.rglob("*.py"):
            target = root / fixture / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    fast = run_fix([root], root=root, use_ruff=False, use_cache=False, jobs=1, select=["MNT004"])

    def dominates_by_every_parent(self: mnt004._Checker, stmt: ast.stmt, statement: ast.stmt) -> bool:
        parent_of = parents(self.tree)
        block = parent_of.get(id(stmt), (None, None))[1]
        node: ast.AST = statement
        while block is not None and id(node) in parent_of:
            parent, node_block = parent_of[id(node)]
            if node_block is block:
                return block.index(node) > block.index(stmt)  # type: ignore[arg-type]
            node = parent
        return False

    monkeypatch.setattr(mnt004._Checker, "_judged", lambda self, call: True)
    monkeypatch.setattr(mnt004._Checker, "_holds_judged", lambda self: lambda node: True)
    monkeypatch.setattr(Scopes, "resolve", lambda self, name, scope: scope.resolve(name, scope))
    monkeypatch.setattr(mnt004._Checker, "_dominates", dominates_by_every_parent)
    full = run_fix([root], root=root, use_ruff=False, use_cache=False, jobs=1, select=["MNT004"])
    assert fast.findings == full.findings
    messages = [f.message for f in fast.findings]
    assert len(messages) >= 5, messages
    assert any("binds when it is" in m for m in messages), messages  # a name bound twice before the call


def test_mnt001_looks_for_blocks_in_every_statement_that_can_hold_one() -> None:
    from maintenance.codemods.unreachable_code import _HAS_BLOCKS

    holding = {
        kind
        for kind in vars(ast).values()
        if isinstance(kind, type)
        and issubclass(kind, ast.stmt)
        and {"body", "orelse", "finalbody", "handlers", "cases"} & set(kind._fields)
    }
    assert holding == set(_HAS_BLOCKS)


REBINDING_CALLS = """
import os
import unittest
from unittest import mock as m


@m.patch.object(os, "getcwd")
def test(x):
    setattr(os, "sep",
            "/")
    setattr(
        unittest,
        "main",
        None,
    )
    globals().update(a=1)
    with m.patch("os.path.join"):
        pass
    return vars()


class Case(unittest.TestCase):
    @m.patch("os.listdir")
    def test_it(self, listdir):
        m.patch.object(
            os, "walk"
        ).start()
"""


def _rebinding_summary(text: str) -> tuple[set, set, set]:
    from maintenance.index.summarize import Summarizer

    info = Summarizer(ast.parse(text), "pkg.mod", "pkg/mod.py", False, text).run()
    return set(info.external_rebinds), set(info.patched), set(info.rebindable)


@pytest.mark.parametrize(
    "path", [None, *_real_files()[::2], *sorted(Path(unittest.__file__).parent.rglob("*.py"))], ids=str
)
def test_rebinding_calls_read_only_on_lines_that_name_them_are_all_found(
    path: Path | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    summarize = importlib.import_module(
        "maintenance.index.summarize"
    )  # (the package exports a function so named)
    text = REBINDING_CALLS if path is None else path.read_text(encoding="utf-8")
    fast = _rebinding_summary(text)
    monkeypatch.setattr(summarize, "_names_a_line", lambda lines, node: True)
    assert fast == _rebinding_summary(text)
    if path is None:
        assert ("os", "sep") in fast[0] and ("unittest", "main") in fast[0] and ("os", "walk") in fast[0]
        assert {"os.path.join", "os.listdir"} <= fast[1] and "*" in fast[2]


_COMMENT_FRAGMENTS = st.sampled_from(
    [
        "NoQA",
        "noqa",
        "type:",
        "Type:",
        ".type:",
        "xtype:",
        "pragma",
        "Pylint:",
        "fmt:",
        "ISORT:",
        "mypy:",
        "pyright:",
        "-*-",
        "!",
        "Copyright",
        "licenſe",  # (a long s matches "s" when the case is ignored)
        "LICENSE",
        "\u212aeep",  # (the Kelvin sign matches "k")
        "mpmath",
        "mp.dps",
        "mp.",
        "library(",
        "require(",
        "options(digits",
        "c(",
        "c( -1.5",
        ".c(1",
        "\n",
        " ",
        "x",
        "é",
        "#",
    ]
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(_COMMENT_FRAGMENTS, max_size=10).map("".join))
def test_mnt005_substring_tests_equal_its_regular_expressions(text: str) -> None:
    from maintenance.codemods.parked_code import _DIRECTIVE, _RECIPE, _has_directive, _is_recipe

    assert _has_directive(text) == bool(_DIRECTIVE.search(text))
    assert _is_recipe(text) == bool(_RECIPE.search(text))


@pytest.mark.parametrize("path", _real_files()[::2], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_mnt005_substring_tests_equal_its_regular_expressions_on_real_comments(path: Path) -> None:
    from maintenance.codemods.parked_code import _DIRECTIVE, _RECIPE, _has_directive, _is_recipe

    lines = path.read_text(encoding="utf-8").splitlines()
    comments = [line.strip() for line in lines if line.strip().startswith("#")]
    for text in [*comments, "\n".join(comments), "\n".join(lines[:200])]:
        assert _has_directive(text) == bool(_DIRECTIVE.search(text))
        assert _is_recipe(text) == bool(_RECIPE.search(text))


@pytest.mark.parametrize("path", _real_files()[::3], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_mnt006_statement_children_are_the_statements_among_the_child_nodes(path: Path) -> None:
    from maintenance.codemods.loss_without_graph import _statement_children

    tree = ast.parse(path.read_bytes())
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.stmt):
            expected = [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)]
            assert _statement_children(node) == expected


PRUNED_CASES = {
    "pkg/__init__.py": "",
    "pkg/net.py": "class Net:\n    def __call__(self, x):\n        return x\n\n\ndef build(size):\n    return Net()\n",
    "pkg/use.py": (
        "from pkg.net import Net, build\n\n\n"
        "def report():\n"
        "    model = Net()\n"
        '    text = f"""first line\n'
        "{model(1, 2)} on the second line\n"
        '{f"{build(3, 4)}"}"""\n'
        "    return text\n\n\n"
        "def register(value):\n    return lambda f: f\n\n\n"
        "@register(\n    build(5, 6),\n)\n"
        "def decorated():\n    return 1\n\n\n"
        "class Holder:\n"
        "    def __init__(self):\n        self.net = Net()\n\n"
        "    def run(self):\n        return self.net(1, 2)\n"
    ),
}


def test_mnt004_walks_only_into_lines_that_hold_a_judged_call_and_finds_the_same(
    make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # judged calls in a multi-line f-string, a nested f-string, a decorator and a method
    import maintenance.codemods.call_signature_mismatch as mnt004
    from maintenance.fix.pipeline import run_fix

    root = make_repo(dict(PRUNED_CASES), select=["MNT004"])
    pruned = run_fix([root], root=root, use_ruff=False, use_cache=False, jobs=1)
    monkeypatch.setattr(mnt004._Checker, "_holds_judged", lambda self: lambda node: True)
    walked = run_fix([root], root=root, use_ruff=False, use_cache=False, jobs=1)
    assert pruned.findings == walked.findings
    assert sorted(f.line for f in pruned.findings) == [7, 8, 17, 28], [
        (f.line, f.message) for f in pruned.findings
    ]
