"""Quick training on the embedded market, prediction spread per horizon, and where a collapse happens."""

from __future__ import annotations

import math
from typing import Any

from health_checks import ml
from health_checks.context import CheckContext
from health_checks.core import Check, NotApplicable, Outcome, Severity, SkipCheck, Status

# a horizon whose predictions are constant on more than this share of days has collapsed
MAX_CONSTANT_DAY_SHARE = 0.5


def _losses(history: list[dict[str, Any]]) -> list[float]:
    values = []
    for epoch in history:
        for key in ("train_loss", "loss"):
            if isinstance(epoch.get(key), int | float):
                values.append(float(epoch[key]))
                break
    return values


class HC020(Check):
    """A quick training on the embedded market runs and learns.

    ``atft.train.train`` on ``quick_train_market`` for ``quick_train_epochs`` epochs over at most
    ``quick_train_max_days`` training days ([tool.health_checks]), seeded and on one thread: bounded by
    steps, never by wall clock, so two runs give the same metrics. The training loss must be finite,
    non-zero (a loss of exactly 0 means nothing is trained) and lower in the last epoch than in the
    first (it learns), and the run must produce a checkpoint. A run stopped by the optional
    ``quick_train_max_seconds`` safety cap fails: its metrics depend on the machine's speed.
    """

    name = "quick-train"
    severity = Severity.CRITICAL

    def check(self, ctx: CheckContext) -> Outcome:
        if ctx.settings.model_factory:
            raise NotApplicable(
                f"the tree builds its own model (model_factory = {ctx.settings.model_factory}); nothing to train"
            )
        config, result = ml.quick_train(ctx)
        history = list(result.history)
        losses = _losses(history)
        data = ml.dataset(ctx)
        details: dict[str, Any] = {
            "market": config.data.market,
            "epochs": config.train.epochs,
            "epochs_run": len(history),
            "best_epoch": result.best_epoch,
            "seconds": round(float(getattr(result, "seconds", 0.0)), 1),
            "stop_reason": getattr(result, "stop_reason", None),
            "stopped_by_budget": getattr(result, "stop_reason", None) == "max_seconds",
            "max_seconds": ctx.settings.quick_train_max_seconds,
            "max_train_days": config.train.max_train_days,
            "torch_threads": config.train.torch_threads,
            "seed": config.train.seed,
            "train_days": len(list(data.split_days("train"))),
            "val_days": len(list(data.split_days("val"))),
            "train_loss": [round(v, 5) for v in losses],
        }
        problems = []
        if not result.checkpoint_path or not result.checkpoint_path.is_file():
            problems.append(f"no checkpoint was written (expected {result.checkpoint_path})")
        if not losses:
            problems.append(
                f"the history has no training loss (keys {sorted(history[0]) if history else []})"
            )
        elif any(not math.isfinite(v) for v in losses):
            problems.append(f"the training loss is not finite: {losses}")
        elif all(v == 0.0 for v in losses):
            problems.append("the training loss is exactly 0 in every epoch: nothing is being trained")
        elif len(losses) < 2:
            problems.append(
                f"only {len(losses)} epoch ran, so whether the loss falls cannot be told; set "
                "quick_train_epochs >= 2"
            )
        elif losses[-1] >= losses[0]:
            problems.append(
                f"the training loss did not fall ({losses[0]:.4f} in the first epoch, {losses[-1]:.4f} in the "
                "last): the model does not learn"
            )
        if details["stopped_by_budget"]:
            problems.append(
                f"the run was stopped by the wall-clock cap quick_train_max_seconds = "
                f"{ctx.settings.quick_train_max_seconds:g} after {len(history)} epochs: its metrics depend on "
                "the machine's speed; bound it with quick_train_epochs / quick_train_max_days instead"
            )
        if problems:
            return Outcome(
                Status.FAIL,
                "; ".join(problems) + ".",
                details,
                ml.train_command(ctx),
            )
        return Outcome.passed(
            f"{len(history)} epoch{'s' if len(history) != 1 else ''} on {config.data.market} in {details['seconds']} s; training loss "
            f"{' → '.join(f'{v:.4f}' for v in losses)}; best epoch {result.best_epoch}",
            **details,
        )


def training_target_std(dataset: Any, split: str) -> dict[str, float]:
    """Per horizon: the mean over the split's days of the cross-sectional std of the training target
    (atft's per-day z-scored ``targets``), i.e. the spread of what the model learns to predict."""
    import numpy as np

    days = np.asarray(dataset.split_days(split), dtype=np.int64)
    out: dict[str, float] = {}
    for column, horizon in enumerate(dataset.horizons):
        stds = []
        for day in days:
            valid = dataset.target_mask[day, :, column] & dataset.mask[day]
            if int(valid.sum()) >= 2:
                stds.append(float(np.std(dataset.targets[day, valid, column])))
        if stds:
            out[ml.horizon_label(horizon)] = float(np.mean(stds))
    return out


