"""Market sources: a user panel file (good and bad), sp500, and one clear error line per bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atft.cli import main
from atft.data import DataConfig, DataError, MarketDataset, load_dataset
from atft.data.sources import load_panel_file


def long_frame(dataset_config: DataConfig) -> pd.DataFrame:
    """The synthetic market written as a long panel (date, code, OHLC, value, sector, subsector)."""
    from atft.data.synthetic import synthetic_panel

    panel = synthetic_panel(dataset_config)
    days, stocks = np.meshgrid(np.arange(len(panel.dates)), np.arange(len(panel.codes)), indexing="ij")
    days, stocks = days.ravel(), stocks.ravel()
    return pd.DataFrame(
        {
            "date": pd.to_datetime(panel.dates[days]).strftime("%Y-%m-%d"),
            "code": np.asarray(panel.codes)[stocks],
            "open": panel.open[days, stocks],
            "high": panel.high[days, stocks],
            "low": panel.low[days, stocks],
            "close": panel.close[days, stocks],
            "value": panel.value[days, stocks],
            "sector": np.asarray(panel.sector)[stocks],
            "subsector": np.asarray(panel.subsector)[stocks],
        }
    )


SMALL = DataConfig(market="synthetic", n_stocks=12, n_days=260, cache_dir=None, seed=5)


@pytest.fixture(scope="module")
def good_frame() -> pd.DataFrame:
    return long_frame(SMALL)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_panel_file_gives_the_same_features_as_its_source(
    tmp_path: Path, good_frame: pd.DataFrame, suffix: str
) -> None:
    path = tmp_path / f"panel{suffix}"
    if suffix == ".csv":
        good_frame.to_csv(path, index=False)
    else:
        good_frame.to_parquet(path, index=False)
    from_file = load_dataset(DataConfig(market="panel", panel_path=str(path), cache_dir=None))
    direct = load_dataset(SMALL)
    assert from_file.codes == direct.codes
    assert from_file.sectors == direct.sectors
    np.testing.assert_allclose(from_file.features, direct.features, atol=1e-4)
    np.testing.assert_array_equal(from_file.mask, direct.mask)
    assert from_file.signal is None and from_file.oracle_ic is None


def test_a_panel_with_volume_instead_of_value_and_no_sector_loads(
    tmp_path: Path, good_frame: pd.DataFrame
) -> None:
    frame = good_frame.drop(columns=["sector", "subsector"]).rename(columns={"value": "volume"})
    path = tmp_path / "panel.csv"
    frame.sample(frac=1.0, random_state=0).sort_values(["code", "date"]).to_csv(path, index=False)
    ds = load_dataset(DataConfig(market="panel", panel_path=str(path), cache_dir=None))
    assert ds.n_stocks == 12 and set(ds.sectors) == {"unknown"}
    _, attr = ds.graph(int(ds.split_days("val")[0]))
    assert (attr[:, 1] == 0).all()  # unknown sectors are not a shared sector


def _write(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "bad_panel.csv"
    frame.to_csv(path, index=False)
    return path


def _break(frame: pd.DataFrame, case: str) -> pd.DataFrame:
    frame = frame.copy()
    if case == "missing column":
        return frame.drop(columns=["close"])
    if case == "no volume or value":
        return frame.drop(columns=["value"])
    if case == "duplicate row":
        return pd.concat([frame.iloc[:5], frame.iloc[[3]], frame.iloc[5:]], ignore_index=True)
    if case == "unsorted dates":
        frame = frame.sort_values(["code", "date"], ignore_index=True)
        frame.loc[[3, 4]] = frame.loc[[4, 3]].to_numpy()
        return frame
    if case == "not a date":
        frame["date"] = frame["date"].astype(object)
        frame.loc[7, "date"] = "yesterday"
        return frame
    if case == "NaN close":
        frame.loc[9, "close"] = np.nan
        return frame
    if case == "negative price":
        frame.loc[11, "low"] = -1.0
        return frame
    if case == "text volume":
        frame["value"] = frame["value"].astype(object)
        frame.loc[13, "value"] = "n/a"
        return frame
    raise AssertionError(case)


BAD_CASES = {
    # case: (fragments the one-line message must contain)
    "missing column": ("bad_panel.csv", "close", "expected columns"),
    "no volume or value": ("bad_panel.csv", "volume or value"),
    "duplicate row": ("bad_panel.csv", "row 7", "one row per stock and day"),
    "unsorted dates": ("bad_panel.csv", "column date", "row 6", "sort the file"),
    "not a date": ("bad_panel.csv", "column date", "row 9", "'yesterday'", "YYYY-MM-DD"),
    "NaN close": ("bad_panel.csv", "column close", "row 11", "drop the row"),
    "negative price": ("bad_panel.csv", "column low", "row 13", "positive"),
    "text volume": ("bad_panel.csv", "column value", "row 15", "'n/a'"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_a_bad_panel_file_gets_one_clear_error_line(
    tmp_path: Path, good_frame: pd.DataFrame, case: str
) -> None:
    path = _write(tmp_path, _break(good_frame, case))
    with pytest.raises(DataError) as caught:
        load_panel_file(str(path))
    message = str(caught.value)
    assert "\n" not in message
    for fragment in BAD_CASES[case]:
        assert fragment in message, (case, message)


def test_missing_and_unknown_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere\.csv: panel file not found"):
        load_panel_file(str(tmp_path / "nowhere.csv"))
    odd = tmp_path / "prices.xlsx"
    odd.write_text("x")
    with pytest.raises(DataError, match=r"prices\.xlsx: unknown file type"):
        load_panel_file(str(odd))


def test_the_cli_prints_the_error_line_and_exits_2(
    tmp_path: Path, good_frame: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, _break(good_frame, "NaN close"))
    status = main(["evaluate", "--data", str(path), "--baselines", "zero", "--no-cache"])
    captured = capsys.readouterr()
    assert status == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "column close, row 11" in lines[0]


def test_sp500_has_20_stocks_with_sectors_and_no_price_range() -> None:
    ds = load_dataset(DataConfig(market="sp500", cache_dir=None))
    assert ds.n_stocks == 20
    assert "unknown" not in ds.sectors
    assert str(ds.dates[ds.split_days("train")[0]]).startswith("2011-01")
    assert np.all(ds.features[:, :, ds.feature_names.index("range_20")] == 0)  # close-only source
    assert ds.mask[ds.split_days("test")].mean() > 0.95


def test_pse_codes_have_sectors(pse_dataset: MarketDataset) -> None:
    assert pse_dataset.n_stocks == 257  # every symbol with a close is a column (point-in-time universe)
    assert sum(s == "unknown" for s in pse_dataset.sectors) == 0
