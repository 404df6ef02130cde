"""The vectorised evaluation path (ridge path, scatter pivot, keyed join, one pass per horizon) gives the
same numbers, bit for bit, as the pandas path it replaced (kept here as the reference)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from atft import baselines, evaluate, metrics
from atft.data import MarketDataset
from atft.evaluate import evaluate_models, with_holding_returns


def _pivot_matrices(frame, horizon, calendar=None):
    """The pandas pivot that `frame_to_matrices` replaced."""
    rows = frame[frame["horizon"] == horizon]
    rows = rows.assign(date=pd.to_datetime(rows["date"]))
    columns = ["prediction", "target", *(c for c in metrics.HOLDING_COLUMNS if c in rows.columns)]
    wide = rows.pivot(index="date", columns="code", values=columns).sort_index()
    if calendar is not None:
        days = pd.DatetimeIndex(pd.to_datetime(np.asarray(calendar)))
        wide = wide.reindex(days[(days >= wide.index.min()) & (days <= wide.index.max())])
    matrices = {
        c: wide[c].fillna(False).to_numpy(dtype=bool) if c == "exited" else wide[c].to_numpy(dtype=np.float64)
        for c in columns
    }
    return wide.index.to_numpy(), matrices


def _merge_holding(frame, holding):
    """The pandas merge that `with_holding_returns` replaced."""
    base = frame.drop(columns=[c for c in ("held_return", "exited") if c in frame.columns])
    merged = base.assign(date=pd.to_datetime(base["date"])).merge(
        holding, on=["date", "code", "horizon"], how="left", validate="many_to_one"
    )
    merged["exited"] = merged["exited"].fillna(False).astype(bool)
    return merged


def _old_ridge_fits(x, y, alphas):
    fits = []
    for alpha in alphas:
        x_mean, y_mean = x.mean(axis=0), float(y.mean())
        xc = x - x_mean
        weights = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y - y_mean))
        fits.append((weights, y_mean - float(x_mean @ weights)))
    return fits


@pytest.fixture(scope="module")
def frames(synthetic_dataset: MarketDataset) -> dict[str, pd.DataFrame]:
    return baselines.run_baselines(synthetic_dataset, "test", ["zero", "reversal", "ridge"])


def test_ridge_path_equals_one_fit_per_alpha(synthetic_dataset: MarketDataset) -> None:
    x32, y, _, _ = baselines.design(synthetic_dataset, "train", 1)
    x = x32.astype(np.float64)  # design gives float32 rows (a raw window is wide); the fit is in float64
    new = baselines.ridge_path(x, y.astype(np.float64), baselines.RIDGE_ALPHAS)
    old = _old_ridge_fits(x, y.astype(np.float64), baselines.RIDGE_ALPHAS)
    for (w32, b32), (w64, b64) in zip(
        baselines.ridge_path(x32, y.astype(np.float64), baselines.RIDGE_ALPHAS), new, strict=True
    ):
        np.testing.assert_array_equal(w32, w64)
        assert b32 == b64
    for (w_new, b_new), (w_old, b_old) in zip(new, old, strict=True):
        np.testing.assert_array_equal(w_new, w_old)
        assert b_new == b_old


def test_scatter_matrices_equal_the_pivot(synthetic_dataset: MarketDataset, frames) -> None:
    holding = synthetic_dataset.holding_frame("test")
    calendar = synthetic_dataset.trading_days("test")
    frame = with_holding_returns(frames["ridge"], holding).sample(frac=1.0, random_state=0)  # any row order
    frame = frame[frame["code"] != frame["code"].iloc[0]]  # a stock missing: NaN column in neither
    for horizon in synthetic_dataset.horizons:
        for cal in (None, calendar):
            dates, new = metrics.frame_to_matrices(frame, horizon, cal)
            old_dates, old = _pivot_matrices(frame, horizon, cal)
            np.testing.assert_array_equal(dates, old_dates)
            assert list(new) == list(old)
            for key in new:
                assert new[key].dtype == old[key].dtype
                np.testing.assert_array_equal(new[key], old[key])


def test_keyed_join_equals_the_merge(synthetic_dataset: MarketDataset, frames) -> None:
    holding = synthetic_dataset.holding_frame("test")
    frame = frames["reversal"].iloc[::3]  # a non-contiguous index
    # a row the holding frame lacks: NaN held return, not exited
    extra = frame.iloc[:1].assign(code="NOT-A-CODE")
    frame = pd.concat([frame, extra])
    new, old = with_holding_returns(frame, holding), _merge_holding(frame, holding)
    pd.testing.assert_frame_equal(new, old)
    assert np.isnan(new["held_return"].iloc[-1]) and not new["exited"].iloc[-1]
    with pytest.raises(pd.errors.MergeError, match="several rows"):
        with_holding_returns(frame, pd.concat([holding, holding.iloc[:1]]))


def test_evaluate_models_equals_the_pandas_path(
    synthetic_dataset: MarketDataset, frames, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = evaluate_models(synthetic_dataset, "test", frames, baselines=["zero", "reversal"])
    monkeypatch.setattr(metrics, "frame_to_matrices", _pivot_matrices)
    monkeypatch.setattr(evaluate, "with_holding_returns", _merge_holding)
    old_rows = []
    old_daily = {}
    holding = synthetic_dataset.holding_frame("test")
    calendar = synthetic_dataset.trading_days("test")
    for name, frame in frames.items():
        merged = _merge_holding(frame, holding)
        for row in metrics.evaluate_frame(merged, calendar=calendar):
            old_rows.append({"model": name, **row})
            old_daily[(name, row["horizon"])] = metrics.daily_rank_ic(merged, row["horizon"], calendar)
    assert new.rows == old_rows or _same_with_nan(new.rows, old_rows)
    for key, series in old_daily.items():
        pd.testing.assert_series_equal(new.daily_rank_ic[key], series, check_exact=True)


def _same_with_nan(left: list[dict], right: list[dict]) -> bool:
    """Equal rows, NaN equal to NaN (the zero model has NaN statistics)."""
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            same = a[key] == b[key] or (
                isinstance(a[key], float)
                and isinstance(b[key], float)
                and np.isnan(a[key])
                and np.isnan(b[key])
            )
            assert same, (a["model"], a["horizon"], key, a[key], b[key])
    return True
