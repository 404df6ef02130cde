"""Calendar walk-forward splits with an embargo of at least the largest horizon.

Periods are consecutive calendar ranges: train = [start, train_end], validation = (train_end, val_end],
test = (val_end, test_end]. The last `effective_embargo` trading days of train and of validation are
dropped, so no training label (which looks max(horizons) days ahead) overlaps a validation or test day,
and no validation label overlaps a test day.
"""

from __future__ import annotations

import numpy as np

from atft.data.config import PSE_SPLIT, DataConfig

SPLITS = ("train", "val", "test")
MIN_STOCKS_PER_DAY = 5  # a day with fewer masked-in stocks is no cross-section


def split_ends(dates: np.ndarray, first_day: int, config: DataConfig) -> tuple[str, str, str]:
    """The (train_end, val_end, test_end) dates: explicit, the PSE default, or 60/20/20 of the days."""
    if config.train_end and config.val_end:
        return config.train_end, config.val_end, config.test_end or str(dates[-1])
    if config.market == "pse":
        return PSE_SPLIT
    days = dates[first_day:]
    n = len(days)
    return str(days[int(n * 0.6) - 1]), str(days[int(n * 0.8) - 1]), str(days[-1])


def split_days(
    dates: np.ndarray, first_day: int, usable: np.ndarray, config: DataConfig
) -> dict[str, np.ndarray]:
    """Day indices per split (int64, increasing). `usable` [D] bool: the day has a cross-section."""
    train_end, val_end, test_end = (np.datetime64(d, "D") for d in split_ends(dates, first_day, config))
    index = np.arange(len(dates))
    periods = {
        "train": (index >= first_day) & (dates <= train_end),
        "val": (dates > train_end) & (dates <= val_end),
        "test": (dates > val_end) & (dates <= test_end),
    }
    embargo = config.effective_embargo
    out: dict[str, np.ndarray] = {}
    for name in SPLITS:
        days = index[periods[name] & (index >= config.lookback - 1)]
        if name != "test" and len(days):
            days = days[: max(0, len(days) - embargo)]
        out[name] = days[usable[days]].astype(np.int64)
    return out
