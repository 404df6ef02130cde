"""Where does the cross-sectional spread go? Per-stage statistics of ATFT-GAT-FAN through forward hooks.

The project we replace produced constant predictions for weeks and its only tool was ``print`` behind
environment flags. `collect` hooks every named stage of the model (`ATFT_GAT_FAN.stages()`: fan, vsn,
projection, temporal, gat, fusion, head_input, head_<h>d), runs some days through the one forward call,
and records, over the day's masked-in stocks:

    mean, min, max      of the stage output
    std                 cross-sectional std: the std over stocks of each unit, averaged over units
    dead_share          share of units that do not vary across stocks (std < dead_eps)
    grad_norm           norm of d loss / d stage output (when a loss function is given)

`collapse_stage` names the first stage (in data-flow order) whose spread collapses: its std is below
`collapse_abs`, or below `collapse_ratio` times the largest spread of the stages before it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from atft.checkpoint import unwrap
from atft.config import DiagnosticsConfig
from atft.inference import model_device, to_device

ENCODER_STAGES = ("fan", "vsn", "projection", "temporal", "fan_forecast", "gat", "fusion")
DEAD_EPS = 1e-6


@dataclass
class DiagnosticsReport:
    """Stage statistics, averaged over the days fed to `collect`, in data-flow order."""

    rows: list[dict[str, Any]]
    collapse_stage: str | None
    days: int
    thresholds: dict[str, float] = field(default_factory=dict)

    def to_markdown(self) -> str:
        """A markdown table (one row per stage) plus a line naming the collapse stage."""
        lines = [
            "| stage | shape | mean | std (cross-sectional) | min | max | dead units | grad norm |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for row in self.rows:
            grad = "" if row["grad_norm"] is None else f"{row['grad_norm']:.3g}"
            marker = " **collapse**" if row["stage"] == self.collapse_stage else ""
            lines.append(
                f"| {row['stage']}{marker} | {row['shape']} | {row['mean']:+.4g} | {row['std']:.4g} | "
                f"{row['min']:+.4g} | {row['max']:+.4g} | {row['dead_share']:.0%} | {grad} |"
            )
        verdict = (
            f"First stage whose cross-sectional spread collapses: **{self.collapse_stage}**."
            if self.collapse_stage
            else "No stage collapses: every stage keeps a cross-sectional spread."
        )
        return "\n".join([*lines, "", f"{verdict} ({self.days} days)"])

    def plot(self, path: Path, model_name: str = "ATFT-GAT-FAN") -> Path:
        """Bar charts of cross-sectional std and gradient norm per stage (PNG, matplotlib Agg backend).

        ``model_name`` titles the chart after the model as configured (no "FAN" when FAN is off). The std
        axis is logarithmic because a collapsed stage sits orders of magnitude below the others; the axis
        label says so."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        stages = [row["stage"] for row in self.rows]
        stds = [max(row["std"], 1e-12) for row in self.rows]
        grads = [row["grad_norm"] or 0.0 for row in self.rows]
        colors = ["tab:red" if s == self.collapse_stage else "tab:blue" for s in stages]
        figure, axes = plt.subplots(2, 1, figsize=(max(6, 0.8 * len(stages)), 6), sharex=True)
        axes[0].bar(stages, stds, color=colors)
        axes[0].set_yscale("log")
        axes[0].set_ylabel("cross-sectional std\n(log scale: a collapse is orders below)")
        title = f"collapse at {self.collapse_stage}" if self.collapse_stage else "no collapse"
        axes[0].set_title(f"{model_name} stage statistics ({title})")
        axes[1].bar(stages, grads, color="tab:gray")
        axes[1].set_ylabel("grad norm")
        axes[1].tick_params(axis="x", rotation=45)
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)
        return path


def _as_tensor(output: Any) -> torch.Tensor | None:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    return None


