"""Live view of a training run: TensorBoard event files, a rich progress bar or one log line per epoch.

`TrainingMonitor` writes TensorBoard event files into the run's output directory (beside
``history.jsonl``), so ``tensorboard --logdir runs`` is the live dashboard of every run under ``runs/``:

    train/loss, train/lr                    per optimiser step
    grad_norm/<stage>                       per optimiser step, one curve per model stage
    val/<metric>/h<horizon>                 per epoch: ic, rank_ic, scale_ratio, prediction spread, ...
    stage/<stage>/<statistic>               per epoch: scalar activation statistics of each stage
    stage/<stage>/<statistic> (histogram)   per epoch: array statistics, e.g. the per-unit spread

With ``progress=True`` (the caller's output is a terminal) a rich progress bar shows the steps of the
current epoch; with ``progress=False`` each epoch ends in one INFO line on the ``atft.monitor`` logger.
`track` gives evaluation and baselines the same behaviour for any loop.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

log = logging.getLogger(__name__)

T = TypeVar("T")

# Keys of a metrics row that are labels, not curves.
_LABEL_KEYS = frozenset({"horizon", "split", "model", "name"})


def _progress_bar(*, transient: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        transient=transient,
    )


def track(items: Iterable[T], *, description: str, total: int | None = None, progress: bool) -> Iterator[T]:
    """Yield `items`, showing a rich progress bar while `progress` is true (the output is a terminal).

    This is the progress-callback shape evaluation and baselines take: ``track(days, description=...,
    progress=sys.stderr.isatty())``. Without `progress` the items pass through untouched.
    """
    if not progress:
        yield from items
        return
    if total is None and isinstance(items, Sequence):
        total = len(items)
    with _progress_bar(transient=True) as bar:
        task = bar.add_task(description, total=total, status="")
        for item in items:
            yield item
            bar.advance(task)


def _scalar(value: Any) -> float | None:
    """A finite float for a number-like value, else None (labels, None and NaN are not plotted)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def grad_norms(stages: Mapping[str, torch.nn.Module]) -> dict[str, float]:
    """The L2 norm of the gradients of each stage's parameters (stages without gradients are left out).

    Call between ``loss.backward()`` and ``optimizer.step()``; feed the result to `TrainingMonitor.log_step`.
    """
    norms = {}
    for name, module in stages.items():
        grads = [p.grad.detach().float().norm() for p in module.parameters() if p.grad is not None]
        if grads:
            norms[name] = float(torch.linalg.vector_norm(torch.stack(grads)))
    return norms


class TrainingMonitor:
    """TensorBoard scalars and histograms plus terminal progress for one training run.

    Use as a context manager, or call `close()`; the event files are flushed on every epoch.
    """

    def __init__(self, out_dir: Path | str, *, tensorboard: bool = True, progress: bool) -> None:
        self.out_dir = Path(out_dir)
        self.progress = progress
        self._writer: Any = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._writer = SummaryWriter(log_dir=str(self.out_dir))
        self._bar: Progress | None = None
        self._task: Any = None
        self._epoch: int | None = None
        self._epoch_losses: list[float] = []
        if progress:
            self._bar = _progress_bar(transient=True)
            self._bar.start()

    # ---- steps
    def start_epoch(self, epoch: int, *, steps: int) -> None:
        """Begin the progress bar of an epoch of `steps` optimiser steps (optional: log_step works alone)."""
        self._epoch = epoch
        self._epoch_losses = []
        if self._bar is not None:
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(f"epoch {epoch}", total=steps, status="")

    def log_step(self, step: int, *, loss: float, lr: float, grad_norms: Mapping[str, float]) -> None:
        """Record one optimiser step: loss, learning rate and the gradient norm of each model stage."""
        loss = float(loss)
        self._epoch_losses.append(loss)
        if self._writer is not None:
            self._writer.add_scalar("train/loss", loss, step)
            self._writer.add_scalar("train/lr", float(lr), step)
            for stage, norm in grad_norms.items():
                value = _scalar(norm)
                if value is not None:
                    self._writer.add_scalar(f"grad_norm/{stage}", value, step)
        if self._bar is not None and self._task is not None:
            recent = float(np.mean(self._epoch_losses[-50:]))
            self._bar.update(self._task, advance=1, status=f"loss {recent:.4f}")

    # ---- epochs
    def log_epoch(
        self,
        epoch: int,
        *,
        metrics: Sequence[Mapping[str, Any]],
        stage_stats: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Record the validation metrics of an epoch (one dict per horizon) and per-stage statistics.

        Every numeric entry of a metrics row becomes ``val/<key>/h<horizon>``. A stage statistic that is
        a number becomes the scalar ``stage/<stage>/<key>``; an array (e.g. the cross-sectional spread of
        each unit of the stage) becomes a histogram under the same tag.
        """
        if self._writer is not None:
            for row in metrics:
                horizon = row.get("horizon", "all")
                for key, raw in row.items():
                    if key in _LABEL_KEYS:
                        continue
                    value = _scalar(raw)
                    if value is not None:
                        self._writer.add_scalar(f"val/{key}/h{horizon}", value, epoch)
            for stage, stats in (stage_stats or {}).items():
                for key, raw in stats.items():
                    tag = f"stage/{stage}/{key}"
                    if isinstance(raw, (list, tuple, np.ndarray)) or hasattr(raw, "detach"):
                        values = np.asarray(raw.detach().cpu() if hasattr(raw, "detach") else raw, float)
                        values = values[np.isfinite(values)]
                        if values.size:
                            self._writer.add_histogram(tag, values, epoch)
                        continue
                    value = _scalar(raw)
                    if value is not None:
                        self._writer.add_scalar(tag, value, epoch)
            self._writer.flush()
        loss = float(np.mean(self._epoch_losses)) if self._epoch_losses else float("nan")
        summary = ", ".join(
            f"h{row.get('horizon')} RankIC {float(row['rank_ic']):+.4f}"
            for row in metrics
            if "rank_ic" in row
        )
        line = f"epoch {epoch}: {len(self._epoch_losses)} steps, loss {loss:.4f}" + (
            f", val {summary}" if summary else ""
        )
        if self._bar is not None:
            self._bar.console.log(line)
        else:
            log.info(line)
        self._epoch_losses = []

    # ---- lifetime
    def close(self) -> None:
        """Stop the progress bar and flush and close the event files (safe to call twice)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> TrainingMonitor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
