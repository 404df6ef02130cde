"""IC / RankIC / Sharpe per horizon against the previous report and the baselines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from health_checks import ml
from health_checks.checks.training import HC020, HC021, SpreadDetails, TrainingDetails
from health_checks.context import CheckContext
from health_checks.core import Check, Details, Outcome, Severity, SkipCheck, Status
from health_checks.render import ReportView, delta, fmt, horizon_order, table
from health_checks.result import Report

KEYS = ("ic", "rank_ic", "icir", "sharpe", "cost_bps", "max_drawdown", "pred_std", "scale_ratio", "n_days")
# a daily-rebalanced long-short Sharpe above this at 1d is more likely bid-ask bounce than skill
BOUNCE_SHARPE = 5.0


def baseline_table(ctx: CheckContext, split: str) -> dict[str, dict[str, dict[str, Any]]]:
    """``{baseline: {"1d": {"ic": ..., "rank_ic": ..., "sharpe": ...}}}`` from ``atft.evaluate``."""

    def compute() -> dict[str, dict[str, dict[str, Any]]]:
        from atft.baselines import run_baselines
        from atft.evaluate import evaluate_models

        under = ml.model_under_check(ctx)
        report = evaluate_models(under.dataset, split, run_baselines(under.dataset, split))
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for row in report.to_dict()["results"]:
            per_model = found.setdefault(str(row["model"]), {})
            per_model[ml.horizon_label(row["horizon"])] = {
                k: ml.clean(row.get(k)) for k in ("ic", "rank_ic", "sharpe")
            }
        return found

    return ctx.memo(f"baselines:{split}", compute)


def _cost(metrics: MetricsDetails | None) -> str:
    """The cost the Sharpe ratios are net of, as the metrics rows carry it ("10 bps"), or "costs" if unknown."""
    costs = {row.get("cost_bps") for row in (metrics.horizons if metrics else [])} - {None}
    return f"{costs.pop():g} bps" if len(costs) == 1 else "costs"


def _num(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "n/a"


@dataclass(frozen=True, kw_only=True)
class MetricsDetails(Details):
    """Per horizon (``horizons``): IC, RankIC, ICIR, Sharpe, max drawdown, prediction std, scale ratio and
    days; the baselines' ICs on the same split, the best baseline per horizon, where a baseline beats the
    model, and notes (a 1d Sharpe above 5)."""

    split: str
    n_days: int = 0
    horizons: list[dict[str, Any]] = field(default_factory=list)
    baselines: dict[str, dict[str, dict[str, Any]]] | None = None
    baselines_skipped: str | None = None
    best_baseline: dict[str, dict[str, Any]] | None = None
    beaten_at: list[str] | None = None
    notes: list[str] = field(default_factory=list)

    def evidence(self) -> list[str]:
        moved = [k for k in ("horizons", "baselines", "best_baseline") if getattr(self, k)]
        shown = Details.evidence(replace(self, horizons=[], baselines=None, best_baseline=None))
        return (
            [*shown, f"- {', '.join(k.replace('_', ' ') for k in moved)}: see Model Health below"]
            if moved
            else shown
        )


def _trend_icon(now: object, before: object, tolerance: float = 5e-4) -> str:
    """📈 / 📉 when the IC moved by more than the rounding of the table, ➖ when it held."""
    if not (isinstance(now, int | float) and isinstance(before, int | float)):
        return "➖"
    if now - before > tolerance:
        return "📈"
    if before - now > tolerance:
        return "📉"
    return "➖"


def _model_rows(
    metrics: MetricsDetails | None, spread: SpreadDetails | None, previous: Mapping[str, Any] | None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The horizons and the rows of the Model Health table (spread, metrics, previous IC, best baseline)."""
    by_h = {r["horizon"]: r for r in (metrics.horizons if metrics else [])}
    spreads = {r["horizon"]: r for r in (spread.horizons if spread else [])}
    before = {row["horizon"]: row for row in (previous or {}).get("model") or []}
    best: Mapping[str, Any] = (metrics.best_baseline if metrics else None) or {}
    keys = sorted({*spreads, *by_h}, key=horizon_order)
    rows = []
    for h in keys:
        m, s, old, base = by_h.get(h, {}), spreads.get(h, {}), before.get(h, {}), best.get(h, {})
        rows.append(
            (
                h,
                s.get("pred_std", m.get("pred_std")),
                s.get("previous_pred_std"),
                s.get("model_scale_ratio"),
                s.get("scale_ratio", m.get("scale_ratio")),
                m.get("ic"),
                m.get("rank_ic"),
                m.get("sharpe"),
                old.get("ic"),
                delta(m.get("ic"), old.get("ic")),
                f"{base.get('name')} {fmt(base.get('ic'))}" if base else "–",
            )
        )
    return keys, rows


