"""Market sources: the embedded PSE panel (fastquant), 20 S&P 500 stocks (skfolio) and a user panel file.

Real data comes inside two PyPI packages installed with ``--no-deps``; we never import them, we only read
their data files, located with `importlib.metadata.files`.
"""

from __future__ import annotations

import importlib.metadata
import logging
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from atft.data.panel import DataError, RawPanel

logger = logging.getLogger(__name__)

PRICE_FIELDS = ("open", "high", "low", "close")

# GICS sectors of the 20 skfolio S&P 500 stocks (skfolio ships prices only).
SP500_SECTORS = {
    "AAPL": "Information Technology",
    "AMD": "Information Technology",
    "MSFT": "Information Technology",
    "BAC": "Financials",
    "JPM": "Financials",
    "BBY": "Consumer Discretionary",
    "HD": "Consumer Discretionary",
    "CVX": "Energy",
    "XOM": "Energy",
    "RRC": "Energy",
    "GE": "Industrials",
    "JNJ": "Health Care",
    "LLY": "Health Care",
    "MRK": "Health Care",
    "PFE": "Health Care",
    "UNH": "Health Care",
    "KO": "Consumer Staples",
    "PEP": "Consumer Staples",
    "PG": "Consumer Staples",
    "WMT": "Consumer Staples",
}


def package_file(package: str, relative: str) -> Path:
    """Path of a data file shipped in an installed distribution, or a DataError that says how to get it."""
    hint = f"install it with `pip install --no-deps {package}`"
    try:
        files = importlib.metadata.files(package) or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise DataError(f"the {package} package (market data) is not installed; {hint}") from exc
    for entry in files:
        if str(entry).replace("\\", "/") == relative:
            path = Path(str(entry.locate()))
            if path.exists():
                return path
    raise DataError(f"{package} is installed but {relative} is missing from it; reinstall it ({hint})")


def fingerprint(path: Path) -> str:
    """Identity of a source file for the cache key: path, size and modification time."""
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


# ------------------------------------------------------------------------------------------------ pse


def pse_files() -> tuple[Path, Path]:
    return (
        package_file("fastquant", "fastquant/data/merged_stock_data.zip"),
        package_file("fastquant", "fastquant/data/stock_table.csv"),
    )


def load_pse() -> RawPanel:
    """The PSE panel: one wide CSV in a zip, 3 header rows (symbol / field / a `dt` row), 257 symbols."""
    prices_path, table_path = pse_files()
    with zipfile.ZipFile(prices_path) as archive:
        # One CSV inside; its member name ends in ".zip" (a quirk of the package), so take the only member.
        names = [n for n in archive.namelist() if not n.endswith("/")]
        if len(names) != 1:
            raise DataError(
                f"{prices_path}: {len(names)} members in the zip; expected the one PSE price table"
            )
        with archive.open(names[0]) as handle:
            wide = pd.read_csv(handle, header=[0, 1], skiprows=[2], index_col=0)
    wide.index = pd.to_datetime(wide.index)
    wide = wide.sort_index()
    codes = sorted({str(code) for code in wide.columns.get_level_values(0)})
    fields = {str(field) for field in wide.columns.get_level_values(1)}
    missing = sorted({*PRICE_FIELDS, "value"} - fields)
    if missing:
        raise DataError(f"{prices_path}: fields {missing} missing from the second header row")

    def field(name: str) -> np.ndarray:
        frame = wide.xs(name, axis=1, level=1).reindex(columns=codes)
        return frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)

    table = pd.read_csv(table_path)
    for column in ("Stock Symbol", "Sector", "Subsector"):
        if column not in table.columns:
            raise DataError(f"{table_path}: column {column!r} missing; expected the fastquant stock table")
    table = table.drop_duplicates("Stock Symbol").set_index("Stock Symbol")
    sector = [str(table["Sector"].get(code, "unknown")) for code in codes]
    subsector = [str(table["Subsector"].get(code, "unknown")) for code in codes]
    return RawPanel(
        dates=wide.index.to_numpy(dtype="datetime64[D]"),
        codes=codes,
        open=field("open"),
        high=field("high"),
        low=field("low"),
        close=field("close"),
        value=field("value"),
        sector=sector,
        subsector=subsector,
        source=f"pse ({prices_path.name})",
    )


