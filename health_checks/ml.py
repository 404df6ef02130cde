"""Shared ML artefacts of a run: the dataset, the model under check, its predictions and diagnostics.

Each is computed once per run through :meth:`CheckContext.memo`. atft is imported directly (a renamed
API is an ImportError, which fails the check that needs it; nothing is looked up by string), inside the
functions so that the checks of a tree without atft do not import it.

The model under check is the atft model after a quick training on the market of ``[tool.health_checks]``
(``quick_train_market``, ``quick_train_epochs`` epochs over at most ``quick_train_max_days`` training
days, seeded and on one thread so that two runs give the same metrics), or, when the tree sets
``model_factory = "module:callable"``, the model that callable builds from ``(n_features, horizons)``
(used by fixture trees to plant a broken model).
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from health_checks.context import CheckContext
from health_checks.core import NotApplicable, SkipCheck

logger = logging.getLogger(__name__)

# validation days fed through the diagnostics hooks
DIAGNOSTIC_DAYS = 8


def require_atft_tree(ctx: CheckContext) -> None:
    """Skip atft-specific checks on a tree that has no atft package (a fixture tree, another repo)."""
    if not (ctx.root / "atft" / "__init__.py").is_file():
        raise NotApplicable(f"the tree {ctx.root.name}/ has no atft package; this check is about atft")
    root = str(ctx.root)
    if root not in sys.path:
        sys.path.insert(0, root)


def market(ctx: CheckContext) -> str:
    return ctx.settings.quick_train_market


def dataset(ctx: CheckContext, market_name: str | None = None) -> Any:
    """The ``MarketDataset`` of ``market_name`` (default: the quick-training market), built once."""
    name = market_name or market(ctx)

    def compute() -> Any:
        from atft.data import DataConfig, load_dataset

        return load_dataset(DataConfig(market=name), progress=False)

    return ctx.memo(f"dataset:{name}", compute)


@dataclass(frozen=True)
class ModelUnderCheck:
    """The model the model checks look at, where it came from and how it was obtained."""

    model: Any
    dataset: Any
    source: str  # "quick-train" or "factory"
    label: str  # "atft.model.ATFT_GAT_FAN after 2 epochs on pse" / "planted.model:build_model"
    train_result: Any = None  # atft.train.TrainResult for "quick-train"
    config: Any = None  # atft.config.ExperimentConfig for "quick-train"


def quick_overrides(settings: Any) -> list[str]:
    """The ``section.key=value`` overrides of the quick training: market, epochs, training days, one
    thread (bounded by steps, never by wall clock; the seed of the config makes it reproducible)."""
    overrides = [
        f'data.market="{settings.quick_train_market}"',
        f"train.epochs={settings.quick_train_epochs}",
        "train.torch_threads=1",
    ]
    if settings.quick_train_max_days is not None:
        overrides.append(f"train.max_train_days={settings.quick_train_max_days}")
    return overrides


def quick_train(ctx: CheckContext) -> Any:
    """``atft.train.train`` on the quick-training market for ``quick_train_epochs`` epochs."""
    settings = ctx.settings

    def compute() -> tuple[Any, Any]:
        require_atft_tree(ctx)
        from atft.config import load_config
        from atft.train import train

        base = (
            settings.resolve(ctx.root, settings.quick_train_config) if settings.quick_train_config else None
        )
        config = load_config(base, quick_overrides(settings))
        data = dataset(ctx)
        out_dir = ctx.scratch / "quick-train"
        result = train(
            config, out_dir, dataset=data, progress=False, max_seconds=settings.quick_train_max_seconds
        )
        return config, result

    return ctx.memo("quick_train", compute)


QUICK_RUN_DIR = "runs/quick-train"


def train_command(ctx: CheckContext) -> str:
    """The shell command that reproduces the quick training, leaving its checkpoint in runs/quick-train."""
    return train_command_for(ctx, ctx.settings.quick_train_epochs)


def train_command_for(ctx: CheckContext, epochs: int) -> str:
    """The quick training's command with ``epochs`` epochs (a longer run for a recommendation)."""
    s = ctx.settings
    config = f"--config {s.quick_train_config} " if s.quick_train_config else ""
    return f"python -m atft train {config}--market {s.quick_train_market} --epochs {epochs} --out {QUICK_RUN_DIR}"


def with_checkpoint(ctx: CheckContext, command: str) -> str:
    """``command`` (which takes ``--checkpoint CKPT``) after the quick training that produces CKPT; for a
    tree that builds its own model, the health check that looks at it."""
    if ctx.settings.model_factory:
        return f"python -m health_checks --root {ctx.root} --only HC021,HC022"
    checkpoint = f"{QUICK_RUN_DIR}/model.safetensors"
    return f"{train_command(ctx)} && {command.replace('CKPT', checkpoint)}"