# what the quick training reads from the tree: the model code, its configs and the health settings
MODEL_INPUTS = ("atft/", "configs/", "pyproject.toml")


def _moved(now: Mapping[str, Any], before: Mapping[str, Any] | None) -> bool:
    """Whether IC, RankIC or Sharpe differ from the previous report's beyond float noise."""
    if not before:
        return False
    return any(
        isinstance(now.get(k), int | float)
        and isinstance(before.get(k), int | float)
        and abs(now[k] - before[k]) > 1e-9 * max(1.0, abs(before[k]))
        for k in ("ic", "rank_ic", "sharpe")
    )


def _why_moved(report: Report) -> list[str]:
    """The commits since the previous report that changed what the quick training reads, or, when none
    did, the statement that the same inputs gave other metrics: a failure of determinism."""
    history = report.commits
    if history.note:  # the previous report's commit is unknown here: the commits cannot tell
        return [f"- ℹ️ Why the metrics moved cannot be told from the commits ({history.note})."]
    changed: dict[str, list[str]] = {}
    for commit in history.commits:
        for path in commit.files:
            if path.startswith(MODEL_INPUTS):
                changed.setdefault(path, []).append(commit.short)
    if report.git is not None and report.git.dirty:
        return ["- ℹ️ The metrics moved on a tree with uncommitted changes: the commits cannot explain it."]
    if not changed:
        return [
            "- ❌ The metrics moved although no commit since the previous report changed the model code, its "
            f"configs or the settings ({', '.join(MODEL_INPUTS)}): the same inputs gave other numbers, so the "
            "quick training or its evaluation is not deterministic (or the data changed outside the repository)."
        ]
    shown = ", ".join(f"`{path}` ({', '.join(shas[:3])})" for path, shas in sorted(changed.items())[:6])
    more = f" and {len(changed) - 6} more files" if len(changed) > 6 else ""
    return [f"- ℹ️ The metrics moved with changes to what the quick training reads: {shown}{more}."]


