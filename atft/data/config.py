"""The one typed configuration of the data path: which market, which features window, which split.

Every field is a plain immutable value, so a `DataConfig` hashes to a stable cache key
(`DataConfig.cache_key`) and travels inside checkpoints as a dict (`dataclasses.asdict`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from atft.typed import build_dataclass

Market = Literal["pse", "sp500", "synthetic", "panel"]
MARKETS: tuple[str, ...] = ("pse", "sp500", "synthetic", "panel")

# Bump when the arrays a build produces change meaning, so stale caches are never read.
DATA_FORMAT_VERSION = 7  # 4: point-in-time universe; 5: .npy folder; 6: float32 graphs; 7: price bars

INPUTS: tuple[str, ...] = ("features", "raw", "both")  # DataConfig.inputs
GRAPH_RETURNS: tuple[str, ...] = ("raw", "residual")  # DataConfig.graph_returns

# Calendar split of the embedded PSE market (issue 4): train 2011-2017, validation 2018, test 2019-2021.
PSE_SPLIT = ("2017-12-31", "2018-12-31", "2021-12-31")


@dataclass(frozen=True)
class DataConfig:
    """What to build: market, universe, look-back, horizons, split, graph and synthetic parameters."""

    # ---- market and universe
    market: Market = (
        "pse"  # "pse" (embedded PSE panel), "sp500" (20 US stocks), "synthetic", "panel" (a file)
    )
    panel_path: str | None = (
        None  # long parquet/CSV file for market="panel" (see docs/data.md for the schema)
    )
    start: str = "2011-01-01"  # first trading day kept (earlier rows only warm up the trailing features)
    min_coverage: float = 0.8  # in the universe on day t: a close on >= this share of the trailing window
    coverage_window: int = 250  # trading days of that trailing window, ending at t (point-in-time universe)

    # ---- sample shape
    lookback: int = 20  # L: look-back steps per stock in one batch (features[N, L, F])
    # what a step of the window holds: "features" (the 18 engineered features of that day), "raw" (the
    # day's open, high, low, close over today's close and turnover against its trailing mean, a
    # missing day masked: atft.data.features.raw_window), or "both" side by side. The baselines read
    # the same inputs: day t's features, the window flattened, or both.
    inputs: str = "features"
    horizons: tuple[int, ...] = (1, 5, 10, 20)  # forward-return horizons in trading days (targets[N, H])
    max_abs_move: float = 0.4  # a daily close-to-close move above 40% (unadjusted split) is masked
    clip_z: float = 5.0  # cross-sectional z-scores of features and training targets are clipped to +-clip_z

    # ---- calendar walk-forward split; None = market default (pse: PSE_SPLIT, others: 60/20/20 of the days)
    train_end: str | None = None  # last calendar day of the training period
    val_end: str | None = None  # last calendar day of the validation period
    test_end: str | None = None  # last calendar day of the test period
    embargo: int = 20  # trading days dropped before each later period; raised to max(horizons) if smaller

    # ---- stock graph per day
    corr_window: int = 60  # trailing daily returns used for the correlation between two stocks
    top_k: int = 10  # each stock links to its top-k neighbours by |corr| ...
    corr_threshold: float = 0.3  # ... whose |corr| is at least this
    sector_top_k: int = 3  # plus its most correlated same-sector peers, whatever their corr (0 = none)
    # what is correlated: "raw" daily returns, or "residual" returns (each stock's return minus its
    # beta times the equal-weighted market return, beta fitted over the same trailing window), so that
    # links say more than "both move with the market"
    graph_returns: str = "raw"
    graph_skip_zero: bool = False  # treat exact-zero returns (no trade on a thin market) as missing

    # ---- synthetic market (market="synthetic")
    n_stocks: int = 60  # stocks in the synthetic market
    n_days: int = 400  # trading days in the synthetic market (business days from 2011-01-03)
    n_sectors: int = 5  # sectors (each split in two subsectors) with their own return factor
    signal_strength: float = 0.15  # correlation of the planted signal with the next idiosyncratic return
    signal_persistence: float = 0.9  # AR(1) coefficient of the latent signal (sets how it decays by horizon)

    # ---- housekeeping
    cache_dir: str | None = ".atft_cache"  # built datasets are cached here by config hash (None = no cache)
    seed: int = 0  # seeds the synthetic market

    def __post_init__(self) -> None:
        if self.market not in MARKETS:
            raise ValueError(f"DataConfig.market is {self.market!r}; expected one of {', '.join(MARKETS)}")
        if self.market == "panel" and not self.panel_path:
            raise ValueError("DataConfig.market is 'panel' but panel_path is empty; give the panel file path")
        if not self.horizons or any(int(h) < 1 for h in self.horizons):
            raise ValueError(
                f"DataConfig.horizons is {self.horizons!r}; expected positive trading-day counts"
            )
        if tuple(sorted(set(self.horizons))) != tuple(self.horizons):
            raise ValueError(f"DataConfig.horizons is {self.horizons!r}; expected strictly increasing values")
        if self.inputs not in INPUTS:
            raise ValueError(f"DataConfig.inputs is {self.inputs!r}; expected one of {', '.join(INPUTS)}")
        if self.lookback < 1:
            raise ValueError(f"DataConfig.lookback is {self.lookback}; expected at least 1")
        if not 0.0 < self.min_coverage <= 1.0:
            raise ValueError(f"DataConfig.min_coverage is {self.min_coverage}; expected a share in (0, 1]")
        if self.coverage_window < 1:
            raise ValueError(
                f"DataConfig.coverage_window is {self.coverage_window}; expected at least 1 trading day"
            )
        if self.graph_returns not in GRAPH_RETURNS:
            raise ValueError(
                f"DataConfig.graph_returns is {self.graph_returns!r}; expected one of {', '.join(GRAPH_RETURNS)}"
            )
        if self.corr_window < 5:
            raise ValueError(f"DataConfig.corr_window is {self.corr_window}; expected at least 5 days")

    @property
    def max_horizon(self) -> int:
        return max(self.horizons)

    @property
    def effective_embargo(self) -> int:
        """Trading days between periods: at least the largest horizon, so no label crosses a boundary."""
        return max(self.embargo, self.max_horizon)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataConfig:
        """Inverse of `to_dict` through the one config loader (`atft.typed.build_dataclass`)."""
        return build_dataclass(cls, data, "data")

    def cache_key(self, source_fingerprint: str = "") -> str:
        """Hash of everything that changes the built arrays (not `cache_dir`), the format and the source."""
        payload = self.to_dict()
        payload.pop("cache_dir")
        payload["_format"] = DATA_FORMAT_VERSION
        payload["_source"] = source_fingerprint
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:20]
