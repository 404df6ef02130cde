"""One typed configuration tree for an experiment, loaded from TOML with ``section.key=value`` overrides.

    [data]          atft.data.config.DataConfig      market, universe, look-back, horizons, split
    [model]         atft.model.ModelConfig           widths, quantiles, use_fan / use_gat switches
    [loss]          atft.loss.LossConfig             pinball and correlation weights
    [train]         TrainConfig                      optimiser, schedule, early stopping, threads, seed
    [diagnostics]   DiagnosticsConfig                per-stage statistics during training

Every section is a frozen dataclass; `ExperimentConfig.to_dict` / `from_dict` round-trip through JSON and
travel inside every checkpoint. Nothing here reads the environment: the CLI maps the deprecated
environment flags onto fields (see `atft.cli.train`).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atft.data.config import DataConfig
from atft.loss import LossConfig
from atft.model import ModelConfig
from atft.typed import build_dataclass

__all__ = [
    "ConfigError",
    "DataConfig",
    "DiagnosticsConfig",
    "ExperimentConfig",
    "LossConfig",
    "ModelConfig",
    "TrainConfig",
    "load_config",
]


class ConfigError(ValueError):
    """A config file or override that cannot be read or does not fit the config tree (names the field)."""


SCHEDULES = ("cosine", "constant", "cosine_steps")  # train.schedule


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and bookkeeping of one training run."""

    epochs: int = 10  # passes over the training days (batch_days days = one batch = one step)
    learning_rate: float = 1e-3  # AdamW peak learning rate
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    gat_lr_scale: float = 1.0  # the GAT stage's learning rate as a multiple of learning_rate
    warmup_steps: int = 100  # linear warm-up steps, then the decay `schedule` names
    min_lr_ratio: float = 0.05  # the rate a decaying schedule ends at, as a share of the peak
    # "cosine": cosine decay over all `epochs` (warm-up capped at a tenth of them), so the epoch cap
    # changes the schedule; "constant": warm-up, then the peak rate for ever; "cosine_steps": warm-up,
    # then cosine to min_lr_ratio over `decay_steps` optimiser steps and flat after. The last two do
    # not depend on the epoch cap, which early stopping needs.
    schedule: str = "cosine"
    decay_steps: int = 10_000  # steps of the cosine of schedule "cosine_steps" (after the warm-up)
    grad_clip: float = 1.0  # max global gradient norm (0 = no clipping)
    patience: int = 3  # early stopping: epochs without a better validation RankIC
    # the horizon (days) whose validation RankIC picks the best epoch and drives early stopping, i.e.
    # the horizon being judged; none = the mean RankIC over all horizons
    select_horizon: int | None = 5
    seed: int = 0  # seeds torch, numpy and python's random (and the order of days)
    shuffle_days: bool = True  # visit training days in a seeded random order each epoch
    torch_threads: int = 1  # intra-op CPU threads; 1 avoids oversubscription on the shared 2-core CI machines
    device: str = "auto"  # "auto" (cuda if available, else cpu), "cpu", "cuda", "cuda:1", ...
    bf16: bool = True  # bf16 autocast on CUDA (never on CPU)
    compile: bool = False  # torch.compile the model for training
    max_train_days: int | None = None  # use at most this many (most recent) training days per epoch
    max_steps: int | None = None  # stop after this many optimiser steps in all (the schedule spans `epochs`)
    # days per optimiser step, joined into one block-diagonal graph (no edge between days); the loss is
    # the mean of the per-day losses, so K > 1 fills the hardware at small N without mixing days
    batch_days: int = 1
    checkpoint_name: str = "model.safetensors"  # best checkpoint inside the output directory

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"train.epochs must be >= 1; found {self.epochs}.")
        if self.learning_rate <= 0:
            raise ValueError(f"train.learning_rate must be > 0; found {self.learning_rate}.")
        if self.gat_lr_scale <= 0:
            raise ValueError(f"train.gat_lr_scale must be > 0; found {self.gat_lr_scale}.")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"train.max_steps must be >= 1 (or none); found {self.max_steps}.")
        if self.max_train_days is not None and self.max_train_days < 1:
            raise ValueError(f"train.max_train_days must be >= 1 (or none); found {self.max_train_days}.")
        if self.batch_days < 1:
            raise ValueError(f"train.batch_days must be >= 1; found {self.batch_days}.")
        if self.patience < 1:
            raise ValueError(f"train.patience must be >= 1; found {self.patience}.")
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"train.schedule must be one of {', '.join(SCHEDULES)}; found {self.schedule!r}."
            )
        if self.decay_steps < 1:
            raise ValueError(f"train.decay_steps must be >= 1; found {self.decay_steps}.")
        if self.torch_threads < 1:
            raise ValueError(f"train.torch_threads must be >= 1; found {self.torch_threads}.")


