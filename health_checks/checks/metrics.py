"""IC / RankIC / Sharpe per horizon against the previous report and the baselines."""

from __future__ import annotations

from typing import Any

from health_checks import ml
from health_checks.context import CheckContext
from health_checks.core import Check, Outcome, Severity, SkipCheck, Status

KEYS = ("ic", "rank_ic", "icir", "sharpe", "max_drawdown", "pred_std", "scale_ratio", "n_days")


def baseline_table(ctx: CheckContext, split: str) -> dict[str, dict[str, dict[str, Any]]]:
    """``{baseline: {"1d": {"ic": ..., "rank_ic": ..., "sharpe": ...}}}`` from ``atft.evaluate``."""

    def compute() -> dict[str, dict[str, dict[str, Any]]]:
        evaluate_models = ml.attribute("atft.evaluate", "evaluate_models")
        run_baselines = ml.attribute("atft.baselines", "run_baselines")
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


class HC023(Check):
    """IC, RankIC and Sharpe per horizon hold up against the previous report and the baselines.

    ``atft.metrics.evaluate_frame`` of the model's validation predictions (daily cross-sectional Pearson IC
    and Spearman RankIC, ICIR, the annualised top-minus-bottom-quintile Sharpe). A warning when the IC of a
    horizon fell by more than ``ic_drop_tolerance`` since the previous report, or when a simple baseline
    beats the model at every horizon.
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
                row["horizon"]
                for row in horizons
                if row["horizon"] in best and (row["ic"] is None or row["ic"] <= best[row["horizon"]]["ic"])
            ]
            if beaten and len(beaten) == len(horizons):
                names = sorted({best[h]["name"] for h in beaten})
                problems.append(f"a simple baseline ({', '.join(names)}) has a higher IC at every horizon")
        summary = ", ".join(
            f"{h['horizon']} IC {h['ic']:.4f}" if h["ic"] is not None else f"{h['horizon']} IC n/a"
            for h in horizons
        )
        if problems:
            return Outcome(
                Status.WARN,
                "; ".join(problems)
                + f" ({summary}). Train longer or check the features before trusting the model.",
                details,
                ml.with_checkpoint(
                    ctx, f"python -m atft evaluate --checkpoint CKPT --market {ml.market(ctx)} --split val"
                ),
            )
        return Outcome.passed(f"{summary} on {details['n_days']} {split} days", **details)