def load_factory(ctx: CheckContext, spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SkipCheck(f"model_factory = {spec!r} is not of the form 'module:callable'")
    root = str(ctx.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise SkipCheck(f"model_factory module {module_name!r} cannot be imported: {error}") from error
    if not hasattr(module, attr):
        raise SkipCheck(f"model_factory: {module_name} has no {attr!r}")
    return getattr(module, attr)


def model_under_check(ctx: CheckContext) -> ModelUnderCheck:
    """The quick-trained atft model, or the tree's ``model_factory`` model (untrained) on its market."""

    def compute() -> ModelUnderCheck:
        spec = ctx.settings.model_factory
        if spec:
            factory = load_factory(ctx, spec)
            data = dataset(ctx)
            model = factory(len(data.feature_names), tuple(data.horizons))
            model.eval()
            return ModelUnderCheck(model, data, "factory", spec)
        config, result = quick_train(ctx)
        from atft.checkpoint import load_checkpoint

        loaded = load_checkpoint(result.checkpoint_path)
        parts = [
            "ATFT",
            *(["GAT"] if config.model.use_gat else []),
            *(["FAN"] if config.model.use_fan else []),
        ]
        label = f"{'-'.join(parts)} after a quick training on {config.data.market}"
        return ModelUnderCheck(loaded.model, dataset(ctx), "quick-train", label, result, config)

    return ctx.memo("model_under_check", compute)


def to_torch(batch: Mapping[str, Any]) -> dict[str, Any]:
    import numpy as np
    import torch

    return {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in batch.items()}


def _generic_frame(model: Any, batches: Iterable[Mapping[str, Any]], horizons: tuple[int, ...]) -> Any:
    """Predictions frame of a model that only follows the forward contract (median = middle quantile)."""
    import numpy as np
    import pandas as pd
    import torch

    pieces = []
    with torch.no_grad():
        for raw in batches:
            batch = to_torch(raw)
            output = model(batch)
            mask = batch["mask"].cpu().numpy().astype(bool)
            targets = batch["raw_targets"].float().cpu().numpy()[mask]
            codes = np.asarray(batch["codes"], dtype=object)[mask]
            for column, horizon in enumerate(horizons):
                key = f"horizon_{horizon}d"
                point = (output.get("point") or {}).get(key)
                if point is None:
                    values = output["predictions"][key]
                    point = values[:, values.shape[1] // 2]
                pieces.append(
                    pd.DataFrame(
                        {
                            "date": np.repeat(np.datetime64(str(batch["date"]), "ns"), len(codes)),
                            "code": codes,
                            "horizon": np.full(len(codes), horizon, dtype=np.int64),
                            "prediction": point.float().cpu().numpy()[mask],
                            "target": targets[:, column],
                        }
                    )
                )
    return pd.concat(pieces, ignore_index=True)


def predictions(ctx: CheckContext, split: str = "val") -> Any:
    """Long predictions frame (date, code, horizon, prediction, target) of the model under check."""

    def compute() -> Any:
        under = model_under_check(ctx)
        if under.source == "quick-train":
            from atft.inference import predict_frame

            return predict_frame(under.model, under.dataset, split)
        return _generic_frame(under.model, under.dataset.iter_batches(split), tuple(under.dataset.horizons))

    return ctx.memo(f"predictions:{split}", compute)


def metrics(ctx: CheckContext, split: str = "val") -> list[dict[str, Any]]:
    """``atft.metrics.evaluate_frame`` of the model's predictions on ``split`` (one row per horizon).

    For the quick-trained model on the validation split these are the trainer's own ``val_metrics`` of
    the best epoch (the same ``evaluate_frame`` of the same checkpoint's predictions), not recomputed.
    """
    from atft.metrics import evaluate_frame

    def compute() -> list[dict[str, Any]]:
        under = model_under_check(ctx)
        if under.source == "quick-train" and split == "val" and under.train_result.val_metrics:
            return list(under.train_result.val_metrics)
        return evaluate_frame(predictions(ctx, split))

    return ctx.memo(f"metrics:{split}", compute)


def diagnostics(ctx: CheckContext) -> Any:
    """``atft.diagnostics.collect`` on a few validation days of the model under check (with the trainer's
    loss, so that the report also shows the gradient norm reaching each stage)."""

    def compute() -> Any:
        from atft.diagnostics import collect

        under = model_under_check(ctx)
        days = list(under.dataset.split_days("val"))[:DIAGNOSTIC_DAYS]
        batches = [to_torch(under.dataset.batch(day)) for day in days]
        loss_fn = None
        if under.config is not None:  # the trainer's loss gives the per-stage gradient norms too
            from atft.loss import QuantileCorrelationLoss

            model_config = under.config.model
            loss_fn = QuantileCorrelationLoss(
                under.config.loss, model_config.horizons, model_config.quantiles
            )
        return collect(under.model, batches, loss_fn=loss_fn)

    return ctx.memo("diagnostics", compute)


def plot_path(ctx: CheckContext) -> Path | None:
    """Where the diagnostics PNG goes: next to the dated markdown, or None when no report is written."""
    if ctx.artifact_dir is None or ctx.report_date is None:
        return None
    return ctx.artifact_dir / f"{ctx.report_date:%Y-%m-%d}-diagnostics.png"


def horizon_label(horizon: Any) -> str:
    text = str(horizon)
    return text if text.endswith("d") else f"{text}d"


def clean(value: Any) -> Any:
    """JSON-safe scalar: numpy scalars to Python, NaN kept as None."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