# ------------------------------------------------------------------------------------------------ sp500


def sp500_file() -> Path:
    return package_file("skfolio", "skfolio/datasets/data/sp500_dataset.csv.gz")


def load_sp500() -> RawPanel:
    """20 US stocks, adjusted close only (no OHLC, no volume), 1990-2022."""
    path = sp500_file()
    frame = pd.read_csv(path, index_col=0, parse_dates=True).sort_index()
    codes = [str(c) for c in frame.columns]
    close = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    empty = np.full_like(close, np.nan)
    return RawPanel(
        dates=frame.index.to_numpy(dtype="datetime64[D]"),
        codes=codes,
        open=empty,
        high=empty.copy(),
        low=empty.copy(),
        close=close,
        value=empty.copy(),
        sector=[SP500_SECTORS.get(c, "unknown") for c in codes],
        subsector=[SP500_SECTORS.get(c, "unknown") for c in codes],
        source=f"sp500 ({path.name})",
    )


# ------------------------------------------------------------------------------------------------ panel file

PANEL_REQUIRED = ("date", "code", "open", "high", "low", "close")


def read_panel_table(path: Path) -> pd.DataFrame:
    """Read a long panel file (.parquet, .csv, .csv.gz) as a frame, or a DataError naming the file."""
    if not path.exists():
        raise DataError(f"{path}: panel file not found; give an existing parquet or CSV file")
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if ".csv" in suffixes or ".txt" in suffixes:
            # only empty cells are missing: "n/a" or "-" stay text, so the error can quote them
            return pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{path}: cannot be read as {suffixes or 'a table'} ({exc}); fix or re-export it"
        ) from exc
    raise DataError(f"{path}: unknown file type {suffixes!r}; expected .parquet or .csv")


def _show(value: object) -> str:
    """A cell as an error message quotes it."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "an empty cell"
    return repr(str(value))


def _first_bad_row(frame: pd.DataFrame, bad: np.ndarray) -> int:
    """File row number (1-based, header = row 1 for CSV) of the first True in `bad`."""
    return int(np.flatnonzero(bad)[0]) + 2


def load_panel_file(path_text: str) -> RawPanel:
    """A user panel: long rows of date, code, open, high, low, close, volume or value, optional sector.

    Every problem is one DataError line naming the file, the column and the row (CSV line numbers,
    header = line 1), and what to do.
    """
    path = Path(path_text)
    frame = read_panel_table(path)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    size_column = _panel_size_column(path, frame)
    ordinal, codes = _panel_keys(path, frame)
    numeric = _panel_numbers(path, frame, size_column)
    _check_panel_order(path, frame, ordinal, codes)
    return _dense_panel(path, frame, ordinal, codes, numeric, size_column)


def _panel_size_column(path: Path, frame: pd.DataFrame) -> str:
    """The required columns are there and the panel has rows; returns "value" or "volume"."""
    missing = [c for c in PANEL_REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; expected columns "
            f"{', '.join(PANEL_REQUIRED)}, volume or value, optional sector, subsector"
        )
    size_column = "value" if "value" in frame.columns else "volume" if "volume" in frame.columns else None
    if size_column is None:
        raise DataError(f"{path}: missing column volume or value; add traded volume or value per row")
    if frame.empty:
        raise DataError(f"{path}: the panel has no rows")
    return size_column


def _panel_keys(path: Path, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(dates datetime64[D], stripped codes) of every row; a bad date or an empty code is a DataError."""
    dates = pd.to_datetime(frame["date"], errors="coerce", format="mixed")
    if dates.isna().any():
        bad = dates.isna().to_numpy()
        row = _first_bad_row(frame, bad)
        raise DataError(
            f"{path}: column date, row {row}: {_show(frame['date'].iloc[row - 2])} is not a date; "
            "write dates as YYYY-MM-DD"
        )
    codes = frame["code"].astype(str).str.strip()
    empty_code = (codes == "") | frame["code"].isna().to_numpy()
    if empty_code.any():
        row = _first_bad_row(frame, np.asarray(empty_code))
        raise DataError(f"{path}: column code, row {row}: empty stock code; every row needs a code")
    return dates.to_numpy(dtype="datetime64[D]"), codes.to_numpy()


