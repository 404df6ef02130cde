"""atft: the ATFT-GAT-FAN multi-horizon cross-sectional stock-return model, its data path and trainer."""

__version__ = "0.1.0"
