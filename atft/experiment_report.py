"""What an experiment measured (`ExperimentResult`), its markdown tables, and the goal of issue 24.

`atft.experiment` runs the seeds, variants and baselines; this module only holds and renders what they
measured: the seed mean ± std of every variant, its seed ensemble, the paired Newey-West tests, per-year
RankIC at the judged horizon, the tuned LightGBM's budget, every variant tried, and the goal, criterion by
criterion (`goal_rows`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from atft.lightgbm_tuned import NAME as TUNED

FULL = "full"  # the variant of the config as given
ENSEMBLE = ":ensemble"  # suffix of a variant's seed-ensemble row
GOAL_MARGIN = 0.010  # the full model's ensemble must beat the tuned LightGBM by this RankIC ...
GOAL_T = 2.0  # ... with a paired Newey-West t of at least this


@dataclass
class ExperimentResult:
    """Everything the experiment measured; `to_dict` is experiment.json, `markdown` is experiment.md."""

    market: str
    split: str
    seeds: list[int]
    variants: dict[str, str]  # variant -> label
    runs: list[dict[str, Any]]  # one per (variant, seed): val score, best epoch, seconds, test metrics
    summary: list[dict[str, Any]]  # one per (model, horizon): mean/std over seeds of SUMMARY_KEYS
    paired: list[dict[str, Any]]  # one per (variant, baseline, horizon): the paired HAC test
    seconds: float
    command: str = ""
    period: dict[str, str] = field(default_factory=dict)
    horizon: int = 5  # the judged horizon (train.select_horizon, else 5)
    ensembles: list[dict[str, Any]] = field(default_factory=list)  # summary rows of each variant's ensemble
    paired_ensembles: list[dict[str, Any]] = field(default_factory=list)  # the ensembles' paired tests
    per_year: dict[str, dict[str, float]] = field(
        default_factory=dict
    )  # model -> year -> RankIC at `horizon`
    tuned: list[dict[str, Any]] = field(default_factory=list)  # each seed's study of the tuned LightGBM
    tried: list[dict[str, Any]] = field(default_factory=list)  # every variant: label, changes, seeds, val
    goal: list[dict[str, Any]] = field(default_factory=list)  # each criterion of issue 24: value, met

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(json_safe(self.__dict__)))

    def markdown(self) -> str:
        """Two tables: RankIC mean ± std per horizon (models and baselines), then the paired tests."""
        horizons = sorted({row["horizon"] for row in self.summary})
        lines = [
            f"### {self.market} {self.split} {self.period.get('first', '')}..{self.period.get('last', '')}, "
            f"{len(self.seeds)} seeds {self.seeds}",
            "",
        ]
        if self.command:
            lines += [f"`{self.command}` ({self.seconds / 60:.0f} min)", ""]
        lines += [
            "RankIC, mean ± std over seeds (baselines are deterministic: one value); "
            "val = validation RankIC of the selected epoch at train.select_horizon (the mean over horizons "
            "when it is none), the score that chose the epoch.",
            "",
            "| model | " + " | ".join(f"{h}d RankIC" for h in horizons) + " | 5d IC | 5d Sharpe | val |",
            "|---|" + "---:|" * (len(horizons) + 3),
        ]
        for model in dict.fromkeys(row["model"] for row in self.summary):
            rows = {row["horizon"]: row for row in self.summary if row["model"] == model}
            cells = [_pm(rows[h], "rank_ic") if h in rows else "" for h in horizons]
            five = rows.get(5, {})
            val = [r["val_score"] for r in self.runs if r["variant"] == model]
            val_cell = mean_std_text(val) if val else ""
            cells += [_pm(five, "ic", 4), _pm(five, "sharpe", 2), val_cell]
            lines.append(f"| {self.variants.get(model, model)} | " + " | ".join(cells) + " |")
        lines += [
            "",
            f"Paired test on the daily {self.horizon}d RankIC difference model - baseline (Newey-West, lag "
            "h - 1), on the seed-mean daily RankIC and on each ensemble's; `seeds p<.05`: seeds that alone "
            "beat the baseline at p < 0.05. Every other horizon is in experiment.json.",
            "",
            "| model | baseline | h | ΔRankIC | t | p | seeds p<.05 |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for row in (r for r in [*self.paired, *self.paired_ensembles] if r["horizon"] == self.horizon):
            lines.append(
                f"| {self._label(row['variant'])} | {self._label(row['baseline'])} | {row['horizon']}d "
                f"| {_fmt(row['mean_diff'], '{:+.4f}')} | {_fmt(row['t'], '{:+.2f}')} | {_fmt(row['p'], '{:.3g}')} "
                f"| {row['seeds_significant']}/{row['n_seeds']} |"
            )
        return "\n".join(lines + self._extra_sections()) + "\n"

    def _label(self, name: str) -> str:
        if name.endswith(ENSEMBLE):
            variant = name.removesuffix(ENSEMBLE)
            return f"{self.variants.get(variant, variant)}, ensemble of {len(self.seeds)} seeds"
        return self.variants.get(name, name)

    def _extra_sections(self) -> list[str]:
        """The seed ensembles, per-year RankIC, the tuned LightGBM's budget, every variant tried, the goal."""
        lines: list[str] = []
        h = self.horizon
        if self.ensembles:
            horizons = sorted({row["horizon"] for row in self.ensembles})
            lines += [
                "",
                f"Seed ensembles: the metrics of the mean prediction over the {len(self.seeds)} seeds (what a "
                "user deploys), beside the seed mean ± std above.",
                "",
                "| model | " + " | ".join(f"{x}d RankIC" for x in horizons) + f" | {h}d IC | {h}d Sharpe |",
                "|---|" + "---:|" * (len(horizons) + 2),
            ]
            for name in dict.fromkeys(row["model"] for row in self.ensembles):
                rows = {row["horizon"]: row for row in self.ensembles if row["model"] == name}
                cells = [_pm(rows[x], "rank_ic") if x in rows else "" for x in horizons]
                cells += [_pm(rows.get(h, {}), "ic"), _pm(rows.get(h, {}), "sharpe", 2)]
                lines.append(f"| {self._label(name)} | " + " | ".join(cells) + " |")
        if self.per_year:
            years = sorted({year for values in self.per_year.values() for year in values})
            lines += [
                "",
                f"{h}d RankIC per year (ensembles for the model variants).",
                "",
                "| model | " + " | ".join(years) + " |",
                "|---|" + "---:|" * len(years),
            ]
            for name, values in self.per_year.items():
                cells = [_fmt(values.get(year), "{:.4f}") for year in years]
                lines.append(f"| {self._label(name)} | " + " | ".join(cells) + " |")
        if self.tuned:
            first = self.tuned[0]
            lines += [
                "",
                f"Tuned LightGBM (`lightgbm_tuned`): {first['trials']} optuna TPE trials per seed, each seed's "
                f"study maximising the validation {first['horizon']}d RankIC (the test split unseen), then "
                f"bagged over seeds {[t['seed'] for t in self.tuned]}; the bag is the mean prediction.",
                "",
                f"| seed | val {first['horizon']}d RankIC | {self.split} {first['horizon']}d RankIC | trees by "
                "horizon | parameters |",
                "|---:|---:|---:|---|---|",
            ]
            for run in self.tuned:
                params = ", ".join(f"{k} {_fmt(v, '{:.3g}')}" for k, v in run["best_params"].items())
                trees = ", ".join(f"{k}d {v}" for k, v in run["trees"].items())
                lines.append(
                    f"| {run['seed']} | {_fmt(run['best_value'], '{:.4f}')} "
                    f"| {_fmt(run.get('test_rank_ic'), '{:.4f}')} | {trees} | {params} |"
                )
        if self.tried:
            lines += [
                "",
                "Every variant tried (validation RankIC of the selected epoch, mean ± std over seeds).",
                "",
                "| variant | config changes | seeds | val RankIC | epochs run | stop |",
                "|---|---|---|---:|---|---|",
            ]
            for row in self.tried:
                changes = "; ".join(f"{k}={v}" for k, v in row["changes"].items()) or "(the config as given)"
                lines.append(
                    f"| {row['label']} | {changes} | {row['seeds']} | {row['val']} | {row['epochs_run']} "
                    f"| {row['stop_reasons']} |"
                )
        if self.goal:
            met = all(row["met"] for row in self.goal)
            lines += [
                "",
                f"Goal of issue 24: {'met' if met else 'NOT met'}.",
                "",
                "| criterion | value | met |",
            ]
            lines += ["|---|---|---|"]
            for row in self.goal:
                lines.append(f"| {row['criterion']} | {row['value']} | {'yes' if row['met'] else 'no'} |")
        return lines