def _panel_numbers(path: Path, frame: pd.DataFrame, size_column: str) -> dict[str, np.ndarray]:
    """Prices (> 0) and the size column (>= 0) as float64 per row; a bad value is a DataError."""
    numeric: dict[str, np.ndarray] = {}
    for column in (*PRICE_FIELDS, size_column):
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if column in PRICE_FIELDS:
            bad |= values <= 0
        else:
            bad |= values < 0
        if bad.any():
            row = _first_bad_row(frame, bad)
            expected = "a positive number" if column in PRICE_FIELDS else "a number >= 0"
            raise DataError(
                f"{path}: column {column}, row {row}: {_show(frame[column].iloc[row - 2])} is not {expected}; "
                "fix the value or drop the row"
            )
        numeric[column] = values
    return numeric


def _check_panel_order(path: Path, frame: pd.DataFrame, ordinal: np.ndarray, codes: np.ndarray) -> None:
    """One row per (date, code), each stock's dates increasing; else a DataError naming the row."""
    keys = pd.DataFrame({"date": ordinal, "code": codes})
    duplicated = keys.duplicated(keep="first").to_numpy()
    if duplicated.any():
        row = _first_bad_row(frame, duplicated)
        raise DataError(
            f"{path}: row {row} repeats (date, code) = ({ordinal[row - 2]}, {keys['code'].iloc[row - 2]}); "
            "keep one row per stock and day"
        )
    order = keys.groupby("code", sort=False)["date"].diff()
    unsorted = (order <= pd.Timedelta(0)).to_numpy()
    if unsorted.any():
        row = _first_bad_row(frame, unsorted)
        raise DataError(
            f"{path}: column date, row {row}: {ordinal[row - 2]} comes after a later date of "
            f"stock {keys['code'].iloc[row - 2]}; sort the file by code and date (or by date)"
        )


def _dense_panel(
    path: Path,
    frame: pd.DataFrame,
    ordinal: np.ndarray,
    codes: np.ndarray,
    numeric: dict[str, np.ndarray],
    size_column: str,
) -> RawPanel:
    """The checked long rows as [D, N] arrays (NaN where a stock has no row) plus per-code labels."""
    all_dates = np.unique(ordinal)
    all_codes = sorted(set(codes))
    day_index = np.searchsorted(all_dates, ordinal)
    code_lookup = {c: i for i, c in enumerate(all_codes)}
    code_index = np.array([code_lookup[c] for c in codes])
    shape = (len(all_dates), len(all_codes))

    def dense(values: np.ndarray) -> np.ndarray:
        out = np.full(shape, np.nan)
        out[day_index, code_index] = values
        return out

    def labels(column: str) -> list[str]:
        if column not in frame.columns:
            return ["unknown"] * len(all_codes)
        per_code = pd.Series(frame[column].astype(str).to_numpy(), index=codes)
        first = per_code.groupby(level=0).first()
        return [str(first.get(c, "unknown")) for c in all_codes]

    sector = labels("sector")
    subsector = labels("subsector") if "subsector" in frame.columns else list(sector)
    return RawPanel(
        dates=all_dates,
        codes=all_codes,
        open=dense(numeric["open"]),
        high=dense(numeric["high"]),
        low=dense(numeric["low"]),
        close=dense(numeric["close"]),
        value=dense(numeric[size_column]),
        sector=sector,
        subsector=subsector,
        source=str(path),
    )