def stage_stats(output: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
    """Statistics of one stage output over the masked-in stocks; units = everything but the stock axis."""
    values = output.detach().float()[mask].reshape(int(mask.sum()), -1)  # (M, units)
    unit_std = values.std(dim=0, unbiased=False) if values.shape[0] > 1 else torch.zeros(values.shape[1])
    return {
        "mean": float(values.mean()),
        "std": float(unit_std.mean()),
        "min": float(values.min()),
        "max": float(values.max()),
        "dead_share": float((unit_std < DEAD_EPS).float().mean()),
    }


def find_collapse(rows: list[dict[str, Any]], *, ratio: float, absolute: float) -> str | None:
    """The first stage whose std is below `absolute` or below `ratio` x the largest earlier std."""
    largest = 0.0
    for row in rows:
        std = row["std"]
        if not math.isfinite(std) or std < absolute or (largest > 0 and std < ratio * largest):
            return row["stage"]
        largest = max(largest, std)
    return None


def collect(
    model: nn.Module,
    batches: Iterable[Mapping[str, Any]],
    *,
    loss_fn: Callable[[Mapping, Mapping], tuple[torch.Tensor, Any]] | None = None,
    config: DiagnosticsConfig | None = None,
) -> DiagnosticsReport:
    """Run `batches` through ``model(batch)`` with hooks on every stage and summarise the stages.

    With `loss_fn` (``loss_fn(output, batch) -> (loss, parts)``) gradients flow back once per day to
    measure per-stage gradient norms; the model's own ``.grad`` buffers are restored afterwards.
    """
    config = config or DiagnosticsConfig(enabled=True)
    plain = unwrap(model)
    stages = {
        name: module
        for name, module in plain.stages().items()
        if (config.encoder or name not in ENCODER_STAGES) and (config.heads or not name.startswith("head"))
    }
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    grad_sums: dict[str, list[float]] = defaultdict(list)
    shapes: dict[str, str] = {}
    current: dict[str, Any] = {}

    def make_hook(name: str):
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            tensor = _as_tensor(output)
            if tensor is None:
                return
            shapes[name] = "x".join(str(s) for s in tensor.shape)
            for key, value in stage_stats(tensor, current["mask"]).items():
                sums[name][key] += value
            if tensor.requires_grad:
                tensor.register_hook(lambda grad: grad_sums[name].append(float(grad.float().norm())))

        return hook

    handles = [module.register_forward_hook(make_hook(name)) for name, module in stages.items()]
    saved_grads = [p.grad for p in plain.parameters()]
    was_training = plain.training
    plain.eval()
    device = model_device(plain)
    days = 0
    try:
        for raw in batches:
            batch = to_device(raw, device)
            current["mask"] = batch["mask"].to(torch.bool)
            if int(current["mask"].sum()) < 2:
                continue
            with torch.set_grad_enabled(loss_fn is not None):
                output = plain(batch)
                if loss_fn is not None:
                    loss, _parts = loss_fn(output, batch)
                    loss.backward()
            days += 1
    finally:
        for handle in handles:
            handle.remove()
        for parameter, grad in zip(plain.parameters(), saved_grads, strict=True):
            parameter.grad = grad
        plain.train(was_training)
    if days == 0:
        raise ValueError("diagnostics got no day with at least 2 masked-in stocks; feed it real days.")
    rows = []
    for name in stages:
        if name not in sums:
            continue
        row: dict[str, Any] = {"stage": name, "shape": shapes[name]}
        row |= {key: value / days for key, value in sums[name].items()}
        row["grad_norm"] = sum(grad_sums[name]) / len(grad_sums[name]) if grad_sums[name] else None
        rows.append(row)
    collapse = find_collapse(rows, ratio=config.collapse_ratio, absolute=config.collapse_abs)
    return DiagnosticsReport(
        rows=rows,
        collapse_stage=collapse,
        days=days,
        thresholds={"collapse_ratio": config.collapse_ratio, "collapse_abs": config.collapse_abs},
    )