def _fmt(value: Any, pattern: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return pattern.format(value)


def mean_std_text(values: Sequence[float], digits: int = 4) -> str:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return "n/a"
    if len(finite) == 1:
        return f"{finite[0]:.{digits}f}"
    return f"{np.mean(finite):.{digits}f} ± {np.std(finite, ddof=1):.{digits}f}"


def _pm(row: dict[str, Any], key: str, digits: int = 4) -> str:
    if f"{key}_mean" not in row:
        return ""
    mean, std = row[f"{key}_mean"], row[f"{key}_std"]
    if mean is None or not math.isfinite(mean):
        return "n/a"
    if row["n_seeds"] < 2 or std is None or not math.isfinite(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def json_safe(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become None, numpy scalars become Python numbers, tuples become lists."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def goal_rows(result: ExperimentResult, stages: dict[str, str]) -> list[dict[str, Any]]:
    """Issue 24's goal, criterion by criterion, when the experiment holds what it needs (else no rows).

    The full model's ensemble at least GOAL_MARGIN above the tuned LightGBM at the judged horizon with a
    paired Newey-West t >= GOAL_T, ahead in every test year; each stage ablation (FAN, GAT, temporal
    encoder; `stages` maps each ablation's variant name to its label) lowering the mean validation
    RankIC when removed.
    """
    h, full = result.horizon, f"{FULL}{ENSEMBLE}"
    ours = next((r for r in result.ensembles if r["model"] == full and r["horizon"] == h), None)
    theirs = next((r for r in result.summary if r["model"] == TUNED and r["horizon"] == h), None)
    if ours is None or theirs is None:
        return []
    margin = ours["rank_ic_mean"] - theirs["rank_ic_mean"]
    test = next(r for r in result.paired_ensembles if r["variant"] == full and r["baseline"] == TUNED)
    rows = [
        {
            "criterion": f"full ensemble {h}d RankIC >= tuned LightGBM + {GOAL_MARGIN}",
            "value": f"{ours['rank_ic_mean']:.4f} vs {theirs['rank_ic_mean']:.4f} ({margin:+.4f})",
            "met": bool(margin >= GOAL_MARGIN),
        },
        {
            "criterion": f"paired Newey-West t >= {GOAL_T}",
            "value": _fmt(test["t"], "{:+.2f}"),
            "met": bool(math.isfinite(test["t"]) and test["t"] >= GOAL_T),
        },
    ]
    ours_years, theirs_years = result.per_year.get(full, {}), result.per_year.get(TUNED, {})
    for year in sorted(ours_years):
        diff = ours_years[year] - theirs_years.get(year, math.nan)
        rows.append(
            {
                "criterion": f"ahead of the tuned LightGBM in {year}",
                "value": _fmt(diff, "{:+.4f}"),
                "met": bool(math.isfinite(diff) and diff > 0),
            }
        )
    val = {row["variant"]: row["val_mean"] for row in result.tried}
    for name, label in stages.items():
        if name not in val:
            rows.append({"criterion": f"{label}: lower validation RankIC", "value": "not run", "met": False})
            continue
        drop = val[FULL] - val[name]
        rows.append(
            {
                "criterion": f"{label}: lower validation RankIC than the full model",
                "value": f"{val[name]:.4f} vs {val[FULL]:.4f} ({-drop:+.4f})",
                "met": bool(drop > 0),
            }
        )
    return rows
