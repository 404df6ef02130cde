"""Golden-file test of the markdown report rendered from a fixed list of results.

Regenerate (only when the rendering is meant to change) with
`python -m pytest tests/health_checks/test_markdown_golden.py --update-golden` (or UPDATE_GOLDEN=1) and
review the diff of tests/health_checks/golden/report.md like code.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from health_checks.checks.imports import ImportDetails
from health_checks.checks.lint import LintDetails
from health_checks.checks.metrics import MetricsDetails
from health_checks.checks.training import DiagnosticsDetails, SpreadDetails, TrainingDetails
from health_checks.core import CheckResult, Details, RunDetails, Severity, Status
from health_checks.markdown import render_markdown
from health_checks.report import DIGEST_RE, build_report, digest

GOLDEN = Path(__file__).parent / "golden" / "report.md"


def fixed_results() -> list[CheckResult]:
    horizons = [
        {
            "horizon": "1d",
            "ic": 0.021,
            "rank_ic": 0.018,
            "icir": 0.15,
            "sharpe": 0.62,
            "cost_bps": 10.0,
            "max_drawdown": -0.08,
            "pred_std": 0.41,
            "scale_ratio": 0.37,
            "n_days": 240,
        },
        {
            "horizon": "5d",
            "ic": 0.012,
            "rank_ic": 0.01,
            "icir": 0.09,
            "sharpe": 0.31,
            "cost_bps": 10.0,
            "max_drawdown": -0.12,
            "pred_std": 0.0,
            "scale_ratio": 0.0,
            "n_days": 240,
        },
    ]
    return [
        CheckResult(
            "HC001",
            "imports",
            "Every module of the tree imports",
            Status.FAIL,
            Severity.CRITICAL,
            "1 of 12 modules fail to import: pkg/settings.py:15 ValueError: mutable default",
            ImportDetails(
                modules=12,
                failed=1,
                failures=[
                    {
                        "module": "pkg.settings",
                        "file": "pkg/settings.py",
                        "line": 15,
                        "error": "ValueError: mutable default <class 'FeatureParams'> for field features",
                        "source": "features: FeatureParams = FeatureParams()",
                    }
                ],
            ),
            2.3,
            "python -m maintenance.fix --apply --select MNT002 pkg/settings.py",
        ),
        CheckResult(
            "HC002",
            "lint",
            "Lint counts by rule, with the delta from the previous report",
            Status.WARN,
            Severity.MINOR,
            "ruff reports 4 findings (-2 since the previous report): F401 ×3, F821 ×1",
            LintDetails(
                total=4,
                counts={"F401": 3, "F821": 1},
                names={"F401": "unused-import", "F821": "undefined-name"},
                previous_total=6,
                delta=-2,
            ),
            0.2,
            "ruff check --fix .",
        ),
        CheckResult(
            "HC005", "hygiene", "The tree is clean", Status.PASS, Severity.MINOR, "clean tree", Details(), 0.1
        ),
        CheckResult(
            "HC011",
            "forward-contract",
            "The model forward contract matches its golden file",
            Status.SKIP,
            Severity.CRITICAL,
            "the tree has no atft package",
            RunDetails(not_applicable=True),
            0.0,
        ),
        CheckResult(
            "HC020",
            "quick-train",
            "A quick training on the embedded market runs and learns",
            Status.PASS,
            Severity.CRITICAL,
            "2 epochs on pse in 61.0 s",
            TrainingDetails(
                market="pse",
                epochs=2,
                epochs_run=2,
                best_epoch=2,
                seconds=61.0,
                stop_reason="epochs",
                train_days=1668,
                val_days=223,
            ),
            61.0,
        ),
        CheckResult(
            "HC021",
            "prediction-spread",
            "Predictions keep their spread at every horizon",
            Status.FAIL,
            Severity.CRITICAL,
            "predictions collapsed at 5d; the spread collapses at stage `head_5d`",
            SpreadDetails(
                model="ATFT-GAT",
                min_scale_ratio=0.05,
                max_scale_ratio=2.0,
                horizons=[
                    {
                        "horizon": h["horizon"],
                        "pred_std": h["pred_std"],
                        "model_scale_ratio": h["pred_std"] / 0.95,  # the z-scored target's std is ~0.95
                        "scale_ratio": h["scale_ratio"],
                        "constant_day_share": 0.0 if h["pred_std"] else 1.0,
                    }
                    for h in horizons
                ],
                collapse_stage="head_5d",
            ),
            1.2,
            "python -m atft diagnose --split val",
        ),
        CheckResult(
            "HC022",
            "diagnostics",
            "Per-stage diagnostics find no collapse",
            Status.FAIL,
            Severity.MAJOR,
            "the spread across stocks collapses at stage `head_5d`",
            DiagnosticsDetails(
                collapse_stage="head_5d",
                plot="docs/improvements/2026-01-02-diagnostics.png",
                rows=[
                    {"stage": "vsn", "std": 0.8},
                    {"stage": "head_1d", "std": 0.4},
                    {"stage": "head_5d", "std": 0.0},
                ],
            ),
            0.9,
        ),
        CheckResult(
            "HC023",
            "model-metrics",
            "IC, RankIC and Sharpe hold up",
            Status.WARN,
            Severity.MAJOR,
            "IC fell by more than 0.01 since the previous report at 1d 0.0350 → 0.0210",
            MetricsDetails(
                split="val",
                n_days=240,
                horizons=horizons,
                best_baseline={
                    "1d": {"name": "ridge", "ic": 0.025},
                    "5d": {"name": "momentum", "ic": 0.011},
                },
                baselines={
                    "ridge": {"1d": {"ic": 0.025}, "5d": {"ic": 0.009}},
                    "momentum": {"1d": {"ic": 0.004}, "5d": {"ic": 0.011}},
                },
            ),
            3.0,
        ),
    ]


def fixed_previous() -> dict:
    return {
        "timestamp": "2026-01-01T09:00:00+00:00",
        "git": {"commit": "a" * 40, "short": "aaaaaaaa"},
        "checks": [
            {
                "code": "HC001",
                "name": "imports",
                "title": "Every module of the tree imports",
                "status": "pass",
            },
            {"code": "HC002", "name": "lint", "title": "Lint counts", "status": "warn"},
            {
                "code": "HC021",
                "name": "prediction-spread",
                "title": "Predictions keep their spread",
                "status": "fail",
            },
            {"code": "HC022", "name": "diagnostics", "title": "Per-stage diagnostics", "status": "pass"},
        ],
        "lint": {"F401": 3, "F821": 3},
        "model": [{"horizon": "1d", "ic": 0.035, "rank_ic": 0.03, "sharpe": 0.9}],
    }


def fixed_report() -> dict:
    results = fixed_results()
    report = build_report(
        results=results,
        exit_code=2,
        timestamp=datetime(2026, 1, 2, 10, 30, 0, tzinfo=UTC),
        root=".",
        git={"commit": "b" * 40, "short": "bbbbbbbb", "branch": "main", "dirty": False},
        command="python -m health_checks --apply-fixes",
        duration=75.4,
        commits={
            "since": "a" * 40,
            "note": None,
            "commits": [
                {
                    "sha": "c" * 40,
                    "short": "cccccccc",
                    "date": "2026-01-01 12:00",
                    "author": "dev",
                    "message": "Fix the export: call model(batch)",
                    "files": {"atft/export.py": {"insertions": 18, "deletions": 7}},
                    "insertions": 18,
                    "deletions": 7,
                },
                {
                    "sha": "d" * 40,
                    "short": "dddddddd",
                    "date": "2026-01-01 08:00",
                    "author": "atft-autopilot",
                    "message": "Autonomous maintenance 2026-01-01: 2 fixes (2 proven, 0 not run by a test, 0 reverted)",
                    "files": {"pkg/io.py": {"insertions": 2, "deletions": 2}},
                    "insertions": 2,
                    "deletions": 2,
                },
            ],
        },
        fixes={
            "applied": [
                {
                    "path": "pkg/cli.py",
                    "line": 515,
                    "code": "MNT001",
                    "message": "unreachable code after sys.exit",
                    "before": "main()\nprint('dead')",
                    "after": "main()",
                    "status": "proven",
                    "tests": ["tests.test_cli.test_main_exits"],
                },
                {
                    "path": "pkg/io.py",
                    "line": 3,
                    "code": "F541",
                    "message": "f-string without any placeholders",
                    "before": "name = f'io'",
                    "after": "name = 'io'",
                    "status": "unexercised",
                    "tests": [],
                },
            ],
            "withheld": [],
            "verified": True,
            "counts_before": {"MNT001": 1, "F401": 4, "F541": 1},
            "counts_after": {"F401": 4},
            "changed_files": ["pkg/cli.py", "pkg/io.py"],
            "reverted": [{"path": "pkg/paths.py", "code": "F401", "tests": "tests.test_paths::test_os"}],
            "errors": [],
        },
        previous_path="_logs/health-checks/health-check-20260101-090000.json",
        json_path="_logs/health-checks/health-check-20260102-103000.json",
        markdown_path="docs/improvements/2026-01-02.md",
    )
    report["environment"] = {"python": "3.11", "torch": "2.13.0", "cpus": 2, "platform": "Linux"}
    return report


def test_markdown_matches_the_golden_file(update_golden: bool) -> None:
    text = render_markdown(fixed_report(), fixed_previous())
    if update_golden or not GOLDEN.exists():
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8"), (
        "the markdown rendering changed; if intended, rerun with --update-golden and review the diff"
    )


def test_markdown_is_a_rendering_of_the_json() -> None:
    report = fixed_report()
    through_json = json.loads(json.dumps(report))
    assert render_markdown(through_json, fixed_previous()) == render_markdown(report, fixed_previous())


def test_report_has_the_sections_of_the_seed_report() -> None:
    text = render_markdown(fixed_report(), fixed_previous())
    for heading in (
        "## Summary",
        "**Impact**",
        "## Issues Identified",
        "## Fixes Since the Previous Report",
        "### This run",
        "## Commits Since the Previous Report",
        "## Testing & Verification",
        "## Linting",
        "## Model Health",
        "## Diagnostics",
        "## File Changes Summary",
        "## Known Issues",
        "## Recommendations",
        "## References",
    ):
        assert heading in text, heading
    assert "pass → fail (regressed)" in text  # HC001 was passing in the previous report
    assert "Lint findings: 6 → 4 (-2)" in text
    assert "IC 0.035 → 0.021 (-0.014)" in text
    assert "  - main()\n  - print('dead')\n  + main()" in text  # the applied fix, before and after
    assert "`cccccccc`" in text and "+18, -7" in text
    assert "![Per-stage spread of the activations](2026-01-02-diagnostics.png)" in text
    assert "ridge 0.0250" in text
    assert "python -m maintenance.fix --apply --select MNT002 pkg/settings.py" in text
    # HC021 was already failing: a known issue, not a new one
    known = text.split("## Known Issues")[1].split("## Recommendations")[0]
    assert "Predictions keep their spread" in known
    issues = text.split("## Issues Identified")[1].split("## Testing")[0]
    assert "Predictions keep their spread" not in issues and "Every module of the tree imports" in issues
    assert (
        "Not applicable to this tree" in known
        and "HC011" not in text.split("## Recommendations")[1].split("## References")[0]
    )


def test_digest_embedded_in_the_markdown_is_the_digest_of_the_json() -> None:
    report = fixed_report()
    embedded = json.loads(DIGEST_RE.search(render_markdown(report, None))[1])
    assert embedded == json.loads(json.dumps(digest(report)))
    assert embedded["lint"] == {"F401": 3, "F821": 1} and embedded["model"][0]["ic"] == 0.021


def test_the_report_reads_true() -> None:
    """Each number has one name and its unit, headings state findings, commits are not fixes."""
    report = fixed_report()
    text = render_markdown(report, fixed_previous())
    assert text.startswith("# Autonomous Improvements - 2026-01-02")
    no_fix = {**report, "maintenance_fixes": None}
    assert render_markdown(no_fix, fixed_previous()).startswith("# Health report - 2026-01-02")
    nothing_applied = {**report, "maintenance_fixes": {**report["maintenance_fixes"], "applied": []}}
    assert render_markdown(nothing_applied, fixed_previous()).startswith("# Health report - ")
    # the two spread ratios are named apart; the Sharpe says its cost
    model = text.split("## Model Health")[1].split("## Diagnostics")[0]
    assert "| Spread ratio (model units) | Pred std / raw return std |" in model
    assert "Sharpe (net of 10 bps)" in model and "Scale ratio" not in model
    assert "Sharpe (net of 10 bps) 0.900 → 0.620" in text
    # a known issue's heading is what was found (HC021's message), not the check's title
    known = text.split("## Known Issues")[1].split("## Recommendations")[0]
    headings = [line for line in known.splitlines() if line.startswith("### ")]
    hc021 = next(r for r in report["checks"] if r["code"] == "HC021")
    assert any(hc021["message"][:40] in line for line in headings)
    titles = [r["title"] for r in report["checks"]]
    assert headings and not any(title in line for line in headings for title in titles)
    # fixes by group with their tests; the maintenance commit is a fix, the other commit is a commit
    fixes = text.split("## Fixes Since the Previous Report")[1].split("## Issues Identified")[0]
    assert fixes.index("#### ✅ Proven (1)") < fixes.index("run by `tests.test_cli.test_main_exits`")
    assert fixes.index("#### ⚠️ Unexercised (1)") < fixes.index("`F541` `pkg/io.py:3`")
    assert "#### ❌ Reverted (1)" in fixes and "broke tests.test_paths::test_os" in fixes
    assert "`dddddddd`" in fixes and "`cccccccc`" not in fixes
    commits = text.split("## Commits Since the Previous Report")[1].split("## File Changes")[0]
    assert "`cccccccc`" in commits and "`dddddddd`" not in commits
    # the fixes come before the issues: a reviewer reads them first
    assert text.index("## Fixes Since the Previous Report") < text.index("## Issues Identified")


def test_rerun_commands_keep_the_root() -> None:
    report = {**fixed_report(), "root": "../other repo"}
    text = render_markdown(report, fixed_previous())
    assert "python -m health_checks --root '../other repo' --only CODE_OR_NAME" in text
    assert "python -m health_checks --only" not in text


def test_moved_metrics_are_explained_or_shown_as_non_determinism() -> None:
    report = fixed_report()
    text = render_markdown(report, fixed_previous())
    assert (
        "The metrics moved with changes to what the quick training reads: `atft/export.py` (cccccccc)" in text
    )
    docs_only = {
        **report,
        "commits": {
            "since": "a" * 40,
            "note": None,
            "commits": [
                {**report["commits"]["commits"][0], "files": {"README.md": {"insertions": 1, "deletions": 0}}}
            ],
        },
    }
    text = render_markdown(docs_only, fixed_previous())
    assert "❌ The metrics moved although no commit since the previous report changed the model code" in text
    held = {**fixed_previous(), "model": [{"horizon": "1d", "ic": 0.021, "rank_ic": 0.018, "sharpe": 0.62}]}
    assert "The metrics moved" not in render_markdown(docs_only, held)


def test_a_check_that_stops_applying_is_no_regression() -> None:
    report = fixed_report()
    for check in report["checks"]:
        if check["code"] == "HC022":
            check["status"] = "skip"
    text = render_markdown(report, fixed_previous())
    assert "`HC022` Per-stage diagnostics find no collapse: pass → skip (not checked this run)" in text
    assert "pass → skip (regressed)" not in text
