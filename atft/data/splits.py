"""Calendar walk-forward splits with an embargo of at least the largest horizon.

Periods are consecutive calendar ranges: train = [start, train_end], validation = (train_end, val_end],
test = (val_end, test_end]. The last `effective_embargo` trading days of train and of validation are
dropped, so no training label (which looks max(horizons) days ahead) overlaps a validation or test day,
and no validation label overlaps a test day.
"""

from __future__ import annotations

import numpy as np

from atft.data.config import PSE_SPLIT, DataConfig
from atft.data.panel import DataError

SPLITS = ("train", "val", "test")
MIN_STOCKS_PER_DAY = 5  # a day with fewer masked-in stocks is no cross-section


def split_ends(dates: np.ndarray, first_day: int, config: DataConfig) -> tuple[str, str, str]:
    """The (train_end, val_end, test_end) dates: each one explicit when given, else the market default
    (PSE_SPLIT for pse, 60/20/20 of the days otherwise); they must increase."""
    if config.market == "pse":
        defaults = PSE_SPLIT
    else:
        days = dates[first_day:]
        n = len(days)
        defaults = (str(days[int(n * 0.6) - 1]), str(days[int(n * 0.8) - 1]), str(days[-1]))
    if config.train_end and config.val_end and not config.test_end:
        defaults = (*defaults[:2], str(dates[-1]))  # both periods given: the test runs to the last day
    ends = tuple(
        given or default
        for given, default in zip((config.train_end, config.val_end, config.test_end), defaults, strict=True)
    )
    if not np.datetime64(ends[0], "D") < np.datetime64(ends[1], "D") < np.datetime64(ends[2], "D"):
        raise DataError(
            f"split ends train_end={ends[0]}, val_end={ends[1]}, test_end={ends[2]} do not increase "
            "(unset ones take the market default); set data.train_end < data.val_end < data.test_end"
        )
    return ends


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
