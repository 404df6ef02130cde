"""The trainer: one trading day per step, AdamW with warm-up + cosine, early stopping on validation RankIC.

    result = train(load_config(None, ["data.market=synthetic"]), Path("runs/demo"))
    result.checkpoint_path, result.best_epoch, result.val_metrics

Per epoch it appends one JSON line to ``out_dir/history.jsonl``; it keeps the best checkpoint
(``model.safetensors``) and a resumable one (``last.safetensors``: optimiser, scheduler, RNG, history),
from which ``train(..., resume=path)`` continues exactly where it stopped. Under ``torchrun`` each process
trains on its share of the days and DDP averages the gradients (`atft.distributed`).
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from atft import distributed
from atft.checkpoint import load_checkpoint, save_checkpoint
from atft.config import ExperimentConfig
from atft.inference import predict_frame, to_device
from atft.loss import QuantileCorrelationLoss
from atft.metrics import evaluate_frame
from atft.model import ATFT_GAT_FAN

log = logging.getLogger(__name__)

HISTORY_FILE = "history.jsonl"
LAST_CHECKPOINT = "last.safetensors"


@dataclass
class TrainResult:
    """What a training run produced."""

    checkpoint_path: Path  # best checkpoint (by validation RankIC)
    history: list[dict]  # one dict per epoch, also in out_dir/history.jsonl
    val_metrics: list[dict]  # per horizon, atft.metrics.evaluate_frame of the best epoch
    best_epoch: int
    last_checkpoint_path: Path  # resumable checkpoint of the last epoch
    stop_reason: str  # "epochs", "early_stopping", "max_seconds" or "stop_after_epoch"
    seconds: float


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def lr_factor(step: int, *, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warm-up to 1 over `warmup` steps, then cosine down to `min_ratio` at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def day_order(days: list, *, seed: int, epoch: int, shuffle: bool) -> list:
    """The training days of one epoch: a permutation that depends only on (seed, epoch)."""
    if not shuffle:
        return list(days)
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return [days[i] for i in torch.randperm(len(days), generator=generator).tolist()]


def selection_score(metrics: list[dict]) -> float:
    """Mean validation RankIC over horizons (NaN counts as -inf)."""
    values = [m["rank_ic"] for m in metrics if m.get("rank_ic") is not None and np.isfinite(m["rank_ic"])]
    return float(np.mean(values)) if values else float("-inf")


def _autocast(device: torch.device, enabled: bool):
    if device.type == "cuda" and enabled:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def _rng_state(device: torch.device) -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: Mapping[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"].to(torch.uint8))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].to(torch.uint8), device)


def validate(model: nn.Module, dataset: Any, split: str = "val") -> list[dict]:
    """Per-horizon metrics (atft.metrics) of the model on one split; the same `model(batch)` path as export."""
    frame = predict_frame(model, dataset, split)
    if frame.empty:
        raise ValueError(f"the {split!r} split has no rows to validate on; check the data split.")
    return evaluate_frame(frame)


def _check_dataset(config: ExperimentConfig, dataset: Any) -> None:
    if tuple(dataset.horizons) != tuple(config.model.horizons):
        raise ValueError(
            f"dataset horizons {list(dataset.horizons)} differ from model.horizons {list(config.model.horizons)}; "
            "build the dataset from the same config."
        )


def train(
    config: ExperimentConfig,
    out_dir: Path,
    *,
    dataset: Any = None,
    progress: bool = True,
    max_seconds: float | None = None,
    resume: Path | None = None,
    distributed_run: bool = False,
    stop_after_epoch: int | None = None,
) -> TrainResult:
    """Train ATFT-GAT-FAN on `config.data` (or the given `dataset`) and write checkpoints into `out_dir`.

    `max_seconds` bounds the wall time (the epoch in progress is cut short and still validated).
    `resume` continues from a ``last.safetensors`` written by an earlier run with the same config.
    `distributed_run` joins the torchrun process group (the CLI sets it under torchrun).
    `stop_after_epoch` ends the run after that epoch index (the schedule still spans ``train.epochs``), so
    a long training can run in chunks: stop, then ``resume`` from ``last.safetensors``.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    torch.set_num_threads(config.train.torch_threads)
    context = distributed.init(config.train.device) if distributed_run else None
    context = context or distributed.DistContext(device=distributed.resolve_device(config.train.device))
    device = context.device
    seed_everything(config.train.seed)
    if dataset is None:
        from atft.data import load_dataset  # the data path is only needed when no dataset is handed in

        dataset = load_dataset(config.data, progress=progress and context.is_main)
    _check_dataset(config, dataset)

    train_days = list(dataset.split_days("train"))
    if config.train.max_train_days is not None:
        train_days = train_days[-config.train.max_train_days :]
    if not train_days:
        raise ValueError("the training split has no days; check data.train_end and the market's date range.")
    first = dataset.batch(train_days[0])
    n_static = int(first["static_features"].shape[1]) if first.get("static_features") is not None else 0
    model = ATFT_GAT_FAN(config.model, dataset.n_features, n_static).to(device)
    loss_fn = QuantileCorrelationLoss(config.loss, config.model.horizons, config.model.quantiles)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.train.learning_rate, weight_decay=config.train.weight_decay
    )
    steps_per_epoch = len(train_days) // context.world_size
    if steps_per_epoch == 0:
        raise ValueError(
            f"{len(train_days)} training days cannot be shared among {context.world_size} processes."
        )
    total_steps = steps_per_epoch * config.train.epochs
    warmup = min(config.train.warmup_steps, max(1, total_steps // 10))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: lr_factor(step, warmup=warmup, total=total_steps, min_ratio=config.train.min_lr_ratio),
    )

    history: list[dict] = []
    best_score, best_epoch, best_metrics, bad_epochs, start_epoch = float("-inf"), -1, [], 0, 0
    if resume is not None:
        loaded = load_checkpoint(resume, map_location=device)
        if loaded.config != config:
            raise ValueError(f"cannot resume from {resume}: it was trained with a different config.")
        if loaded.optimizer_state is None or not loaded.trainer_state:
            raise ValueError(
                f"cannot resume from {resume}: it is not a resumable checkpoint (use {LAST_CHECKPOINT})."
            )
        model.load_state_dict(loaded.model.state_dict())
        optimizer.load_state_dict(loaded.optimizer_state)
        state = loaded.trainer_state
        scheduler.load_state_dict(json.loads(state["scheduler"]))
        history = json.loads(state["history"])
        best_score, best_epoch, bad_epochs = (
            float(state["best_score"]),
            int(state["best_epoch"]),
            int(state["bad_epochs"]),
        )
        best_metrics = json.loads(state["best_metrics"])
        start_epoch = int(state["epoch"]) + 1
        _set_rng_state(state["rng"], device)
        log.info("resumed from %s at epoch %d", resume, start_epoch)

    step_model: nn.Module = torch.compile(model) if config.train.compile else model
    if context.enabled:
        step_model = nn.parallel.DistributedDataParallel(
            step_model, device_ids=[device.index] if device.type == "cuda" else None
        )
    best_path = out_dir / config.train.checkpoint_name
    last_path = out_dir / LAST_CHECKPOINT
    if context.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / HISTORY_FILE).write_text("".join(json.dumps(row) + "\n" for row in history))
    metadata_base = {"feature_names": list(dataset.feature_names), "world_size": context.world_size}

    bar = Progress(
        TextColumn("[bold]epoch {task.fields[epoch]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeElapsedColumn(),
        disable=not (progress and context.is_main),
        transient=True,
    )
    stop_reason = "epochs"
    with bar:
        for epoch in range(start_epoch, config.train.epochs):
            epoch_start = time.perf_counter()
            order = day_order(
                train_days, seed=config.train.seed, epoch=epoch, shuffle=config.train.shuffle_days
            )
            mine = order[context.rank :: context.world_size][:steps_per_epoch]
            task = bar.add_task("train", total=len(mine), epoch=epoch, loss=float("nan"))
            model.train()
            losses, skipped = [], 0
            for day in mine:
                batch = to_device(dataset.batch(day), device)
                usable = int(((batch["target_mask"] & batch["mask"].unsqueeze(1)).sum(0) >= 2).sum())
                with _autocast(device, config.train.bf16):
                    output = step_model(batch)
                if usable:
                    loss, _parts = loss_fn(output, batch)
                else:
                    # No horizon has 2 valid targets: nothing to learn. Under DDP every process must still
                    # take part in the gradient all-reduce, so the step runs with an explicit zero weight.
                    skipped += 1
                    if not context.enabled:
                        bar.advance(task)
                        continue
                    loss = 0.0 * sum(p.float().sum() for p in output["predictions"].values())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.train.grad_clip > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), config.train.grad_clip)
                optimizer.step()
                scheduler.step()
                losses.append(float(loss.detach()))
                bar.update(task, advance=1, loss=float(np.mean(losses[-50:])))
                if max_seconds is not None and time.perf_counter() - started > max_seconds:
                    stop_reason = "max_seconds"
                    break
            bar.remove_task(task)
            if not losses:
                raise ValueError(
                    f"epoch {epoch} had no usable training day (all {len(mine)} lacked valid targets)."
                )

            metrics = validate(model, dataset, "val")
            score = selection_score(metrics)
            improved = score > best_score
            if improved:
                best_score, best_epoch, best_metrics, bad_epochs = score, epoch, metrics, 0
            else:
                bad_epochs += 1
            row = {
                "epoch": epoch,
                "train_loss": float(np.mean(losses)),
                "steps": len(losses),
                "skipped_days": skipped,
                "lr": float(scheduler.get_last_lr()[0]),
                "val_rank_ic": score,
                "val": {
                    str(m["horizon"]): {k: m[k] for k in ("ic", "rank_ic", "scale_ratio") if k in m}
                    for m in metrics
                },
                "best": improved,
                "seconds": round(time.perf_counter() - epoch_start, 2),
            }
            if config.diagnostics.enabled and (epoch + 1) % config.diagnostics.every_epochs == 0:
                row["diagnostics"] = _diagnose(model, dataset, config)
            history.append(row)
            log.info(
                "epoch %d: loss %.4f, val RankIC %.4f%s",
                epoch,
                row["train_loss"],
                score,
                " (best)" if improved else "",
            )
            if context.is_main:
                with (out_dir / HISTORY_FILE).open("a") as handle:
                    handle.write(json.dumps(row) + "\n")
                metadata = metadata_base | {"epoch": epoch, "metrics": metrics}
                if improved:
                    save_checkpoint(best_path, model, config, metadata=metadata)
                trainer_state = {
                    "epoch": epoch,
                    "scheduler": json.dumps(scheduler.state_dict()),
                    "history": json.dumps(history),
                    "best_score": best_score,
                    "best_epoch": best_epoch,
                    "best_metrics": json.dumps(best_metrics),
                    "bad_epochs": bad_epochs,
                    "rng": _rng_state(device),
                }
                save_checkpoint(
                    last_path,
                    model,
                    config,
                    metadata=metadata,
                    optimizer=optimizer,
                    trainer_state=trainer_state,
                )
            distributed.barrier(context)
            if stop_reason == "max_seconds":
                break
            if stop_after_epoch is not None and epoch >= stop_after_epoch:
                stop_reason = "stop_after_epoch"
                break
            if bad_epochs >= config.train.patience:
                stop_reason = "early_stopping"
                break
    distributed.shutdown(context)
    return TrainResult(
        checkpoint_path=best_path,
        history=history,
        val_metrics=best_metrics,
        best_epoch=best_epoch,
        last_checkpoint_path=last_path,
        stop_reason=stop_reason,
        seconds=time.perf_counter() - started,
    )


def _diagnose(model: nn.Module, dataset: Any, config: ExperimentConfig) -> dict[str, Any]:
    """Stage statistics on a few validation days (the `diagnostics` section of the config)."""
    from atft.diagnostics import collect

    days = list(dataset.split_days("val"))[: config.diagnostics.max_days]
    report = collect(
        model,
        [dataset.batch(day) for day in days],
        loss_fn=QuantileCorrelationLoss(config.loss, config.model.horizons, config.model.quantiles),
        config=config.diagnostics,
    )
    return {"collapse_stage": report.collapse_stage, "rows": report.rows}
