"""The atft probe's data table names the engineered features whatever the model reads (`data.inputs`)."""

from __future__ import annotations

import dataclasses

import pytest

from atft.data import DataConfig
from atft.data.dataset import build_from_panel
from atft.data.features import FEATURE_NAMES
from atft.data.synthetic import synthetic_panel
from health_checks.atft_probe import feature_table


@pytest.mark.parametrize("inputs", ["features", "raw", "both"])
def test_feature_table_columns_are_the_engineered_features(inputs: str) -> None:
    config = DataConfig(market="synthetic", n_stocks=12, n_days=160, cache_dir=None, seed=1, lookback=10)
    config = dataclasses.replace(config, inputs=inputs)
    dataset = build_from_panel(synthetic_panel(config), config)
    table = feature_table(dataset)
    horizons = [f"return_{h}d" for h in dataset.horizons]
    assert list(table.columns) == ["date", "code", *FEATURE_NAMES, *horizons]
    assert len(table) == int(dataset.mask.sum())
