"""Quick training on the embedded market, prediction spread per horizon, and where a collapse happens."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

from health_checks import ml
from health_checks.context import CheckContext
from health_checks.core import Check, Details, NotApplicable, Outcome, Severity, SkipCheck, Status
from health_checks.render import ReportView, fmt, table

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


@dataclass(frozen=True, kw_only=True)
class TrainingDetails(Details):
    """The quick training: market, epochs asked for and run, best epoch, wall time (reported, never a
    bound), what stopped it, the bounds it ran under and the training loss per epoch."""

    market: str
    epochs: int
    epochs_run: int
    best_epoch: int | None = None
    seconds: float = 0.0
    stop_reason: str | None = None
    stopped_by_budget: bool = False
    max_seconds: float | None = None
    max_train_days: int | None = None
    torch_threads: int | None = None
    seed: int | None = None
    train_days: int | None = None
    val_days: int | None = None
    train_loss: list[float] = field(default_factory=list)

    def facts(self) -> str:
        """``market pse, epochs 2, ...`` for the Model Health section."""
        keys = (
            "market",
            "epochs",
            "epochs_run",
            "best_epoch",
            "seconds",
            "stop_reason",
            "train_days",
            "val_days",
        )
        values = self.to_dict()
        return ", ".join(f"{k.replace('_', ' ')} {fmt(values[k], 3)}" for k in keys)


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
    atft_only = True
    severity = Severity.CRITICAL
    details_type = TrainingDetails

    def check(self, ctx: CheckContext) -> Outcome:
        if ctx.settings.model_factory:
            raise NotApplicable(
                f"the tree builds its own model (model_factory = {ctx.settings.model_factory}); nothing to train"
            )
        config, result = ml.quick_train(ctx)
        history = list(result.history)
        losses = _losses(history)
        data = ml.dataset(ctx)
        details = TrainingDetails(
            market=config.data.market,
            epochs=config.train.epochs,
            epochs_run=len(history),
            best_epoch=result.best_epoch,
            seconds=round(float(getattr(result, "seconds", 0.0)), 1),
            stop_reason=getattr(result, "stop_reason", None),
            stopped_by_budget=getattr(result, "stop_reason", None) == "max_seconds",
            max_seconds=ctx.settings.quick_train_max_seconds,
            max_train_days=config.train.max_train_days,
            torch_threads=config.train.torch_threads,
            seed=config.train.seed,
            train_days=len(list(data.split_days("train"))),
            val_days=len(list(data.split_days("val"))),
            train_loss=[round(v, 5) for v in losses],
        )
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
        if details.stopped_by_budget:
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
            f"{len(history)} epoch{'s' if len(history) != 1 else ''} on {config.data.market} in {details.seconds} s; training loss "
            f"{' → '.join(f'{v:.4f}' for v in losses)}; best epoch {result.best_epoch}",
            details,
        )

    @classmethod
    def figures(cls, view: ReportView) -> list[str]:
        train = view.details(cls.code(), TrainingDetails)
        if train is None:
            return []
        return [f"quick training: {train.epochs_run} epoch(s) in {fmt(train.seconds, 0)} s"]


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


@dataclass(frozen=True, kw_only=True)
class SpreadDetails(Details):
    """Per horizon (``horizons``): the prediction std, the target std in the model's units, their ratio
    (``model_scale_ratio``), the ratio to the raw return (``scale_ratio``), the share of constant days and
    the previous report's prediction std beside its ratio to it; the bounds used; where a collapse is."""

    model: str
    min_scale_ratio: float
    max_scale_ratio: float
    min_spread_vs_previous: float | None = None
    horizons: list[dict[str, Any]] = field(default_factory=list)
    previous_report: str | None = None
    collapse_stage: str | None = None

    def evidence(self) -> list[str]:
        return Details.evidence(replace(self, horizons=[])) + (
            ["- horizons: see Model Health below"] if self.horizons else []
        )


