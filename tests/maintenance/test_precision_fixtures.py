"""Fixture projects for the fixer's precision on real code (issue 22), each in the shape of a bug seen there.

- `mnt004_two_bindings`: an export whose `model` is a debug model under a flag or the production model, and
  a class imported in a `try` and its `except ImportError`: the call fails for one binding, and the finding
  names it and the one it binds for; `mnt004_two_bindings_valid` is the twin where every binding accepts.
- `mnt004_expected_errors`: tests of the error itself (`pytest.raises`, `assertRaises`, sympy's `raises`, a
  `try`/`except TypeError` fallback), classes built by `__new__`, a metaclass or `Enum`: silent; calls under
  a type-checker suppression: shown as acknowledged.
- `mnt003_checkpoints`: the safety of adding `weights_only=True` judged from the checkpoint a load reads.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from maintenance.codemods.call_signature_mismatch import is_acknowledged
from maintenance.findings import Finding
from maintenance.fix import run_fix

FIXTURES = Path(__file__).parent / "fixtures"


def _findings(name: str, tmp_path: Path, code: str) -> list[Finding]:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    (root / "pyproject.toml").write_text('[tool.maintenance]\nselect = ["MNT"]\n')
    report = run_fix([root], root=root, use_ruff=False, use_cache=False, jobs=1)
    return sorted((f for f in report.findings if f.code == code), key=lambda f: (f.path, f.line))


def test_a_call_that_fails_for_one_binding_is_found_and_the_binding_named(tmp_path: Path) -> None:
    found = _findings("mnt004_two_bindings", tmp_path, "MNT004")
    assert [(f.path, f.line) for f in found] == [("export.py", 15), ("export.py", 20)]
    flag, fallback = (f.message for f in found)
    assert flag == (
        "`model(...)` passes 4 positional arguments but `ProductionModel.forward(batch)` takes 1: the call "
        "raises TypeError when `model` is ProductionModel (bound at line 13); binds when it is DebugModel "
        "(line 11)"
    )
    assert fallback.endswith(
        "when `model` is ProductionModel (bound at line 19); binds when it is FastModel (line 19)"
    )
    assert not any(f.fixable or is_acknowledged(f.message) for f in found)


def test_every_binding_accepting_the_call_is_silent(tmp_path: Path) -> None:
    assert _findings("mnt004_two_bindings_valid", tmp_path, "MNT004") == []


def test_tests_of_the_error_and_new_or_metaclass_classes_are_silent(tmp_path: Path) -> None:
    found = _findings("mnt004_expected_errors", tmp_path, "MNT004")
    by_line = {f.line: f.message for f in found}
    # silent too: an expected failure (pytest's and sympy's markers) and a version switch (`if SCALE_LT_2:`)
    assert sorted(by_line) == [56, 57, 63, 88], by_line
    assert is_acknowledged(by_line[56]) and "`# type: ignore[call-arg]`" in by_line[56]
    assert is_acknowledged(by_line[57]) and "`# pyright: ignore[reportCallIssue]`" in by_line[57]
    assert is_acknowledged(by_line[88]) and "`# pyrefly: ignore[missing-argument]`" in by_line[88]
    # `pytest.raises(ValueError)` does not expect the TypeError: a crash when reached
    assert not is_acknowledged(by_line[63]) and "misses required argument `factor`" in by_line[63]


def test_mnt003_judges_a_load_by_the_checkpoint_it_reads(tmp_path: Path) -> None:
    found = {(f.path, f.line): f for f in _findings("mnt003_checkpoints", tmp_path, "MNT003")}
    # state dicts, a deepcopy of one and a dict of them: the fix is safe
    assert found["train.py", 16].fixable and found["train.py", 20].fixable
    # the trainer's checkpoint holds its metrics: unsafe, and the message names the save
    resume = found["trainer.py", 17]
    assert (
        not resume.fixable
        and "the `torch.save` at line 14 writes objects other than tensors" in resume.message
    )
    # the same checkpoint is loaded elsewhere with weights_only=False: unsafe, naming that load
    history = found["trainer.py", 20]
    assert not history.fixable
    assert "the same checkpoint is loaded with weights_only=False at line 23" in history.message
    assert "weights_only=False" in found["trainer.py", 23].message and not found["trainer.py", 23].fixable
    # a checkpoint no save or load of the file makes unsafe: safe, whatever else the file saves
    assert found["trainer.py", 26].fixable
    # `buffer` of one function is not `buffer` of another: the state-dict round trip is safe
    assert not found["trainer.py", 33].fixable and found["trainer.py", 40].fixable
    assert len(found) == 8


def test_mnt003_judges_a_load_by_the_saves_and_loads_of_other_modules(tmp_path: Path) -> None:
    found = {(f.path, f.line): f for f in _findings("mnt003_across_files", tmp_path, "MNT003")}
    model = found["serve.py", 7]
    assert not model.fixable
    assert (
        "the `torch.save` at train.py:9 writes this checkpoint with objects other than tensors"
        in model.message
    )
    assert found["serve.py", 11].fixable  # the weights are a state dict
    plot = found["report.py", 5]
    assert not plot.fixable
    assert "loaded with weights_only=False at evaluate.py:7" in plot.message
    # the same constant, imported from the module that defines it, names the same file (restore.py:7);
    # and a path held in a local the function builds from the constant, on the load's side (:16) and on
    # the save's (:20)
    for line, save in ((7, "checkpointing.py:7"), (16, "checkpointing.py:7"), (20, "checkpointing.py:12")):
        load = found["restore.py", line]
        assert not load.fixable
        assert f"the `torch.save` at {save} writes this checkpoint" in load.message
    assert found["restore.py", 11].fixable  # another constant: another file
    assert len(found) == 8  # and evaluate.py's own weights_only=False


def test_mnt003_across_files_valid_twin_fixes_every_load(tmp_path: Path) -> None:
    found = _findings("mnt003_across_files_valid", tmp_path, "MNT003")
    assert [(f.path, f.line) for f in found] == [("serve.py", 7), ("serve.py", 11)]
    assert all(f.fixable for f in found)


def test_a_changed_save_in_another_module_reaches_a_cached_load(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "mnt003_across_files_valid", root)
    (root / "pyproject.toml").write_text('[tool.maintenance]\nselect = ["MNT003"]\n')

    def serve_fixable() -> bool:
        report = run_fix([root], root=root, use_ruff=False, use_cache=True, jobs=1)
        return next(f for f in report.findings if (f.path, f.line) == ("serve.py", 7)).fixable

    assert serve_fixable()
    train = root / "train.py"
    train.write_text(train.read_text().replace("torch.save(model.state_dict(), ", "torch.save(model, ", 1))
    assert not serve_fixable()  # serve.py did not change, yet its cached result is not reused


def test_a_block_split_by_blank_lines_is_one_mnt005_finding() -> None:
    """A class commented out with blank lines between its methods is one parked block, not one per piece."""
    from maintenance.engine import analyze_text

    source = (
        "x = 1\n\n# class Old:\n#     def a(self):\n#         return 1\n\n#     def b(self):\n"
        "#         return 2\n#     def c(self):\n#         return 3\n\n\n# print('a later block')\n"
        "# print('at another place')\n# print('of its own')\ny = 2\n"
    )
    found = analyze_text(source, "old.py", ["MNT005"]).findings
    assert [(f.line, f.message.split(" ")[0]) for f in found] == [(3, "7"), (13, "3")]
