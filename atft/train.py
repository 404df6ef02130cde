"""The trainer: `train.batch_days` trading days per step (default one), AdamW with a warm-up and the decay
`train.schedule` names, early stopping on the validation RankIC of `train.select_horizon`.

    result = train(load_config(None, ["data.market=synthetic"]), Path("runs/demo"))
    result.checkpoint_path, result.best_epoch, result.val_metrics

Per epoch it appends one JSON line to ``out_dir/history.jsonl``; it keeps the best checkpoint
(``model.safetensors``) and a resumable one (``last.safetensors``: optimiser, scheduler, RNG, history),
from which ``train(..., resume=path)`` continues exactly where it stopped. Under ``torchrun`` each process
trains on its share of the days and DDP averages the gradients (`atft.distributed`). With
``train.batch_days = K`` each step joins K days into one block-diagonal graph (`MarketDataset.batch_days`)
and the loss averages the K per-day losses, so a step equals K one-day gradients averaged.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from atft import distributed
from atft.checkpoint import load_checkpoint, save_checkpoint
from atft.config import ExperimentConfig, TrainConfig
from atft.inference import predict_frame, to_device
from atft.loss import QuantileCorrelationLoss
from atft.metrics import evaluate_frame
from atft.model import ATFT_GAT_FAN
from atft.monitor import TrainingMonitor, grad_norms

log = logging.getLogger(__name__)

HISTORY_FILE = "history.jsonl"
LAST_CHECKPOINT = "last.safetensors"


@dataclass
class TrainResult:
    """What a training run produced."""

    checkpoint_path: Path  # best checkpoint (by the validation RankIC of train.select_horizon)
    history: list[dict]  # one dict per epoch, also in out_dir/history.jsonl
    val_metrics: list[dict]  # per horizon, atft.metrics.evaluate_frame of the best epoch
    best_epoch: int
    last_checkpoint_path: Path  # resumable checkpoint of the last epoch
    stop_reason: str  # "epochs", "early_stopping", "max_steps", "max_seconds" or "stop_after_epoch"
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


def schedule_factor(train: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """The learning-rate multiplier of every optimiser step under `train.schedule` (see TrainConfig).

    Only "cosine" reads `train.epochs`; "constant" and "cosine_steps" give the same rate at every step
    whatever the epoch cap, so early stopping, not the cap, ends a run.
    """
    if train.schedule == "cosine":
        total = steps_per_epoch * train.epochs  # train.max_steps cuts the run, not the schedule
        warmup = min(train.warmup_steps, max(1, total // 10))
        return partial(lr_factor, warmup=warmup, total=total, min_ratio=train.min_lr_ratio)
    warmup = max(1, train.warmup_steps)
    if train.schedule == "constant":
        return partial(lr_factor, warmup=warmup, total=warmup, min_ratio=1.0)
    return partial(lr_factor, warmup=warmup, total=warmup + train.decay_steps, min_ratio=train.min_lr_ratio)


def day_order(days: list, *, seed: int, epoch: int, shuffle: bool) -> list:
    """The training days of one epoch: a permutation that depends only on (seed, epoch)."""
    if not shuffle:
        return list(days)
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return [days[i] for i in torch.randperm(len(days), generator=generator).tolist()]


def selection_score(metrics: list[dict], horizon: int | None = None) -> float:
    """Validation RankIC of `horizon`, or the mean over horizons when it is None (NaN counts as -inf)."""
    chosen = [m for m in metrics if horizon is None or int(m["horizon"]) == horizon]
    values = [m["rank_ic"] for m in chosen if m.get("rank_ic") is not None and np.isfinite(m["rank_ic"])]
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


# Config fields that may differ between a run and its resumption: budgets, bookkeeping and where it runs.
# Anything else (data, model, loss, optimiser, seed) would make the resumed run another experiment.
RESUME_MAY_CHANGE = frozenset(
    {
        "train.epochs",
        "train.max_steps",
        "train.patience",
        "train.torch_threads",
        "train.device",
        "train.compile",
    }
)
RESUME_MAY_CHANGE_SECTIONS = frozenset({"diagnostics"})


def config_differences(old: ExperimentConfig, new: ExperimentConfig) -> list[str]:
    """Dotted names of the fields whose values differ, as ``section.key: old -> new``."""
    before, after = old.to_dict(), new.to_dict()
    changes = []
    for section in sorted(set(before) | set(after)):
        left, right = before.get(section, {}), after.get(section, {})
        for key in sorted(set(left) | set(right)):
            if left.get(key) != right.get(key):
                changes.append(f"{section}.{key}: {left.get(key)!r} -> {right.get(key)!r}")
    return changes


def check_resumable(old: ExperimentConfig, new: ExperimentConfig, path: Path) -> None:
    """Raise ValueError naming every changed field that a resumed run may not change."""
    refused = [
        change
        for change in config_differences(old, new)
        if change.split(":", 1)[0] not in RESUME_MAY_CHANGE
        and change.split(".", 1)[0] not in RESUME_MAY_CHANGE_SECTIONS
    ]
    if refused:
        raise ValueError(
            f"cannot resume from {path}: it was trained with a different config ({'; '.join(refused)}); "
            f"only {', '.join(sorted(RESUME_MAY_CHANGE))} and the [diagnostics] section may change when resuming."
        )


def check_budget(max_seconds: float | None) -> None:
    """Refuse a negative or non-finite wall-clock budget."""
    if max_seconds is not None and not (math.isfinite(max_seconds) and max_seconds >= 0):
        raise ValueError(f"max_seconds must be a finite number >= 0; found {max_seconds}.")


@dataclass
class _Run:
    """What the steps of one training share: where it runs, the data, the model and its optimiser."""

    config: ExperimentConfig
    context: distributed.DistContext
    dataset: Any
    train_days: list
    model: ATFT_GAT_FAN
    step_model: nn.Module
    loss_fn: QuantileCorrelationLoss
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    days_per_epoch: int  # training days of one epoch on each process
    steps_per_epoch: int  # optimiser steps of one epoch: days_per_epoch / batch_days, rounded up
    out_dir: Path

    @property
    def device(self) -> torch.device:
        return self.context.device

    @property
    def stages(self) -> dict[str, nn.Module]:
        return self.model.stages()


@dataclass
class _Progress:
    """Where the run stands; saved in ``last.safetensors`` so that a resumed run continues exactly."""

    history: list[dict] = field(default_factory=list)
    best_score: float = float("-inf")
    best_epoch: int = -1
    best_metrics: list[dict] = field(default_factory=list)
    bad_epochs: int = 0
    epoch: int = 0  # the epoch to run next (or to finish, when day_offset > 0)
    day_offset: int = 0  # days of `epoch` already trained (a run cut inside an epoch)
    epoch_losses: list[float] = field(default_factory=list)  # losses of the steps over those days
    epoch_skipped: int = 0
    global_step: int = 0  # optimiser steps taken over the whole run

    def to_state(self, run: _Run) -> dict[str, Any]:
        return {
            # the epoch last trained (whole, or cut after `day_offset` days), as before mid-epoch resume
            "epoch": self.epoch if self.day_offset else self.epoch - 1,
            "day_offset": self.day_offset,
            "epoch_losses": json.dumps(self.epoch_losses),
            "epoch_skipped": self.epoch_skipped,
            "global_step": self.global_step,
            "scheduler": json.dumps(run.scheduler.state_dict()),
            "history": json.dumps(self.history),
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "best_metrics": json.dumps(self.best_metrics),
            "bad_epochs": self.bad_epochs,
            "rng": _rng_state(run.device),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> _Progress:
        # day_offset 0 (or absent: checkpoints written before mid-epoch resume): epoch `epoch` is finished
        finished_only = int(state.get("day_offset", 0)) == 0
        return cls(
            history=json.loads(state["history"]),
            best_score=float(state["best_score"]),
            best_epoch=int(state["best_epoch"]),
            best_metrics=json.loads(state["best_metrics"]),
            bad_epochs=int(state["bad_epochs"]),
            epoch=int(state["epoch"]) + 1 if finished_only else int(state["epoch"]),
            day_offset=0 if finished_only else int(state["day_offset"]),
            epoch_losses=[] if finished_only else json.loads(state["epoch_losses"]),
            epoch_skipped=0 if finished_only else int(state["epoch_skipped"]),
            global_step=int(state.get("global_step", 0)),
        )


def _start(config: ExperimentConfig, distributed_run: bool) -> distributed.DistContext:
    """Threads, process group (under torchrun), device and seeds."""
    torch.set_num_threads(config.train.torch_threads)
    context = distributed.init(config.train.device) if distributed_run else None
    context = context or distributed.DistContext(device=distributed.resolve_device(config.train.device))
    seed_everything(config.train.seed)
    return context


def _load_data(
    config: ExperimentConfig, dataset: Any, context: distributed.DistContext, progress: bool
) -> Any:
    if dataset is None:
        from atft.data import load_dataset  # the data path is only needed when no dataset is handed in

        dataset = load_dataset(config.data, progress=progress and context.is_main)
    _check_dataset(config, dataset)
    return dataset


def parameter_groups(model: ATFT_GAT_FAN, train: TrainConfig) -> list[dict[str, Any]]:
    """AdamW parameter groups: the GAT's parameters at `train.gat_lr_scale` times the rate, the rest at it.

    One group (today's optimiser) when the scale is 1 or the model has no GAT.
    """
    if model.gat is None or train.gat_lr_scale == 1.0:
        return [{"params": list(model.parameters())}]
    graph = {id(p) for p in model.gat.parameters()}
    return [
        {"params": [p for p in model.parameters() if id(p) not in graph]},
        {"params": list(model.gat.parameters()), "lr": train.learning_rate * train.gat_lr_scale},
    ]


def _build(config: ExperimentConfig, dataset: Any, context: distributed.DistContext, out_dir: Path) -> _Run:
    """The training days, the model, loss, optimiser and learning-rate schedule."""
    train_days = list(dataset.split_days("train"))
    if config.train.max_train_days is not None:
        train_days = train_days[-config.train.max_train_days :]
    if not train_days:
        raise ValueError("the training split has no days; check data.train_end and the market's date range.")
    first = dataset.batch(train_days[0])
    n_static = int(first["static_features"].shape[1]) if first.get("static_features") is not None else 0
    model = ATFT_GAT_FAN(config.model, dataset.n_features, n_static).to(context.device)
    loss_fn = QuantileCorrelationLoss(config.loss, config.model.horizons, config.model.quantiles)
    optimizer = torch.optim.AdamW(
        parameter_groups(model, config.train),
        lr=config.train.learning_rate,
        weight_decay=config.train.weight_decay,
    )
    days_per_epoch = len(train_days) // context.world_size
    if days_per_epoch == 0:
        raise ValueError(
            f"{len(train_days)} training days cannot be shared among {context.world_size} processes."
        )
    steps_per_epoch = math.ceil(days_per_epoch / config.train.batch_days)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule_factor(config.train, steps_per_epoch))
    step_model: nn.Module = torch.compile(model) if config.train.compile else model
    if context.enabled:
        step_model = nn.parallel.DistributedDataParallel(
            step_model, device_ids=[context.device.index] if context.device.type == "cuda" else None
        )
    return _Run(
        config,
        context,
        dataset,
        train_days,
        model,
        step_model,
        loss_fn,
        optimizer,
        scheduler,
        days_per_epoch,
        steps_per_epoch,
        out_dir,
    )


def _resume(run: _Run, resume: Path) -> _Progress:
    """Load a ``last.safetensors`` into the run (weights, optimiser, schedule, RNG); return where it stood."""
    loaded = load_checkpoint(resume, map_location=run.device)
    check_resumable(loaded.config, run.config, resume)
    if loaded.optimizer_state is None or not loaded.trainer_state:
        raise ValueError(
            f"cannot resume from {resume}: it is not a resumable checkpoint (use {LAST_CHECKPOINT})."
        )
    run.model.load_state_dict(loaded.model.state_dict())
    run.optimizer.load_state_dict(loaded.optimizer_state)
    state = loaded.trainer_state
    run.scheduler.load_state_dict(json.loads(state["scheduler"]))
    progress = _Progress.from_state(state)
    _set_rng_state(state["rng"], run.device)
    if progress.day_offset and progress.history and progress.history[-1].get("partial"):
        progress.history.pop()  # the cut epoch is recorded again, whole, when it finishes
    log.info("resumed from %s at epoch %d, day %d", resume, progress.epoch, progress.day_offset)
    return progress


def _step_batch(run: _Run, days: list) -> tuple[dict[str, Any], int]:
    """The batch of one step (one day, or several as one block-diagonal graph) and its usable day count.

    A day is usable when some horizon has 2 or more valid targets (what the loss needs).
    """
    if len(days) == 1:
        batch = to_device(run.dataset.batch(days[0]), run.device)
        ids = torch.zeros(batch["mask"].shape[0], dtype=torch.long, device=run.device)
    else:
        batch = to_device(run.dataset.batch_days(days), run.device)
        ids = batch["batch"]
    valid = (batch["target_mask"] & batch["mask"].unsqueeze(1)).long()  # (N, H)
    per_day = torch.zeros(len(days), valid.shape[1], dtype=torch.long, device=valid.device)
    per_day.index_add_(0, ids, valid)  # (K, H) valid targets per day and horizon
    return batch, int(((per_day >= 2).any(dim=1)).sum())


def _train_epoch(run: _Run, progress: _Progress, monitor: TrainingMonitor, budget: _Budget) -> bool:
    """Train the rest of epoch `progress.epoch`; return True when a budget cut it short."""
    config, context = run.config, run.context
    order = day_order(
        run.train_days, seed=config.train.seed, epoch=progress.epoch, shuffle=config.train.shuffle_days
    )
    mine = order[context.rank :: context.world_size][: run.days_per_epoch]
    per_step = config.train.batch_days
    monitor.start_epoch(progress.epoch, steps=math.ceil((len(mine) - progress.day_offset) / per_step))
    run.model.train()
    cut = False
    while progress.day_offset < len(mine):
        days = mine[progress.day_offset : progress.day_offset + per_step]
        batch, usable = _step_batch(run, days)
        progress.day_offset += len(days)
        progress.epoch_skipped += len(days) - usable
        with _autocast(run.device, config.train.bf16):
            output = run.step_model(batch)
        if usable:
            loss, _parts = run.loss_fn(output, batch)
        else:
            # No day has a horizon with 2 valid targets: nothing to learn. Under DDP every process must
            # still take part in the gradient all-reduce, so the step runs with an explicit zero weight.
            if not context.enabled:
                continue
            loss = 0.0 * sum(p.float().sum() for p in output["predictions"].values())
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norms = grad_norms(run.stages) if run.context.is_main else {}  # before clipping: what the loss asked
        if config.train.grad_clip > 0:
            nn.utils.clip_grad_norm_(run.model.parameters(), config.train.grad_clip)
        lr = float(run.scheduler.get_last_lr()[0])
        run.optimizer.step()
        run.scheduler.step()
        progress.global_step += 1
        progress.epoch_losses.append(float(loss.detach()))
        monitor.log_step(progress.global_step, loss=progress.epoch_losses[-1], lr=lr, grad_norms=norms)
        if budget.exhausted(progress.global_step, context):
            cut = progress.day_offset < len(mine)
            budget.hit = True
            break
    if not progress.epoch_losses:
        raise ValueError(
            f"epoch {progress.epoch} had no usable training day (all {len(mine)} lacked valid targets)."
        )
    return cut


@dataclass
class _Budget:
    """Deterministic step budget (``train.max_steps``) and optional wall-clock cap, agreed by every rank."""

    max_steps: int | None
    max_seconds: float | None
    started: float
    hit: bool = False
    reason: str = ""

    def exhausted(self, global_step: int, context: distributed.DistContext) -> bool:
        if self.max_steps is not None and global_step >= self.max_steps:
            self.reason = "max_steps"
            return True
        if self.max_seconds is None:
            return False
        late = time.perf_counter() - self.started > self.max_seconds
        # every rank must stop at the same step, or one waits in an all-reduce while another waits at a barrier
        if distributed.any_rank(context, late):
            self.reason = "max_seconds"
            return True
        return False


def _end_epoch(
    run: _Run, progress: _Progress, monitor: TrainingMonitor, *, partial: bool, epoch_start: float
) -> dict:
    """Validate, update best / patience, append the history row and write the checkpoints."""
    config, context = run.config, run.context
    metrics = validate(run.model, run.dataset, "val")
    score = selection_score(metrics, config.train.select_horizon)
    improved = score > progress.best_score
    if improved:
        progress.best_score, progress.best_epoch, progress.best_metrics = score, progress.epoch, metrics
        if not partial:
            progress.bad_epochs = 0
    elif not partial:  # a cut epoch does not count against patience
        progress.bad_epochs += 1
    row = {
        "epoch": progress.epoch,
        "train_loss": float(np.mean(progress.epoch_losses)),
        "steps": len(progress.epoch_losses),
        "skipped_days": progress.epoch_skipped,
        "lr": float(run.scheduler.get_last_lr()[0]),
        "val_rank_ic": score,
        "val": {
            str(m["horizon"]): {k: m[k] for k in ("ic", "rank_ic", "scale_ratio") if k in m} for m in metrics
        },
        "best": improved,
        "seconds": round(time.perf_counter() - epoch_start, 2),
    }
    if partial:
        row["partial"] = True
    if config.diagnostics.enabled and (progress.epoch + 1) % config.diagnostics.every_epochs == 0:
        row["diagnostics"] = _diagnose(run.model, run.dataset, config)
    progress.history.append(row)
    stage_stats = {r["stage"]: r for r in row["diagnostics"]["rows"]} if "diagnostics" in row else None
    monitor.log_epoch(progress.epoch, metrics=metrics, stage_stats=stage_stats)
    log.debug(
        "epoch %d: loss %.4f, val RankIC %.4f%s%s",
        progress.epoch,
        row["train_loss"],
        score,
        " (best)" if improved else "",
        " (cut short)" if partial else "",
    )
    if not partial:  # the next epoch starts from its first day
        progress.epoch, progress.day_offset, progress.epoch_losses, progress.epoch_skipped = (
            progress.epoch + 1,
            0,
            [],
            0,
        )
    if context.is_main:
        with (run.out_dir / HISTORY_FILE).open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        metadata = {
            "feature_names": list(run.dataset.feature_names),
            "world_size": context.world_size,
            "epoch": row["epoch"],
            "metrics": metrics,
        }
        if improved:
            save_checkpoint(run.out_dir / config.train.checkpoint_name, run.model, config, metadata=metadata)
        save_checkpoint(
            run.out_dir / LAST_CHECKPOINT,
            run.model,
            config,
            metadata=metadata,
            optimizer=run.optimizer,
            trainer_state=progress.to_state(run),
        )
    distributed.barrier(context)
    return row


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

    Budgets: ``train.epochs``, and ``train.max_steps`` (optimiser steps over the whole run; the schedule
    still spans ``train.epochs``) are deterministic. `max_seconds` is a wall-clock cap for users (>= 0;
    under DDP the ranks agree, by an all-reduce after every step, to stop at the same step). A budget cut
    inside an epoch still validates it (history row ``"partial": true``) and saves ``last.safetensors``
    at that day, so `resume` continues mid-epoch exactly where it stopped. `resume` continues from a
    ``last.safetensors``; only `RESUME_MAY_CHANGE` fields may differ (a larger ``train.epochs`` extends
    the run). `distributed_run` joins the torchrun process group (the CLI sets it under torchrun).
    `stop_after_epoch` ends the run after that epoch index (the schedule still spans ``train.epochs``).
    """
    started = time.perf_counter()
    check_budget(max_seconds)
    out_dir = Path(out_dir)
    context = _start(config, distributed_run)
    dataset = _load_data(config, dataset, context, progress)
    run = _build(config, dataset, context, out_dir)
    state = _resume(run, resume) if resume is not None else _Progress()
    if context.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / HISTORY_FILE).write_text("".join(json.dumps(row) + "\n" for row in state.history))
    budget = _Budget(config.train.max_steps, max_seconds, started)
    stop_reason = "epochs"
    if budget.max_steps is not None and state.global_step >= budget.max_steps:
        stop_reason = "max_steps"
    # TensorBoard event files beside history.jsonl (main process only); a progress bar on a terminal
    with TrainingMonitor(
        out_dir, tensorboard=context.is_main, progress=progress and context.is_main
    ) as monitor:
        while stop_reason == "epochs" and state.epoch < config.train.epochs:
            epoch, epoch_start = state.epoch, time.perf_counter()
            cut = _train_epoch(run, state, monitor, budget)
            _end_epoch(run, state, monitor, partial=cut, epoch_start=epoch_start)
            if budget.hit:
                stop_reason = budget.reason
            elif stop_after_epoch is not None and epoch >= stop_after_epoch:
                stop_reason = "stop_after_epoch"
            elif state.bad_epochs >= config.train.patience:
                stop_reason = "early_stopping"
    distributed.shutdown(context)
    return TrainResult(
        checkpoint_path=out_dir / config.train.checkpoint_name,
        history=state.history,
        val_metrics=state.best_metrics,
        best_epoch=state.best_epoch,
        last_checkpoint_path=out_dir / LAST_CHECKPOINT,
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