class HC023(Check):
    """IC, RankIC and Sharpe per horizon hold up against the previous report and the baselines.

    ``atft.metrics.evaluate_frame`` of the model's validation predictions (daily cross-sectional Pearson IC
    and Spearman RankIC, ICIR, the annualised top-minus-bottom-quintile Sharpe). A warning when the IC of a
    horizon fell by more than ``ic_drop_tolerance`` since the previous report, or when a simple baseline
    beats the model at a horizon (the message says which baseline at which horizon, with both ICs). A 1d
    Sharpe above 5 carries a note: on daily closes, bid-ask bounce alone gives reversal signals such
    Sharpe ratios. The recommended command trains four times longer than the quick run.
    """

    name = "model-metrics"
    atft_only = True
    severity = Severity.MAJOR
    requires = ("HC020",)
    details_type = MetricsDetails
    section_rank = 20

    def check(self, ctx: CheckContext) -> Outcome:
        split = "val"
        rows = ml.metrics(ctx, split)
        horizons = [
            {"horizon": ml.horizon_label(r["horizon"]), **{k: ml.clean(r.get(k)) for k in KEYS}} for r in rows
        ]
        details = MetricsDetails(
            split=split, n_days=max((h["n_days"] or 0) for h in horizons), horizons=horizons
        )
        problems = []
        tolerance = ctx.settings.ic_drop_tolerance
        previous = {row["horizon"]: row for row in (ctx.previous or {}).get("model") or []}
        drops = []
        for row in horizons:
            old = previous.get(row["horizon"], {}).get("ic")
            if (
                isinstance(old, int | float)
                and isinstance(row["ic"], int | float)
                and row["ic"] < old - tolerance
            ):
                drops.append(f"{row['horizon']} {old:.4f} → {row['ic']:.4f}")
        constant = [
            row["horizon"] for row in horizons if not row["pred_std"] or (row["scale_ratio"] or 0.0) == 0.0
        ]
        if constant:
            problems.append(
                f"the predictions are constant at {', '.join(constant)}: IC, RankIC and Sharpe are meaningless there "
                "(see HC021)"
            )
        if drops:
            problems.append(
                f"IC fell by more than {tolerance} since the previous report at {', '.join(drops)}"
            )
        try:
            baselines = baseline_table(ctx, split)
        except SkipCheck as reason:
            details = replace(details, baselines_skipped=str(reason))
            baselines = {}
        if baselines:
            best: dict[str, dict[str, Any]] = {}
            for name, per_h in baselines.items():
                for label, values in per_h.items():
                    ic = values.get("ic")
                    if isinstance(ic, int | float) and (label not in best or ic > best[label]["ic"]):
                        best[label] = {"name": name, "ic": ic}
            beaten = [
                f"{row['horizon']}: {best[row['horizon']]['name']} IC {best[row['horizon']]['ic']:.4f} vs model "
                f"IC {_num(row['ic'])}"
                for row in horizons
                if row["horizon"] in best and (row["ic"] is None or row["ic"] <= best[row["horizon"]]["ic"])
            ]
            details = replace(details, baselines=baselines, best_baseline=best, beaten_at=beaten)
            if beaten:
                problems.append(f"a simple baseline has a higher validation IC at {'; '.join(beaten)}")
        cost = _cost(details)
        notes = [
            f"the {row['horizon']} Sharpe {row['sharpe']:.2f} (net of {cost}) is above {BOUNCE_SHARPE:g}: on "
            "daily closes, bid-ask bounce alone makes reversal signals look this good; check it on "
            "open-to-open returns or with a higher cost before trusting it"
            for row in horizons
            if row["horizon"] == "1d"
            and isinstance(row["sharpe"], int | float)
            and row["sharpe"] > BOUNCE_SHARPE
        ]
        details = replace(details, notes=notes)
        summary = f"model validation (Sharpe net of {cost}) " + ", ".join(
            f"{h['horizon']} IC {_num(h['ic'])} RankIC {_num(h['rank_ic'])} Sharpe {_num(h['sharpe'], 2)}"
            for h in horizons
        )
        note = (" Note: " + "; ".join(notes) + ".") if notes else ""
        if problems:
            longer = 4 * ctx.settings.quick_train_epochs
            return Outcome(
                Status.WARN,
                "; ".join(problems)
                + f" ({summary}). Train longer ({longer} epochs instead of the quick run's "
                f"{ctx.settings.quick_train_epochs}) or check the features before trusting the model.{note}",
                details,
                f"{ml.train_command_for(ctx, longer)} && python -m atft evaluate --checkpoint "
                f"{ml.QUICK_RUN_DIR}/model.safetensors --market {ml.market(ctx)} --split val"
                if not ctx.settings.model_factory
                else ml.with_checkpoint(ctx, ""),
            )
        return Outcome.passed(f"{summary} on {details.n_days} {split} days.{note}", details)

    @classmethod
    def figures(cls, view: ReportView) -> list[str]:
        metrics = view.details(cls.code(), MetricsDetails)
        if metrics is None or not metrics.horizons:
            return []
        return [
            "val IC " + ", ".join(f"{row['horizon']} {fmt(row.get('ic'), 3)}" for row in metrics.horizons)
        ]

    @classmethod
    def impact(cls, view: ReportView) -> list[str]:
        metrics = view.details(cls.code(), MetricsDetails)
        before = {row["horizon"]: row for row in (view.previous or {}).get("model") or []}
        lines = []
        for row in metrics.horizons if metrics else []:
            old = before.get(row["horizon"])
            if not old:
                continue
            parts = []
            for key, label in (
                ("ic", "IC"),
                ("rank_ic", "RankIC"),
                ("sharpe", f"Sharpe (net of {_cost(metrics)})"),
            ):
                a, b = row.get(key), old.get(key)
                if isinstance(a, int | float) and isinstance(b, int | float):
                    parts.append(f"{label} {fmt(b, 3)} → {fmt(a, 3)} ({delta(a, b, 3)})")
            if parts:
                icon = _trend_icon(row.get("ic"), old.get("ic"))
                lines.append(f"- {icon} Horizon {row['horizon']}: " + ", ".join(parts))
        moved = any(_moved(row, before.get(row["horizon"])) for row in (metrics.horizons if metrics else []))
        return [*lines, *_why_moved(view.report)] if moved else lines

    @classmethod
    def section(cls, view: ReportView) -> list[str]:
        """## Model Health: the quick training (HC020), then per horizon the spread (HC021) beside IC,
        RankIC, Sharpe, the previous report's IC and the best baseline, then the baselines' ICs."""
        lines = ["## Model Health", ""]
        train = view.details(HC020.code(), TrainingDetails)
        if train:
            lines += [f"Quick training: {train.facts()}.", ""]
        metrics = view.details(cls.code(), MetricsDetails)
        spread = view.details(HC021.code(), SpreadDetails)
        keys, rows = _model_rows(metrics, spread, view.previous)
        if not rows:
            why = view.message(cls.code(), view.message(HC021.code(), "the model checks did not run"))
            return [*lines, f"No model figures: {why}", "", "---", ""]
        cost = _cost(metrics)
        header = (
            "Horizon",
            "Pred std (model units)",
            "Pred std prev",
            "Spread ratio (model units)",
            "Pred std / raw return std",
            "IC",
            "RankIC",
            f"Sharpe (net of {cost})",
            "IC prev",
            "Δ IC",
            "Best baseline (IC)",
        )
        lines += table(header, rows)
        if metrics and metrics.split:
            lines += [
                "",
                f"Metrics on the `{metrics.split}` split ({metrics.n_days} days): "
                "IC/RankIC are daily cross-sectional Pearson/Spearman correlations with the raw forward return; "
                f"Sharpe is the annualised top-minus-bottom-quintile long-short portfolio net of {cost} of cost "
                "per unit traded. The model predicts the per-day z-scored target, so its prediction std is in "
                "those units: *spread ratio (model units)* is prediction std / std of the z-scored target, the "
                "number HC021 bounds by [min_scale_ratio, max_scale_ratio]; *pred std / raw return std* divides "
                "the same prediction std by the std of the raw forward return, two different units, so it is "
                "no calibration measure and has no bound. Pred std prev is the previous report's (HC021 warns "
                "when the spread fell below min_spread_vs_previous of it).",
            ]
        if metrics and metrics.baselines:
            base_rows = [
                (name, *(fmt(v.get(h, {}).get("ic")) for h in keys)) for name, v in metrics.baselines.items()
            ]
            lines += [
                "",
                "IC of the baselines on the same split:",
                "",
                *table(("Baseline", *keys), base_rows),
            ]
        return [*lines, "", "---", ""]