def spread_against_previous(
    horizons: list[dict[str, Any]], previous: list[dict[str, Any]] | None, floor: float
) -> tuple[list[dict[str, Any]], list[str]]:
    """``horizons`` with the previous report's ``pred_std`` and the ratio now / before added, and the
    horizons whose spread fell below ``floor`` of the previous value (``"1d 0.41 → 0.12"``)."""
    before = {row.get("horizon"): row.get("pred_std") for row in previous or []}
    rows, drops = [], []
    for entry in horizons:
        old = before.get(entry["horizon"])
        now = entry["pred_std"]
        ratio = (
            now / old if isinstance(now, int | float) and isinstance(old, int | float) and old > 0 else None
        )
        rows.append({**entry, "previous_pred_std": old, "vs_previous": ratio})
        if ratio is not None and ratio < floor:
            drops.append(f"{entry['horizon']} {old:.4g} → {now:.4g} ({ratio:.0%} of before)")
    return rows, drops


class HC021(Check):
    """Predictions keep their spread at every horizon.

    Per horizon, on the validation days: the cross-sectional std of the point prediction and its ratio to
    the std of the target *in the units the model predicts* (the per-day z-scored target it is trained on,
    ``model_scale_ratio``), next to the ratio to the raw forward return (``scale_ratio``, a different unit),
    and the share of days with a constant prediction. A horizon whose model-unit ratio is below
    ``min_scale_ratio`` or that is constant on most days has collapsed (the message then names the stage
    where the spread collapses); one above ``max_scale_ratio`` is over-dispersed: predictions that vary
    more than what they predict. When a previous report exists, each horizon's prediction std is shown
    beside the previous report's, and a fall below ``min_spread_vs_previous`` of it is a warning: a model
    that is drifting towards a collapse before crossing the absolute floor.
    """

    name = "prediction-spread"
    atft_only = True
    severity = Severity.CRITICAL
    requires = ("HC020",)
    details_type = SpreadDetails

    def check(self, ctx: CheckContext) -> Outcome:
        rows = ml.metrics(ctx, "val")
        under = ml.model_under_check(ctx)
        model_units = training_target_std(under.dataset, "val")
        horizons = []
        for row in rows:
            label = ml.horizon_label(row["horizon"])
            pred_std = ml.clean(row.get("pred_std"))
            target_std = model_units.get(label)
            horizons.append(
                {
                    "horizon": label,
                    "pred_std": pred_std,
                    "target_std_model_units": target_std,
                    "model_scale_ratio": pred_std / target_std
                    if pred_std is not None and target_std
                    else None,
                    "scale_ratio": ml.clean(row.get("scale_ratio")),
                    "constant_day_share": ml.clean(row.get("constant_day_share")),
                    "n_days": ml.clean(row.get("n_days")),
                }
            )
        return judge_spread(ctx, under.label, horizons)


def judge_spread(ctx: CheckContext, model: str, horizons: list[dict[str, Any]]) -> Outcome:
    """HC021's verdict on the per-horizon spread rows: collapse, over-dispersion, a drop since the
    previous report (``ctx.previous["spread"]``, the digest of HC021's rows), or a pass."""
    threshold, ceiling = ctx.settings.min_scale_ratio, ctx.settings.max_scale_ratio
    floor = ctx.settings.min_spread_vs_previous
    collapsed, spread_out = [], []
    for entry in horizons:
        ratio = entry["model_scale_ratio"]
        if (
            ratio is None
            or ratio < threshold
            or (entry["constant_day_share"] or 0.0) > MAX_CONSTANT_DAY_SHARE
        ):
            collapsed.append(entry["horizon"])
        elif ratio > ceiling:
            spread_out.append(f"{entry['horizon']} {ratio:.2f}")
    previous = (ctx.previous or {}).get("spread") if ctx.previous else None
    horizons, drops = spread_against_previous(horizons, previous, floor)
    details = SpreadDetails(
        model=model,
        min_scale_ratio=threshold,
        max_scale_ratio=ceiling,
        min_spread_vs_previous=floor,
        horizons=horizons,
        previous_report=(ctx.previous or {}).get("source") if previous else None,
    )
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
        kept = (
            f"spread kept at every horizon: prediction std / target std in the model's units between "
            f"{worst['model_scale_ratio']:.3f} ({worst['horizon']}) and "
            f"{max(e['model_scale_ratio'] for e in horizons):.3f}, within [{threshold}, {ceiling}]"
        )
        if drops:
            return Outcome(
                Status.WARN,
                f"{kept}; but the prediction std fell below {floor:.0%} of the previous report's at "
                f"{', '.join(drops)}: the model is losing its spread",
                details,
                ml.train_command(ctx),
            )
        return Outcome.passed(kept, details)
    stage_text = ""
    try:
        report = ml.diagnostics(ctx)
        details = replace(details, collapse_stage=report.collapse_stage)
        if report.collapse_stage:
            stage_text = f"; the spread collapses at stage `{report.collapse_stage}`"
    except SkipCheck as reason:
        stage_text = f"; the collapse stage is unknown ({reason})"
    return Outcome(
        Status.FAIL,
        f"predictions collapsed at {', '.join(collapsed)} (prediction std / z-scored target std below "
        f"{threshold}, or constant on most days){stage_text}. A constant model has IC 0 and a meaningless Sharpe.",
        details,
        ml.with_checkpoint(
            ctx,
            f"python -m atft diagnose --checkpoint CKPT --market {ml.market(ctx)} --split val --plot {ml.QUICK_RUN_DIR}/diagnostics.png",
        ),
    )


