"""The check vocabulary, the registry and the runner (requires, skips, crashes, exit codes)."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

from health_checks.context import CheckContext
from health_checks.core import (
    Check,
    CheckResult,
    Details,
    NotApplicable,
    Outcome,
    RunDetails,
    Severity,
    SkipCheck,
    Status,
    UntypedDetails,
)
from health_checks.registry import CODE_PATTERN, all_checks, select
from health_checks.runner import exit_code, run_checks
from health_checks.settings import HealthSettings, load_settings


@dataclasses.dataclass(frozen=True, kw_only=True)
class WhereDetails(Details):
    where: str
    rows: list[dict[str, int]] = dataclasses.field(default_factory=list)


class HC901(Check):
    """Always fails."""

    name = "always-fails"
    details_type = WhereDetails

    def check(self, ctx: CheckContext) -> Outcome:
        return Outcome(Status.FAIL, "broken", WhereDetails(where="here"))


class HC908(Check):
    """Returns details of a type it does not declare."""

    name = "wrong-details"

    def check(self, ctx: CheckContext) -> Outcome:
        return Outcome(Status.PASS, "fine", WhereDetails(where="there"))


class HC902(Check):
    """Needs HC901."""

    name = "needs-901"
    requires = ("HC901",)

    def check(self, ctx: CheckContext) -> Outcome:
        return Outcome.passed("ran")


class HC903(Check):
    """Skips itself."""

    name = "skips"

    def check(self, ctx: CheckContext) -> Outcome:
        raise SkipCheck("no data")


class HC904(Check):
    """Needs HC903 (a check that could not run: it fails and blocks)."""

    name = "needs-903"
    requires = ("HC903",)

    def check(self, ctx: CheckContext) -> Outcome:
        return Outcome(Status.WARN, "careful")


class HC906(Check):
    """Not about this tree."""

    name = "not-applicable"

    def check(self, ctx: CheckContext) -> Outcome:
        raise NotApplicable("no atft here")


class HC907(Check):
    """Needs HC906 (not applicable: does not block)."""

    name = "needs-906"
    requires = ("HC906",)

    def check(self, ctx: CheckContext) -> Outcome:
        return Outcome.passed("ran")


class HC905(Check):
    """Crashes."""

    name = "crashes"

    def check(self, ctx: CheckContext) -> Outcome:
        raise KeyError("missing-key")


@pytest.fixture
def ctx(tmp_path: Path) -> CheckContext:
    return CheckContext(root=tmp_path, settings=HealthSettings())


def test_result_is_frozen_and_round_trips() -> None:
    details = WhereDetails(where="x", rows=[{"b": 2}])
    result = CheckResult(
        "HC901", "always-fails", "Title", Status.FAIL, Severity.CRITICAL, "msg", details, 1.5
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = Status.PASS  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.details.where = "y"  # type: ignore[misc]
    assert result.to_dict()["details"] == {"where": "x", "rows": [{"b": 2}]}
    assert CheckResult.from_dict(result.to_dict(), WhereDetails) == result
    # read back without its type (a check this version does not know): kept, not typed, not dropped
    untyped = CheckResult.from_dict(result.to_dict()).details
    assert isinstance(untyped, UntypedDetails) and untyped.to_dict() == {"where": "x", "rows": [{"b": 2}]}
    # the runner's own records come back as RunDetails whatever the check's type
    skipped = dataclasses.replace(result, status=Status.SKIP, details=RunDetails(skip_reason="disabled"))
    assert CheckResult.from_dict(skipped.to_dict(), WhereDetails).details == RunDetails(
        skip_reason="disabled"
    )
    with pytest.raises(TypeError, match="details must be"):
        CheckResult("HC001", "n", "t", Status.PASS, Severity.MINOR, "m", {"a": 1})  # type: ignore[arg-type]


def test_details_of_an_undeclared_type_fail_the_check(ctx: CheckContext) -> None:
    (result,) = run_checks([HC908], ctx, progress=False)
    assert result.status == Status.FAIL and "declares Details" in result.message


def test_registry_codes_names_titles_are_unique_and_documented() -> None:
    checks = all_checks()
    assert len(checks) >= 14
    assert all(CODE_PATTERN.match(c.code()) for c in checks)
    assert len({c.code() for c in checks}) == len(checks)
    assert len({c.name for c in checks}) == len(checks)
    assert all(c.__doc__ and c.title() and c.description() for c in checks), "docstring = title + description"
    known = {c.code() for c in checks}
    assert all(set(c.requires) <= known for c in checks), "requires must name registered checks"


def test_select_by_code_or_name_and_unknown_is_an_error() -> None:
    checks = all_checks()
    chosen = select(checks, ["hc001", "lint", " "])
    assert [c.code() for c in chosen] == ["HC001", "HC002"]
    with pytest.raises(ValueError, match="unknown check"):
        select(checks, ["HC999"])


def test_failed_prerequisite_skips_the_dependent_and_says_why(ctx: CheckContext) -> None:
    results = {r.code: r for r in run_checks([HC901, HC902], ctx, progress=False)}
    assert results["HC901"].status == Status.FAIL
    assert results["HC902"].status == Status.SKIP
    assert "HC901" in results["HC902"].message and "broken" in results["HC902"].message


def test_unselected_prerequisite_does_not_block(ctx: CheckContext) -> None:
    (result,) = run_checks([HC902], ctx, progress=False)
    assert result.status == Status.PASS


def test_a_check_that_cannot_run_fails_naming_why_and_blocks(ctx: CheckContext) -> None:
    results = {r.code: r for r in run_checks([HC903, HC904], ctx, progress=False)}
    assert results["HC903"].status == Status.FAIL
    assert "could not run: no data" in results["HC903"].message
    assert "disable" in results["HC903"].message, "the message says how to switch it off"
    assert results["HC904"].status == Status.SKIP and "HC903" in results["HC904"].message
    assert exit_code(list(results.values())) == 2


def test_a_disabled_check_is_skipped_not_run(ctx: CheckContext) -> None:
    ctx.settings = dataclasses.replace(ctx.settings, disable=("skips",))
    results = {r.code: r for r in run_checks([HC903, HC904], ctx, progress=False)}
    assert results["HC903"].status == Status.SKIP and "disable" in results["HC903"].message
    assert results["HC904"].status == Status.WARN


def test_not_applicable_is_a_skip_that_does_not_block(ctx: CheckContext) -> None:
    results = {r.code: r for r in run_checks([HC906, HC907], ctx, progress=False)}
    assert results["HC906"].status == Status.SKIP and results["HC906"].details.not_applicable
    assert results["HC907"].status == Status.PASS


def test_a_crashing_check_is_the_tools_error_with_the_error_and_where(ctx: CheckContext) -> None:
    (result,) = run_checks([HC905], ctx, progress=False)
    assert result.status == Status.WARN  # not a failure of the tree under check
    assert "health_checks' own error" in result.message
    assert "KeyError" in result.message and "missing-key" in result.message
    line = inspect.getsourcelines(HC905.check)[1] + 1
    assert f"tests/health_checks/test_framework.py:{line}" in result.message
    assert result.details.tool_error is True
    assert result.duration >= 0


class HC911(Check):
    """Deep-copies a model that cannot be deep-copied."""

    name = "deepcopies"

    def check(self, ctx: CheckContext) -> Outcome:
        import copy

        import torch

        model = torch.nn.utils.spectral_norm(torch.nn.Linear(3, 3))
        model(torch.randn(2, 3))  # spectral_norm's weight is now a non-leaf tensor: deepcopy raises
        copy.deepcopy(model)
        return Outcome.passed("copied")


class HC912(Check):
    """Needs HC911."""

    name = "after-deepcopy"
    requires = ("HC911",)

    def check(self, ctx: CheckContext) -> Outcome:
        return Outcome.passed("ran")


def test_an_error_deep_in_a_library_names_the_checks_line_and_blocks_nothing(ctx: CheckContext) -> None:
    results = {r.code: r for r in run_checks([HC911, HC912], ctx, progress=False)}
    assert results["HC911"].status == Status.WARN
    source, first = inspect.getsourcelines(HC911.check)
    line = first + next(i for i, text in enumerate(source) if "copy.deepcopy(model)" in text)
    assert f"test_framework.py:{line}" in results["HC911"].message
    assert "copy.py" not in results["HC911"].message
    assert results["HC912"].status == Status.PASS


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ((Status.PASS, Status.SKIP), 0),
        ((Status.PASS, Status.WARN), 1),
        ((Status.WARN, Status.FAIL), 2),
        ((), 0),
    ],
)
def test_exit_codes(statuses: tuple[Status, ...], expected: int) -> None:
    results = [
        CheckResult(f"HC{i:03d}", f"n{i}", "t", s, Severity.MINOR, "m") for i, s in enumerate(statuses)
    ]
    assert exit_code(results) == expected


def test_settings_read_the_tree_and_flag_unknown_keys(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.health_checks]\nquick_train_epochs = 1\njson_dirr = "x"\n[tool.maintenance]\nexclude = ["vendored"]\n'
    )
    settings = load_settings(tmp_path, {"min_scale_ratio": 0.2})
    assert settings.quick_train_epochs == 1 and settings.min_scale_ratio == 0.2
    assert "vendored" in settings.exclude and ".venv" in settings.exclude
    assert "json_dirr" in caplog.text


def test_memo_computes_once_and_remembers_failures(ctx: CheckContext) -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("boom")

    for _ in range(2):
        with pytest.raises(RuntimeError, match="boom"):
            ctx.memo("x", broken)
    assert len(calls) == 1
    assert ctx.memo("y", lambda: 41 + 1) == 42 and ctx.peek("y") == 42 and ctx.peek("x") is None


def test_every_registered_check_declares_a_frozen_typed_details_class() -> None:
    for check in all_checks():
        kind = check.details_type
        assert issubclass(kind, Details), check.code()
        params = kind.__dataclass_params__  # type: ignore[attr-defined]
        assert params.frozen, f"{check.code()}: {kind.__name__} must be frozen"
        assert kind.__module__ == check.__module__ or kind is Details, (
            f"{check.code()}: its details type lives next to it, not in {kind.__module__}"
        )


class HC913(Check):
    """Runs the tree's own code, which raises."""

    name = "tree-raises"

    def check(self, ctx: CheckContext) -> Outcome:
        import runpy

        runpy.run_path(str(ctx.root / "model_code.py"))["forward"]()
        return Outcome.passed("ran")


