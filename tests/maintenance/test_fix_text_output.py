"""The dry run's text output: ruff's diff with its files in path order (ruff prints them as its threads
finish, so two runs of the same check came out in different orders, seen on qlib; `ruff_runner.by_file`
sorts whole file sections and never cuts a hunk), and findings printed as written (no rich emoji codes)."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from maintenance import ruff_runner


def _section(name: str, body: list[str]) -> str:
    removed = [f"-{line}" for line in body]
    added = [f"+{line.upper()}" for line in body]
    header = f"--- {name}\n+++ {name}\n@@ -1,{len(body)} +1,{len(body)} @@\n"
    return header + "".join(f"{line}\n" for line in removed + added)


# removed lines that read like a file header (`-- x` becomes `--- x`), form feeds, an `@@` in the text
TRICKY = st.lists(st.sampled_from(["-- x", "\x0cpage", "@@ not a hunk", "a = 1", "++ y", ""]), min_size=1)


@given(st.lists(TRICKY, min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_sections_come_out_whole_and_in_path_order(bodies: list[list[str]], rng: random.Random) -> None:
    sections = [_section(f"pkg/m{i}.py", body) for i, body in enumerate(bodies)]
    shuffled = sections[:]
    rng.shuffle(shuffled)
    assert ruff_runner.by_file("".join(shuffled)) == "".join(sections)


def test_a_real_ruff_diff_is_sorted_and_loses_nothing(tmp_path: Path) -> None:
    for name in ("b.py", "a.py", "c.py"):
        (tmp_path / name).write_text("import os\nimport sys\n\nprint(sys.argv)\n")
    raw = ruff_runner._run(
        ["check", "--diff", "--exit-zero", "--select", "F401", "--", str(tmp_path)], tmp_path
    )
    ordered = ruff_runner.by_file(raw.stdout)
    headers = [line for line in ordered.splitlines() if line.startswith("--- ")]
    assert len(headers) == 3 and headers == sorted(headers)
    assert sorted(ordered.splitlines()) == sorted(raw.stdout.splitlines())
    # ruff's summary line ends the diff, whichever file it printed last
    assert ordered.splitlines()[-1] == "Would fix 3 errors."


@given(st.permutations(range(3)))
def test_the_summary_line_stays_at_the_end_whatever_the_file_order(order: list[int]) -> None:
    # as ruff prints it: a blank line after each file, its summary after the last
    sections = [_section(f"pkg/m{i}.py", ["import os"]) + "\n" for i in range(3)]
    trailer = "Would fix 3 errors.\n"
    raw = "".join(sections[i] for i in order) + trailer
    assert ruff_runner.by_file(raw) == "".join(sections) + trailer


def test_a_finding_on_line_100_prints_its_line_number(tmp_path: Path, capsys) -> None:
    """`:100:` is a rich emoji code: printed through rich's renderer, `a.py:100:5` came out as `a.py💯5`."""
    from maintenance.fix import main

    (tmp_path / "pyproject.toml").write_text('[tool.maintenance]\nselect = ["ruff"]\n')
    (tmp_path / "a.py").write_text("import sys\n" + "\n" * 98 + "import os\nprint(sys.argv)\n")
    main([str(tmp_path), "--root", str(tmp_path), "--no-cache", "--no-diff"])
    out = capsys.readouterr().out
    assert "a.py:100:8: F401" in out and "\U0001f4af" not in out
