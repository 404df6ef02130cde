"""`python -m atft data`: the summary and quality report, JSON output, clear usage errors."""

from __future__ import annotations

import json

import pytest

from atft.cli import main


def run_cli(argv: list[str]) -> int:
    return main(["data", *argv])


def test_json_summary_of_the_synthetic_market(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--market", "synthetic", "--no-cache", "--synthetic-stocks", "30", "--format", "json"]
    assert run_cli(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["stocks"] == 30 and summary["days"] == 400
    assert set(summary["splits"]) == {"train", "val", "test"}
    assert summary["quality"]["stocks_kept"] == 30
    assert set(summary["oracle_ic"]) == {"1", "5", "10", "20"}
    assert len(summary["features"]) == 18


def test_text_summary_prints_the_quality_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--market", "synthetic", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "data quality" in out and "masked_jumps" in out and "oracle IC" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--market", "panel", "--no-cache"], "--market panel needs --data"),
        (["--market", "sp500", "--data", "x.csv", "--no-cache"], "drop one of them"),
        (["--market", "synthetic", "--min-coverage", "1.5", "--no-cache"], "min_coverage"),
        (["--market", "synthetic", "--lookback", "0", "--no-cache"], "lookback"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and fragment in err
