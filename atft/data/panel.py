"""The raw market panel every source produces: dense (day x stock) price arrays plus stock metadata."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class DataError(ValueError):
    """A market source or panel file cannot be used; the message names the file, the column or row, and
    what to do about it (one line, fit for the CLI)."""


@dataclass
class RawPanel:
    """Prices as read from a source, before cleaning. Arrays are float64 [D, N], NaN where absent."""

    dates: np.ndarray  # datetime64[D] [D], strictly increasing trading days
    codes: list[str]  # N stock codes, column order of every array
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    value: np.ndarray  # traded value (or volume) per day; all-NaN when the source has none
    sector: list[str]  # N sector names ("unknown" when the source has none)
    subsector: list[str]  # N subsector names ("unknown" when the source has none)
    source: str  # where the panel came from, for messages and the quality report
    signal: np.ndarray | None = None  # synthetic only: the planted signal known at day t [D, N]

    def __post_init__(self) -> None:
        n_days, n_codes = len(self.dates), len(self.codes)
        for name in ("open", "high", "low", "close", "value"):
            array = getattr(self, name)
            if array.shape != (n_days, n_codes):
                raise DataError(
                    f"{self.source}: {name} has shape {array.shape}; expected (days, stocks) = "
                    f"({n_days}, {n_codes})"
                )
        if len(self.sector) != n_codes or len(self.subsector) != n_codes:
            raise DataError(f"{self.source}: sector/subsector lists do not match the {n_codes} stock codes")

    def select(self, day_mask: np.ndarray | None = None, code_mask: np.ndarray | None = None) -> RawPanel:
        """A sub-panel: the days and stocks whose mask is True."""
        rows = np.ones(len(self.dates), bool) if day_mask is None else day_mask
        cols = np.ones(len(self.codes), bool) if code_mask is None else code_mask
        pick = np.ix_(rows, cols)
        return RawPanel(
            dates=self.dates[rows],
            codes=[c for c, keep in zip(self.codes, cols, strict=True) if keep],
            open=self.open[pick],
            high=self.high[pick],
            low=self.low[pick],
            close=self.close[pick],
            value=self.value[pick],
            sector=[s for s, keep in zip(self.sector, cols, strict=True) if keep],
            subsector=[s for s, keep in zip(self.subsector, cols, strict=True) if keep],
            source=self.source,
            signal=None if self.signal is None else self.signal[pick],
        )