def model_name(under: ml.ModelUnderCheck) -> str:
    """The model as configured (its label up to " after"): ATFT, then GAT and FAN only when switched on."""
    return under.label.split(" after ")[0]


@dataclass(frozen=True, kw_only=True)
class DiagnosticsDetails(Details):
    """The per-stage spread table of ``atft.diagnostics`` (``rows``), the first collapsed stage and the
    path of the plot written next to the markdown report."""

    collapse_stage: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    plot: str | None = None

    def evidence(self) -> list[str]:
        shown = Details.evidence(replace(self, rows=[], plot=None))
        return shown + (["- rows: see Diagnostics below"] if self.rows else [])


class HC022(Check):
    """Per-stage diagnostics find no collapse.

    ``atft.diagnostics.collect`` hooks every stage of the model (FAN, VSN, projection, temporal encoder,
    GAT, fusion, head input, each head) on a few validation days and records the cross-sectional spread of
    each stage's output; the first stage whose spread vanishes is the collapse stage. The table and its
    plot go into the report.

    Overlaps the generic HC046 (:mod:`health_checks.checks.collapse`), which hooks every module of any
    model through the probe; this one reads atft's named stages after the quick training.
    """

    name = "diagnostics"
    atft_only = True
    severity = Severity.MAJOR
    requires = ("HC020",)
    details_type = DiagnosticsDetails
    section_rank = 30

    def check(self, ctx: CheckContext) -> Outcome:
        report = ml.diagnostics(ctx)
        rows = [{k: ml.clean(v) for k, v in row.items()} for row in report.rows]
        details = DiagnosticsDetails(collapse_stage=report.collapse_stage, rows=rows)
        path = ml.plot_path(ctx)
        if path is not None and hasattr(report, "plot"):
            path.parent.mkdir(parents=True, exist_ok=True)
            report.plot(path, model_name=model_name(ml.model_under_check(ctx)))
            details = replace(details, plot=ctx.rel(path))
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
        return Outcome.passed(f"no stage collapses ({len(rows)} stages measured)", details)

    @classmethod
    def section(cls, view: ReportView) -> list[str]:
        """## Diagnostics: the collapse stage, the per-stage spread table and the plot."""
        lines = ["## Diagnostics", ""]
        diag = view.details(cls.code(), DiagnosticsDetails)
        if diag is None or not diag.rows:
            return [*lines, view.message(cls.code(), "The diagnostics check did not run."), "", "---", ""]
        stage = diag.collapse_stage
        lines.append(
            f"**Collapse stage**: `{stage}` — the first stage whose output spread across stocks falls "
            "below the threshold."
            if stage
            else "**Collapse stage**: none — the spread survives every stage."
        )
        lines.append("")
        columns = list(dict.fromkeys(k for row in diag.rows for k in row))
        lines += table(columns, ([row.get(c) for c in columns] for row in diag.rows))
        if diag.plot:
            lines += ["", f"![Per-stage spread of the activations]({PurePosixPath(diag.plot).name})"]
        return [*lines, "", "---", ""]

    @classmethod
    def references(cls, view: ReportView) -> list[str]:
        diag = view.details(cls.code(), DiagnosticsDetails)
        return [f"- Diagnostics plot: `{diag.plot}`"] if diag and diag.plot else []
