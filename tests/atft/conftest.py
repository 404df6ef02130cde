"""Shared fixtures of the atft tests (add fixtures; do not rename existing ones)."""

from __future__ import annotations

from pathlib import Path

import pytest

from atft.data import DataConfig, MarketDataset, load_dataset


@pytest.fixture(scope="session")
def synthetic_config() -> DataConfig:
    """A small synthetic market (60 stocks x 400 days, builds in well under a second), no cache."""
    return DataConfig(market="synthetic", n_stocks=60, n_days=400, cache_dir=None, seed=0)


@pytest.fixture(scope="session")
def synthetic_dataset(synthetic_config: DataConfig) -> MarketDataset:
    """The dataset of `synthetic_config`, built once per session."""
    return load_dataset(synthetic_config)


@pytest.fixture(scope="session")
def pse_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("atft_cache")


@pytest.fixture(scope="session")
def pse_dataset(pse_cache_dir: Path) -> MarketDataset:
    """The embedded PSE market with the default config (built once per session, a few seconds)."""
    return load_dataset(DataConfig(market="pse", cache_dir=str(pse_cache_dir)))
