"""Every registered codemod's own VALID / INVALID examples, run by one parametrized test (Fixit style)."""

from __future__ import annotations

import ast

import pytest

from maintenance.codemods import REGISTRY, Codemod, Invalid
from maintenance.engine import analyze_text

INVALID_CASES = [
    pytest.param(codemod, example, id=f"{codemod.CODE}-invalid-{i}")
    for codemod in REGISTRY
    for i, example in enumerate(codemod.INVALID)
]
VALID_CASES = [
    pytest.param(codemod, example, id=f"{codemod.CODE}-valid-{i}")
    for codemod in REGISTRY
    for i, example in enumerate(codemod.VALID)
]


@pytest.mark.parametrize(("codemod", "example"), INVALID_CASES)
def test_invalid_example_is_found_and_fixed(codemod: type[Codemod], example: Invalid) -> None:
    result = analyze_text(example.code, "example.py", [codemod.CODE], unsafe_fixes=example.unsafe_fixes)
    codes = [f.code for f in result.findings]
    assert codemod.CODE in codes, f"{codemod.CODE} missed:\n{example.code}"
    if example.expected is None:
        assert result.new_source is None, f"report-only example was rewritten:\n{result.new_source}"
        assert not any(f.fixable for f in result.findings)
    else:
        assert result.new_source == example.expected
        ast.parse(result.new_source)
        again = analyze_text(
            result.new_source, "example.py", [codemod.CODE], unsafe_fixes=example.unsafe_fixes
        )
        assert again.new_source is None, "the fix is not idempotent"


@pytest.mark.parametrize(("codemod", "example"), VALID_CASES)
def test_valid_example_is_left_alone(codemod: type[Codemod], example: str) -> None:
    result = analyze_text(example, "example.py", [codemod.CODE], unsafe_fixes=True)
    assert [f.code for f in result.findings] == [], f"false positive:\n{example}\n{result.findings}"
    assert result.new_source is None


@pytest.mark.parametrize("codemod", REGISTRY, ids=lambda c: c.CODE)
def test_each_codemod_has_enough_examples_and_documentation(codemod: type[Codemod]) -> None:
    assert len(codemod.INVALID) >= 8
    assert len(codemod.VALID) >= 8
    doc = codemod.documentation()
    for heading in (
        "## What it does",
        "## Why is this bad?",
        "## Example",
        "## Use instead",
        "## Fix safety",
    ):
        assert heading in doc, f"{codemod.CODE} docstring lacks {heading!r}"


def test_light_code_list_matches_the_registry() -> None:
    from maintenance.codes import MNT_CODES

    assert tuple(c.CODE for c in REGISTRY) == MNT_CODES


def test_the_code_table_names_each_rule_and_its_file() -> None:
    import inspect
    from pathlib import Path

    from maintenance.codes import RULES

    repo = Path(__file__).resolve().parents[2]
    assert [(r.code, r.name) for r in RULES] == [(c.CODE, c.NAME) for c in REGISTRY]
    for rule, codemod in zip(RULES, REGISTRY, strict=True):
        assert Path(inspect.getsourcefile(codemod)).resolve() == (repo / rule.file).resolve(), rule.code
        assert codemod.__name__ == rule.name


def test_list_and_readme_name_the_file_of_every_code(capsys) -> None:
    from pathlib import Path

    from maintenance.codes import PARSE_ERROR, RULES
    from maintenance.fix import main

    assert main(["--list"]) == 0
    listing = capsys.readouterr().out
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for rule in (PARSE_ERROR, *RULES):
        assert f"File: {rule.file}" in listing, rule.code
        row = next(line for line in readme.splitlines() if line.startswith(f"| {rule.code} |"))
        assert f"`{rule.file}`" in row, f"README's row of {rule.code} does not name {rule.file}"


def test_codes_and_names_are_unique() -> None:
    codes = [c.CODE for c in REGISTRY]
    names = [c.NAME for c in REGISTRY]
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names)
    assert all(code.startswith("MNT") and code != "MNT000" for code in codes)
