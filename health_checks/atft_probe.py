"""atft's probe: the ATFT-GAT-FAN model, a few day batches of the quick-training market and atft's loss.

Named by ``[tool.health_checks] probe = "health_checks.atft_probe:probe"`` in atft's pyproject. Plain
typed code with direct imports of atft (health_checks may import atft; atft never imports health_checks),
so renaming an atft API breaks this module loudly instead of skipping a check.

The model is built fresh (seeded) from the quick-training config; the quick-trained model is what
HC020-HC023 look at. atft trains in-process on day batches without a DataLoader, so the probe declares
no Dataset (atft's pyproject switches HC049 off and says why).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import torch

from atft.config import ExperimentConfig, load_config
from atft.data import FEATURE_NAMES, MarketDataset, horizon_key, load_dataset
from atft.loss import QuantileCorrelationLoss
from atft.model import ATFT_GAT_FAN
from health_checks.probe import Probe
from health_checks.settings import load_settings

# day batches handed to the checks from the end of the training split and the start of validation
N_BATCHES = 3


def experiment_config(root: Path) -> ExperimentConfig:
    """The quick-training config of ``[tool.health_checks]`` (its TOML file and market), one thread."""
    settings = load_settings(root)
    base = settings.resolve(root, settings.quick_train_config) if settings.quick_train_config else None
    return load_config(base, [f'data.market="{settings.quick_train_market}"', "train.torch_threads=1"])


def feature_table(dataset: MarketDataset) -> Any:
    """The stock-days of the dataset as a table: date, code, every feature and raw forward return."""
    import numpy as np
    import pandas as pd

    days, stocks = np.nonzero(dataset.mask)  # the masked-in stock-days
    # dataset.features holds the engineered features whatever the model reads (data.inputs may add raw windows)
    frame = pd.DataFrame(dataset.features[days, stocks], columns=list(FEATURE_NAMES))
    frame.insert(0, "date", dataset.dates[days])
    frame.insert(1, "code", np.asarray(dataset.codes, dtype=object)[stocks])
    for column, horizon in enumerate(dataset.horizons):
        frame[f"return_{horizon}d"] = dataset.raw_targets[days, stocks, column]
    return frame


def probe(root: Path) -> Probe:
    """ATFT-GAT-FAN (seeded, untrained) on the quick-training market, with atft's own loss and optimiser."""
    config = experiment_config(root)
    torch.set_num_threads(config.train.torch_threads)
    torch.manual_seed(config.train.seed)
    dataset = load_dataset(config.data, progress=False)
    train_days = [int(d) for d in dataset.split_days("train")[-N_BATCHES:]]
    val_days = [int(d) for d in dataset.split_days("val")[:N_BATCHES]]
    train_batches = [dataset.batch(d) for d in train_days]
    model = ATFT_GAT_FAN(config.model, dataset.n_features, int(train_batches[0]["static_features"].shape[1]))
    loss_fn = QuantileCorrelationLoss(config.loss, config.model.horizons, config.model.quantiles)

    def loss(output: Mapping[str, Any], batch: Mapping[str, Any]) -> torch.Tensor:
        return loss_fn(output, batch)[0]

    def quantiles(output: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """The quantile predictions (N, Q) per horizon: what the loss consumes."""
        return {f"{h}d": output["predictions"][horizon_key(h)] for h in config.model.horizons}

    def targets(batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        return {f"{h}d": batch["targets"][:, i] for i, h in enumerate(dataset.horizons)}

    fan = {"fan": 1} if model.fan is not None else {}  # FAN normalises each stock's window over time
    return Probe(
        label=f"atft.model.ATFT_GAT_FAN on {config.data.market} (fresh, seed {config.train.seed})",
        model=model,
        train_batches=train_batches,
        val_batches=[dataset.batch(d) for d in val_days],
        forward=lambda m, batch: m(batch),
        predictions=quantiles,
        loss=loss,
        targets=targets,
        optimizer=partial(
            torch.optim.AdamW, lr=config.train.learning_rate, weight_decay=config.train.weight_decay
        ),
        features=lambda batch: batch["features"],
        input_width=model.n_features,
        expected_features=len(FEATURE_NAMES),
        expected_columns=(
            "date",
            "code",
            *FEATURE_NAMES,
            *(f"return_{h}d" for h in config.data.horizons),
        ),
        artifact=feature_table(dataset),
        norm_axes=fan,
    )