@dataclass(frozen=True)
class DiagnosticsConfig:
    """Per-stage cross-sectional statistics (replaces the ENABLE_*_DIAGNOSTICS environment flags)."""

    enabled: bool = False  # collect stage statistics on validation days after every `every_epochs` epochs
    encoder: bool = True  # include the encoder stages (fan .. fusion)
    heads: bool = True  # include head_input and every head output
    every_epochs: int = 1  # how often (in epochs) to collect while training
    max_days: int = 8  # validation days fed through the hooks each time
    collapse_ratio: float = 0.01  # a stage collapses when its spread < ratio * the largest earlier spread
    collapse_abs: float = 1e-6  # ... or below this absolute cross-sectional std


@dataclass(frozen=True)
class ExperimentConfig:
    """The whole experiment: data, model, loss, training and diagnostics."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    diagnostics: DiagnosticsConfig = field(default_factory=DiagnosticsConfig)

    def __post_init__(self) -> None:
        if tuple(self.model.horizons) != tuple(self.data.horizons):
            raise ValueError(
                f"model.horizons {list(self.model.horizons)} differ from data.horizons {list(self.data.horizons)}; "
                "set both (load_config copies data.horizons to the model when only data.horizons is given)."
            )
        selected = self.train.select_horizon
        if selected is not None and selected not in tuple(self.model.horizons):
            raise ValueError(
                f"train.select_horizon {selected} is not one of the horizons {list(self.model.horizons)}; "
                "choose one of them, or none for the mean over horizons."
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExperimentConfig:
        """Inverse of `to_dict`; unknown sections or keys are an error naming them."""
        unknown = sorted(set(data) - set(SECTIONS))
        if unknown:
            raise ValueError(f"unknown config sections {unknown}; expected {sorted(SECTIONS)}.")
        return cls(**{name: build_dataclass(SECTIONS[name], data.get(name, {}), name) for name in SECTIONS})


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "model": ModelConfig,
    "loss": LossConfig,
    "train": TrainConfig,
    "diagnostics": DiagnosticsConfig,
}


def _parse_override(text: str) -> tuple[str, str, Any]:
    """``section.key=value`` -> (section, key, value); the value is parsed as TOML, else taken as a string."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ValueError(f"override {text!r} is not of the form section.key=value (e.g. train.epochs=3).")
    dotted, raw = text.split("=", 1)
    section, key = dotted.strip().split(".", 1)
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return section, key, value


def load_config(path: Path | None, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read an experiment config from TOML (None = all defaults) and apply ``section.key=value`` overrides.

    When ``data.horizons`` is set and ``model.horizons`` is not, the model follows the data. An optional
    field is cleared with the value ``none`` (TOML has no null).
    """
    raw: dict[str, dict[str, Any]] = {}
    where = f"config {path}" if path is not None else "config"
    if path is not None:
        path = Path(path)
        try:
            with path.open("rb") as handle:
                raw = tomllib.load(handle)
        except FileNotFoundError as error:
            raise ConfigError(f"config file {path} does not exist; give an existing TOML file.") from error
        except OSError as error:
            raise ConfigError(
                f"config file {path} cannot be read ({error}); give a readable TOML file."
            ) from error
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"config file {path} is not valid TOML: {error}") from error
    for text in overrides:
        try:
            section, key, value = _parse_override(text)
        except ValueError as error:
            raise ConfigError(str(error)) from error
        if section not in SECTIONS:
            raise ConfigError(
                f"override {text!r}: unknown section {section!r}; expected one of {sorted(SECTIONS)}."
            )
        raw.setdefault(section, {})[key] = value
    if "horizons" in raw.get("data", {}) and "horizons" not in raw.get("model", {}):
        raw.setdefault("model", {})["horizons"] = raw["data"]["horizons"]
    try:
        return ExperimentConfig.from_dict(raw)
    except (TypeError, ValueError) as error:
        text = str(error).rstrip(".")
        raise ConfigError(f"{where}: {text}. Fix it in the TOML file or the --set option.") from error


def replace(config: ExperimentConfig, **sections: Mapping[str, Any]) -> ExperimentConfig:
    """A copy of `config` with some fields of some sections changed: ``replace(c, model={"use_gat": False})``."""
    changed = {
        name: dataclasses.replace(getattr(config, name), **dict(values)) for name, values in sections.items()
    }
    return dataclasses.replace(config, **changed)
