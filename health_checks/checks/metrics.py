"""IC / RankIC / Sharpe per horizon against the previous report and the baselines."""

from __future__ import annotations

from typing import Any

from health_checks import ml
from health_checks.context import CheckContext
from health_checks.core import Check, Outcome, Severity, SkipCheck, Status

KEYS = ("ic", "rank_ic", "icir", "sharpe", "max_drawdown", "pred_std", "scale_ratio", "n_days")
# a daily-rebalanced long-short Sharpe above this at 1d is more likely bid-ask bounce than skill
BOUNCE_SHARPE = 5.0


def baseline_table(ctx: CheckContext, split: str) -> dict[str, dict[str, dict[str, Any]]]:
    """``{baseline: {"1d": {"ic": ..., "rank_ic": ..., "sharpe": ...}}}`` from ``atft.evaluate``."""

    def compute() -> dict[str, dict[str, dict[str, Any]]]:
        from atft.baselines import run_baselines
        from atft.evaluate import evaluate_models

        under = ml.model_under_check(ctx)
        report = evaluate_models(under.dataset, split, run_baselines(under.dataset, split))
        table: dict[str, dict[str, dict[str, Any]]] = {}
        for row in report.to_dict()["results"]:
            per_model = table.setdefault(str(row["model"]), {})
            per_model[ml.horizon_label(row["horizon"])] = {
                k: ml.clean(row.get(k)) for k in ("ic", "rank_ic", "sharpe")
            }
        return table

    return ctx.memo(f"baselines:{split}", compute)


def _num(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "n/a"


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
    severity = Severity.MAJOR
    requires = ("HC020",)

    def check(self, ctx: CheckContext) -> Outcome:
        split = "val"
        rows = ml.metrics(ctx, split)
        horizons = [
            {"horizon": ml.horizon_label(r["horizon"]), **{k: ml.clean(r.get(k)) for k in KEYS}} for r in rows
        ]
        details: dict[str, Any] = {
            "split": split,
            "n_days": max((h["n_days"] or 0) for h in horizons),
            "horizons": horizons,
        }
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
            table = baseline_table(ctx, split)
        except SkipCheck as reason:
            details["baselines"] = None
            details["baselines_skipped"] = str(reason)
            table = {}
        if table:
            details["baselines"] = table
            best: dict[str, dict[str, Any]] = {}
            for name, per_h in table.items():
                for label, values in per_h.items():
                    ic = values.get("ic")
                    if isinstance(ic, int | float) and (label not in best or ic > best[label]["ic"]):
                        best[label] = {"name": name, "ic": ic}
            details["best_baseline"] = best
            beaten = [
                f"{row['horizon']}: {best[row['horizon']]['name']} IC {best[row['horizon']]['ic']:.4f} vs model "
                f"IC {_num(row['ic'])}"
                for row in horizons
                if row["horizon"] in best and (row["ic"] is None or row["ic"] <= best[row["horizon"]]["ic"])
            ]
            details["beaten_at"] = beaten
            if beaten:
                problems.append(f"a simple baseline has a higher validation IC at {'; '.join(beaten)}")
        notes = [
            f"the {row['horizon']} Sharpe {row['sharpe']:.2f} is above {BOUNCE_SHARPE:g}: on daily closes, "
            "bid-ask bounce alone makes reversal signals look this good; check it on open-to-open returns "
            "or with costs before trusting it"
            for row in horizons
            if row["horizon"] == "1d"
            and isinstance(row["sharpe"], int | float)
            and row["sharpe"] > BOUNCE_SHARPE
        ]
        details["notes"] = notes
        summary = "model validation " + ", ".join(
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
        return Outcome.passed(f"{summary} on {details['n_days']} {split} days.{note}", **details)