class HC021(Check):
    """Predictions keep their spread at every horizon.

    Per horizon, on the validation days: the cross-sectional std of the point prediction and its ratio to
    the std of the target *in the units the model predicts* (the per-day z-scored target it is trained on,
    ``model_scale_ratio``), next to the ratio to the raw forward return (``scale_ratio``, a different unit),
    and the share of days with a constant prediction. A horizon whose model-unit ratio is below
    ``min_scale_ratio`` or that is constant on most days has collapsed (the message then names the stage
    where the spread collapses); one above ``max_scale_ratio`` is over-dispersed: predictions that vary
    more than what they predict.
    """

    name = "prediction-spread"
    severity = Severity.CRITICAL
    requires = ("HC020",)

    def check(self, ctx: CheckContext) -> Outcome:
        rows = ml.metrics(ctx, "val")
        under = ml.model_under_check(ctx)
        threshold, ceiling = ctx.settings.min_scale_ratio, ctx.settings.max_scale_ratio
        model_units = training_target_std(under.dataset, "val")
        horizons = []
        collapsed = []
        spread_out = []
        for row in rows:
            label = ml.horizon_label(row["horizon"])
            pred_std = ml.clean(row.get("pred_std"))
            target_std = model_units.get(label)
            ratio = pred_std / target_std if pred_std is not None and target_std else None
            entry = {
                "horizon": label,
                "pred_std": pred_std,
                "target_std_model_units": target_std,
                "model_scale_ratio": ratio,
                "scale_ratio": ml.clean(row.get("scale_ratio")),
                "constant_day_share": ml.clean(row.get("constant_day_share")),
                "n_days": ml.clean(row.get("n_days")),
            }
            horizons.append(entry)
            constant = entry["constant_day_share"] or 0.0
            if ratio is None or ratio < threshold or constant > MAX_CONSTANT_DAY_SHARE:
                collapsed.append(label)
            elif ratio > ceiling:
                spread_out.append(f"{label} {ratio:.2f}")
        details: dict[str, Any] = {
            "model": under.label,
            "min_scale_ratio": threshold,
            "max_scale_ratio": ceiling,
            "horizons": horizons,
        }
        if spread_out and not collapsed:
            return Outcome(
                Status.FAIL,
                f"predictions are over-dispersed at {', '.join(spread_out)} (std of the prediction / std of "
                f"the z-scored target it is trained on, above max_scale_ratio {ceiling})",
                details,
                ml.train_command(ctx),
            )
        if not collapsed:
            worst = min(horizons, key=lambda e: e["model_scale_ratio"] or 0.0)
            return Outcome.passed(
                f"spread kept at every horizon: prediction std / target std in the model's units between "
                f"{worst['model_scale_ratio']:.3f} ({worst['horizon']}) and "
                f"{max(e['model_scale_ratio'] for e in horizons):.3f}, within [{threshold}, {ceiling}]",
                **details,
            )
        stage_text = ""
        try:
            report = ml.diagnostics(ctx)
            details["collapse_stage"] = report.collapse_stage
            if report.collapse_stage:
                stage_text = f"; the spread collapses at stage `{report.collapse_stage}`"
        except SkipCheck as reason:
            stage_text = f"; the collapse stage is unknown ({reason})"
        return Outcome(
            Status.FAIL,
            f"predictions collapsed at {', '.join(collapsed)} (scale ratio < {threshold} or constant on most "
            f"days){stage_text}. A constant model has IC 0 and a meaningless Sharpe.",
            details,
            ml.with_checkpoint(
                ctx,
                f"python -m atft diagnose --checkpoint CKPT --market {ml.market(ctx)} --split val --plot {ml.QUICK_RUN_DIR}/diagnostics.png",
            ),
        )


def model_name(under: ml.ModelUnderCheck) -> str:
    """The model as configured (its label up to " after"): ATFT, then GAT and FAN only when switched on."""
    return under.label.split(" after ")[0]


class HC022(Check):
    """Per-stage diagnostics find no collapse.

    ``atft.diagnostics.collect`` hooks every stage of the model (FAN, VSN, projection, temporal encoder,
    GAT, fusion, head input, each head) on a few validation days and records the cross-sectional spread of
    each stage's output; the first stage whose spread vanishes is the collapse stage. The table and its
    plot go into the report.
    """

    name = "diagnostics"
    severity = Severity.MAJOR
    requires = ("HC020",)

    def check(self, ctx: CheckContext) -> Outcome:
        report = ml.diagnostics(ctx)
        rows = [{k: ml.clean(v) for k, v in row.items()} for row in report.rows]
        details: dict[str, Any] = {"collapse_stage": report.collapse_stage, "rows": rows}
        path = ml.plot_path(ctx)
        if path is not None and hasattr(report, "plot"):
            path.parent.mkdir(parents=True, exist_ok=True)
            report.plot(path, model_name=model_name(ml.model_under_check(ctx)))
            details["plot"] = ctx.rel(path)
        if report.collapse_stage:
            return Outcome(
                Status.FAIL,
                f"the spread across stocks collapses at stage `{report.collapse_stage}` "
                f"({len(rows)} stages measured); everything after it predicts a constant.",
                details,
                ml.with_checkpoint(
                    ctx,
                    f"python -m atft diagnose --checkpoint CKPT --market {ml.market(ctx)} --split val --plot {ml.QUICK_RUN_DIR}/diagnostics.png",
                ),
            )
        return Outcome.passed(f"no stage collapses ({len(rows)} stages measured)", **details)