def test_an_error_raised_by_the_trees_own_code_fails_the_check_naming_its_line(ctx: CheckContext) -> None:
    (ctx.root / "model_code.py").write_text("def forward():\n    raise ValueError('shape mismatch')\n")
    (result,) = run_checks([HC913], ctx, progress=False)
    assert result.status == Status.FAIL
    assert "the code under check failed: ValueError: shape mismatch at model_code.py:2" in result.message
    assert not result.details.tool_error


def test_the_docs_table_names_each_checks_file_and_marks_the_atft_only_ones() -> None:
    rows: dict[str, str] = {}  # the first table of the docs naming a code: the table of the checks
    for line in (Path(__file__).parents[2] / "docs" / "health_checks.md").read_text().splitlines():
        if line.startswith("| HC0") and line.count("|") >= 5:
            rows.setdefault(line.split("|")[1].strip(), line.split("|")[3].strip())
    for check in all_checks():
        where = rows.get(check.code(), "")
        assert f"`{Path(check.source_file()).name}`" in where, (check.code(), where)
        assert ("(atft only)" in where) == check.atft_only, (check.code(), where)
        assert Path(Path(__file__).parents[2], check.source_file()).is_file()


def test_each_checks_module_holds_its_checks_in_code_order() -> None:
    by_module: dict[str, list[type[Check]]] = {}
    for check in all_checks():
        by_module.setdefault(check.__module__, []).append(check)
    for module, checks in by_module.items():
        in_source = sorted(checks, key=lambda c: inspect.getsourcelines(c)[1])
        assert [c.code() for c in in_source] == sorted(c.code() for c in checks), module
