"""The data path of atft: markets, cleaning, causal features, stock graph, splits and day batches.

Entry point: ``load_dataset(DataConfig(...)) -> MarketDataset``; see docs/data.md.
"""

from atft.contract import horizon_key
from atft.data.config import DataConfig
from atft.data.dataset import MarketDataset, load_dataset
from atft.data.features import FEATURE_NAMES
from atft.data.panel import DataError, RawPanel

__all__ = [
    "FEATURE_NAMES",
    "DataConfig",
    "DataError",
    "MarketDataset",
    "RawPanel",
    "horizon_key",
    "load_dataset",
]
