"""atft: the ATFT-GAT-FAN multi-horizon cross-sectional stock-return model, its data path and trainer."""

from importlib.metadata import PackageNotFoundError, version

try:  # the version lives in maintenance/__init__.py, the one source for both distributions' metadata
    __version__ = version("atft")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
