"""`MarketDataset`: the built arrays of one market and the day batches of docs/architecture.md.

`load_dataset(config)` reads the market, cleans it, computes features, targets and splits, and caches
the arrays in `config.cache_dir` under a hash of the config, the data-format version and the source
file's identity: one folder of .npy files that the second load memory-maps (a day batch reads only its
look-back window), plus each day's graph in ``graphs/`` once it has been computed.
"""

from __future__ import annotations

import json
import logging
import time
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from atft.data.cleaning import clean_panel
from atft.data.config import DataConfig
from atft.data.features import (
    FEATURE_NAMES,
    RAW_CHANNELS,
    bar_planes,
    forward_targets,
    holding_returns,
    normalised_features,
    raw_window,
)
from atft.data.graph import day_graph
from atft.data.panel import DataError, RawPanel
from atft.data.splits import MIN_STOCKS_PER_DAY, SPLITS, split_days, split_ends
from atft.data.synthetic import synthetic_panel
from atft.io import atomic_directory, atomic_file

logger = logging.getLogger(__name__)

GRAPH_MEMORY_BYTES = 256 * 2**20  # day graphs kept in memory per dataset (least recently used out first)

ARRAY_KEYS = ("features", "mask", "log_ret", "raw_targets", "targets", "target_mask", "bars")


def _label_ids(labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Integer id per label ("unknown" -> -1) and the sorted known labels."""
    known = sorted({label for label in labels if label and label != "unknown"})
    lookup = {label: i for i, label in enumerate(known)}
    return np.array([lookup.get(label, -1) for label in labels], dtype=np.int64), known


class MarketDataset:
    """Arrays of one market: features [D, N, F], masks, targets [D, N, H], daily returns, splits.

    Day index t runs over `dates` (the warm-up days before `config.start` included); `split_days`
    gives the usable days of each split, `batch(t)` the batch dict of day t.
    """

    def __init__(
        self,
        config: DataConfig,
        *,
        dates: np.ndarray,
        codes: list[str],
        sectors: list[str],
        subsectors: list[str],
        arrays: dict[str, np.ndarray],
        splits: dict[str, np.ndarray],
        quality_report: dict[str, Any],
        signal: np.ndarray | None = None,
        oracle_ic: dict[int, float] | None = None,
    ) -> None:
        self.config = config
        self.dates = np.asarray(dates, dtype="datetime64[D]")
        self.codes = list(codes)
        self.sectors = list(sectors)
        self.subsectors = list(subsectors)
        # the channels of a window step (model input), by data.inputs
        self.feature_names: list[str] = {
            "features": list(FEATURE_NAMES),
            "raw": list(RAW_CHANNELS),
            "both": [*FEATURE_NAMES, *RAW_CHANNELS],
        }[config.inputs]
        self.horizons: tuple[int, ...] = tuple(int(h) for h in config.horizons)
        self.features: np.ndarray = arrays["features"]  # float32 [D, N, 18] FEATURE_NAMES, 0 where masked
        self.bars: np.ndarray = arrays["bars"]  # float32 [D, N, 6] the planes of raw_window (bar_planes)
        self.mask: np.ndarray = arrays["mask"]  # bool [D, N], causal validity
        self.log_ret: np.ndarray = arrays["log_ret"]  # float32 [D, N], cleaned daily log returns
        self.raw_targets: np.ndarray = arrays["raw_targets"]  # float32 [D, N, H], NaN unknown
        self.targets: np.ndarray = arrays["targets"]  # float32 [D, N, H], per-day z, 0 unknown
        self.target_mask: np.ndarray = arrays["target_mask"]  # bool [D, N, H]
        self.splits = {name: np.asarray(days, dtype=np.int64) for name, days in splits.items()}
        self.quality_report = dict(quality_report)
        self.signal = signal  # synthetic only: the planted signal [D, N]
        self.oracle_ic = oracle_ic
        self.sector_ids, self.sector_names = _label_ids(self.sectors)
        self.subsector_ids, _ = _label_ids(self.subsectors)
        static = np.zeros((len(self.codes), max(1, len(self.sector_names))), np.float32)
        known = self.sector_ids >= 0
        static[np.flatnonzero(known), self.sector_ids[known]] = 1.0
        self.static_features = static  # float32 [N, S]: sector one-hot
        self.graph_dir: Path | None = None  # where day graphs are cached on disk (set by load_dataset)
        self._graphs: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._graph_bytes = 0

    # ------------------------------------------------------------------ shape
    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_stocks(self) -> int:
        return len(self.codes)

    @property
    def n_static(self) -> int:
        return int(self.static_features.shape[1])

    @property
    def lookback(self) -> int:
        return self.config.lookback

    @property
    def market(self) -> str:
        return self.config.market

    def split_days(self, split: str) -> np.ndarray:
        """Day indices (int64, increasing) of "train", "val" or "test"."""
        if split not in self.splits:
            raise KeyError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        return self.splits[split]

    # ------------------------------------------------------------------ batches
    def window(self, day: int) -> np.ndarray:
        """The model input float32 [N, L, F] of day t, steps t-L+1 .. t, channels `feature_names`:
        engineered features, the raw price window (`raw_window`), or both side by side."""
        if self.config.inputs == "features":
            return self.feature_window(day)
        raw = raw_window(self.bars, day, self.lookback, np.asarray(self.mask[day]), self.config.clip_z)
        if self.config.inputs == "raw":
            return raw
        return np.concatenate([self.feature_window(day), raw], axis=-1)

    def input_rows(self, days: np.ndarray, stocks: np.ndarray) -> np.ndarray:
        """Flat inputs float32 [rows, F'] of (day, stock) pairs for the baselines, the same information
        the model reads: day t's features, the raw window flattened (step-major), or both."""
        days, stocks = np.asarray(days), np.asarray(stocks)
        parts = []
        if self.config.inputs in ("features", "both"):
            parts.append(np.asarray(self.features[days, stocks], dtype=np.float32))
        if self.config.inputs in ("raw", "both"):
            flat = np.zeros((len(days), self.lookback * len(RAW_CHANNELS)), np.float32)
            for day in np.unique(days):
                rows = np.flatnonzero(days == day)
                window = raw_window(
                    self.bars, int(day), self.lookback, np.asarray(self.mask[day]), self.config.clip_z
                )
                flat[rows] = window[stocks[rows]].reshape(len(rows), -1)
            parts.append(flat)
        return np.concatenate(parts, axis=1)

    @property
    def input_names(self) -> list[str]:
        """Column names of `input_rows` (raw channels as <channel>_lag<k>, k days before t)."""
        names = list(FEATURE_NAMES) if self.config.inputs in ("features", "both") else []
        if self.config.inputs in ("raw", "both"):
            names += [
                f"{channel}_lag{self.lookback - 1 - step}"
                for step in range(self.lookback)
                for channel in RAW_CHANNELS
            ]
        return names

    def feature_window(self, day: int) -> np.ndarray:
        """The engineered features float32 [N, L, 18] of day t: steps t-L+1 .. t, zero before the first
        day and for stocks masked out on day t."""
        length = self.lookback
        lo = max(0, day - length + 1)
        block = self.features[lo : day + 1]  # (l, N, F)
        if block.shape[0] < length:
            pad = np.zeros((length - block.shape[0], *block.shape[1:]), np.float32)
            block = np.concatenate([pad, block])
        out = np.ascontiguousarray(block.transpose(1, 0, 2))  # (N, L, F)
        out[~self.mask[day]] = 0.0
        return out

    def graph(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """edge_index int64 [2, E], edge_attr float32 [E, 3] of day t (trailing correlation window).

        Each day's graph is computed once: it is kept in memory (least recently used first out, at most
        `GRAPH_MEMORY_BYTES`) and, when the dataset lives in a cache folder, in ``graphs/`` beside it.
        """
        day = int(day)
        if day in self._graphs:
            self._graphs.move_to_end(day)
            return self._graphs[day]
        stored = None if self.graph_dir is None else self.graph_dir / f"{day:06d}.npz"
        if stored is not None and stored.exists():
            try:
                with np.load(stored, allow_pickle=False) as saved:
                    graph = saved["edge_index"].astype(np.int64), saved["edge_attr"]
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
                logger.warning("graph cache %s unreadable (%s); recomputing it", stored, exc)
                stored.unlink(missing_ok=True)
                graph = None
            if graph is not None:
                return self._remember(day, graph)
        lo = max(0, day - self.config.corr_window + 1)
        graph = day_graph(
            np.asarray(self.log_ret[lo : day + 1]),
            np.asarray(self.mask[day]),
            self.sector_ids,
            self.subsector_ids,
            self.config,
        )
        if stored is not None:
            try:
                with atomic_file(stored) as stream:
                    np.savez(stream, edge_index=graph[0].astype(np.int32), edge_attr=graph[1])
            except OSError as exc:  # a read-only cache still serves the arrays
                logger.warning("cannot cache the graph of day %d in %s (%s)", day, stored, exc)
        return self._remember(day, graph)

    def _remember(self, day: int, graph: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        self._graphs[day] = graph
        self._graph_bytes += graph[0].nbytes + graph[1].nbytes
        while self._graph_bytes > GRAPH_MEMORY_BYTES and len(self._graphs) > 1:
            _, (old_index, old_attr) = self._graphs.popitem(last=False)
            self._graph_bytes -= old_index.nbytes + old_attr.nbytes
        return graph

    def batch(self, day: int) -> dict[str, Any]:
        """The batch dict of day `day` (docs/architecture.md): torch tensors, date string and codes."""
        if not 0 <= day < len(self.dates):
            raise IndexError(f"day {day} outside 0..{len(self.dates) - 1}")
        edge_index, edge_attr = self.graph(day)
        return {
            "features": torch.from_numpy(self.window(day)),
            "mask": torch.from_numpy(np.array(self.mask[day])),
            "edge_index": torch.from_numpy(edge_index.copy()),
            "edge_attr": torch.from_numpy(edge_attr.copy()),
            "static_features": torch.from_numpy(self.static_features.copy()),
            "targets": torch.from_numpy(np.array(self.targets[day])),
            "raw_targets": torch.from_numpy(np.array(self.raw_targets[day])),
            "target_mask": torch.from_numpy(np.array(self.target_mask[day])),
            "date": str(self.dates[day]),
            "codes": list(self.codes),
        }

    def batch_days(self, days: Sequence[int]) -> dict[str, Any]:
        """Several days as one block-diagonal graph batch (torch_geometric's `Batch.from_data_list`).

        Stocks of all days are stacked along the first axis (N_total = len(days) * N) and each day's
        edges are offset to its own block, so no edge links two days. ``batch`` int64 [N_total] names
        the day (0 .. len(days)-1) of every row; a loss must compute its cross-sectional terms per
        ``batch`` group. ``dates`` and ``codes`` are lists per day.
        """
        from torch_geometric.data import Batch, Data

        if not days:
            raise ValueError("batch_days needs at least one day")
        per_day = [self.batch(int(day)) for day in days]
        tensors = ("features", "mask", "static_features", "targets", "raw_targets", "target_mask")
        graphs = [
            Data(
                x=b["features"],
                edge_index=b["edge_index"],
                edge_attr=b["edge_attr"],
                **{key: b[key] for key in tensors if key != "features"},
                num_nodes=int(b["mask"].shape[0]),
            )
            for b in per_day
        ]
        joined = Batch.from_data_list(graphs)
        out: dict[str, Any] = {key: joined[key] for key in tensors if key != "features"}
        out |= {
            "features": joined.x,
            "edge_index": joined.edge_index,
            "edge_attr": joined.edge_attr,
            "batch": joined.batch,
            "dates": [b["date"] for b in per_day],
            "codes": [b["codes"] for b in per_day],
        }
        return out

    def iter_batches(self, split: str) -> Iterator[dict[str, Any]]:
        """Batches of every day of a split, in date order."""
        for day in self.split_days(split):
            yield self.batch(int(day))

    # ------------------------------------------------------------------ frames
    def predictions_frame(self, split: str, predictions: np.ndarray) -> pd.DataFrame:
        """The long predictions frame (docs/architecture.md) from predictions [len(days), N, H] of a split.

        Rows: every stock masked in on the day, every horizon; `target` is the raw forward return (NaN
        where unknown, so metrics skip it).
        """
        days = self.split_days(split)
        values = np.asarray(predictions, dtype=np.float64)
        expected = (len(days), self.n_stocks, len(self.horizons))
        if values.shape != expected:
            raise ValueError(
                f"predictions have shape {values.shape}; expected (days, stocks, horizons) = {expected}"
            )
        day_idx, stock_idx = np.nonzero(self.mask[days])
        parts = []
        for k, horizon in enumerate(self.horizons):
            parts.append(
                pd.DataFrame(
                    {
                        "date": self.dates[days][day_idx].astype("datetime64[ns]"),
                        "code": np.asarray(self.codes, dtype=object)[stock_idx],
                        "horizon": np.full(len(day_idx), horizon, dtype=np.int64),
                        "prediction": values[day_idx, stock_idx, k],
                        "target": self.raw_targets[days][day_idx, stock_idx, k].astype(np.float64),
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)

    def holding_frame(self, split: str) -> pd.DataFrame:
        """Outcomes for the long-short backtest: date, code, horizon, held_return, exited for every stock
        masked in on a day of the split (`atft.data.features.holding_returns`: the last available return
        of a stock whose prices end inside the holding period, and whether they ended)."""
        days = self.split_days(split)
        held, exited = holding_returns(self.log_ret[days[0] :].astype(np.float64), self.horizons)
        offset = days - days[0]
        day_idx, stock_idx = np.nonzero(self.mask[days])
        parts = [
            pd.DataFrame(
                {
                    "date": self.dates[days][day_idx].astype("datetime64[ns]"),
                    "code": np.asarray(self.codes, dtype=object)[stock_idx],
                    "horizon": np.full(len(day_idx), horizon, dtype=np.int64),
                    "held_return": held[offset[day_idx], stock_idx, k],
                    "exited": exited[offset[day_idx], stock_idx, k],
                }
            )
            for k, horizon in enumerate(self.horizons)
        ]
        return pd.concat(parts, ignore_index=True)

    def trading_days(self, split: str) -> np.ndarray:
        """Every trading day (datetime64[D]) from the first to the last day of a split, usable or not: the
        calendar over which the long-short book rebalances every h days."""
        days = self.split_days(split)
        return self.dates[days[0] : days[-1] + 1]

    def oracle_frame(self, split: str) -> pd.DataFrame:
        """Synthetic only: the predictions of an oracle that knows the planted signal (S[t] at every
        horizon)."""
        if self.signal is None:
            raise ValueError(f"the {self.market} market has no planted signal; only synthetic has an oracle")
        days = self.split_days(split)
        signal = self.signal[days][:, :, None].repeat(len(self.horizons), axis=2)
        return self.predictions_frame(split, signal)

    def describe(self) -> dict[str, Any]:
        """Summary for the `data` command: shape, period, splits and the data-quality counts."""
        first = int(self.quality_report.get("first_day", 0))
        return {
            "market": self.market,
            "source": self.quality_report.get("source", ""),
            "stocks": self.n_stocks,
            "days": len(self.dates) - first,
            "first_date": str(self.dates[first]),
            "last_date": str(self.dates[-1]),
            "lookback": self.lookback,
            "features": self.feature_names,
            "horizons": list(self.horizons),
            "splits": {
                name: {
                    "days": len(days),
                    "first": str(self.dates[days[0]]) if len(days) else None,
                    "last": str(self.dates[days[-1]]) if len(days) else None,
                }
                for name, days in self.splits.items()
            },
            "embargo": self.config.effective_embargo,
            "mean_stocks_per_day": float(self.mask[first:].sum(axis=1).mean()),
            "quality": self.quality_report,
            "oracle_ic": self.oracle_ic,
        }


# ---------------------------------------------------------------------------------------- building


def build_from_panel(raw: RawPanel, config: DataConfig) -> MarketDataset:
    """Clean a raw panel and compute every array of the dataset (no cache)."""
    clean = clean_panel(raw, config)
    features, mask, _ = normalised_features(clean, config)
    raw_targets, targets, target_mask = forward_targets(clean, mask, config.horizons, config.clip_z)
    usable = mask.sum(axis=1) >= MIN_STOCKS_PER_DAY
    splits = split_days(clean.dates, clean.first_day, usable, config)
    quality = dict(clean.quality)
    quality["first_day"] = clean.first_day
    quality["split_ends"] = list(split_ends(clean.dates, clean.first_day, config))
    for name, days in splits.items():
        if len(days) == 0:
            raise DataError(
                f"{raw.source}: the {name} split has no usable day (split ends {quality['split_ends']}, "
                f"embargo {config.effective_embargo} days); widen the period or shorten the embargo"
            )
    arrays = {
        "features": features,
        "mask": mask,
        "log_ret": clean.log_ret.astype(np.float32),
        "raw_targets": raw_targets,
        "targets": targets,
        "target_mask": target_mask,
        "bars": bar_planes(clean),
    }
    signal = None if clean.signal is None else clean.signal.astype(np.float32)
    dataset = MarketDataset(
        config,
        dates=clean.dates,
        codes=clean.codes,
        sectors=clean.sector,
        subsectors=clean.subsector,
        arrays=arrays,
        splits=splits,
        quality_report=quality,
        signal=signal,
    )
    if signal is not None:
        from atft.metrics import evaluate_frame

        rows = evaluate_frame(dataset.oracle_frame("test"), calendar=dataset.trading_days("test"))
        dataset.oracle_ic = {int(row["horizon"]): float(row["ic"]) for row in rows}
    return dataset


def read_market(config: DataConfig) -> RawPanel:
    """The raw panel of `config.market`."""
    from atft.data import sources

    if config.market == "synthetic":
        return synthetic_panel(config)
    if config.market == "pse":
        return sources.load_pse()
    if config.market == "sp500":
        return sources.load_sp500()
    return sources.load_panel_file(str(config.panel_path))


def source_fingerprint(config: DataConfig) -> str:
    """Identity of the source files (path, size, mtime) for the cache key; "" for synthetic."""
    from atft.data import sources

    if config.market == "pse":
        return "|".join(sources.fingerprint(p) for p in sources.pse_files())
    if config.market == "sp500":
        return sources.fingerprint(sources.sp500_file())
    if config.market == "panel":
        path = Path(str(config.panel_path))
        if not path.exists():
            raise DataError(f"{path}: panel file not found; give an existing parquet or CSV file")
        return sources.fingerprint(path)
    return ""


# ---------------------------------------------------------------------------------------- cache


def cache_path(config: DataConfig) -> Path | None:
    """The cache folder of the dataset of `config` (one .npy file per array); None without a cache_dir."""
    if not config.cache_dir:
        return None
    return Path(config.cache_dir) / f"{config.market}-{config.cache_key(source_fingerprint(config))}"


def save_dataset(dataset: MarketDataset, path: Path) -> None:
    """Write the arrays as .npy files plus meta.json into the folder `path`, atomically.

    One .npy per array, so `read_cached` memory-maps them and a day batch reads only its window.
    """
    meta = {
        "config": dataset.config.to_dict(),
        "codes": dataset.codes,
        "sectors": dataset.sectors,
        "subsectors": dataset.subsectors,
        "quality_report": dataset.quality_report,
        "oracle_ic": None if dataset.oracle_ic is None else {str(k): v for k, v in dataset.oracle_ic.items()},
    }
    payload: dict[str, np.ndarray] = {key: np.asarray(getattr(dataset, key)) for key in ARRAY_KEYS}
    payload["dates"] = dataset.dates.astype("datetime64[D]").astype(np.int64)
    for name, days in dataset.splits.items():
        payload[f"split_{name}"] = days
    if dataset.signal is not None:
        payload["signal"] = np.asarray(dataset.signal)
    with atomic_directory(path) as folder:
        for key, array in payload.items():
            np.save(folder / f"{key}.npy", array, allow_pickle=False)
        (folder / "graphs").mkdir()
        (folder / "meta.json").write_text(json.dumps(meta))


def read_cached(path: Path, config: DataConfig) -> MarketDataset:
    """Open a dataset written by `save_dataset`; the large arrays are memory-mapped read-only."""
    meta = json.loads((path / "meta.json").read_text())

    def array(key: str, *, mmap: bool = True) -> np.ndarray:
        return np.load(path / f"{key}.npy", mmap_mode="r" if mmap else None, allow_pickle=False)

    arrays = {key: array(key) for key in ARRAY_KEYS}
    dates = array("dates", mmap=False).astype("datetime64[D]")
    for key, value in arrays.items():
        if value.shape[0] != len(dates) or (value.ndim > 1 and value.shape[1] != len(meta["codes"])):
            raise ValueError(f"{path / key}.npy has shape {value.shape}, expected [{len(dates)}, N, ...]")
    splits = {name: array(f"split_{name}", mmap=False) for name in SPLITS}
    signal = array("signal") if (path / "signal.npy").exists() else None
    oracle = meta["oracle_ic"]
    dataset = MarketDataset(
        config,
        dates=dates,
        codes=meta["codes"],
        sectors=meta["sectors"],
        subsectors=meta["subsectors"],
        arrays=arrays,
        splits=splits,
        quality_report=meta["quality_report"],
        signal=signal,
        oracle_ic=None if oracle is None else {int(k): float(v) for k, v in oracle.items()},
    )
    dataset.graph_dir = path / "graphs"
    return dataset


def _stage_reporter(progress: bool) -> AbstractContextManager[Any]:
    if not progress:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def load_dataset(config: DataConfig, *, progress: bool = False) -> MarketDataset:
    """Build (or read from the cache) the dataset of `config`; `progress` shows a bar on stderr."""
    path = cache_path(config)
    if path is not None and path.exists():
        started = time.perf_counter()
        try:
            dataset = read_cached(path, config)
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("cache %s unreadable (%s); rebuilding it", path, exc)
        else:
            logger.info(
                "loaded %s from cache %s in %.2fs", config.market, path, time.perf_counter() - started
            )
            return dataset
    with _stage_reporter(progress) as bar:
        task = None if bar is None else bar.add_task(f"building the {config.market} dataset", total=3)
        started = time.perf_counter()
        raw = read_market(config)
        if bar is not None:
            bar.update(task, advance=1, description=f"cleaning and features ({len(raw.codes)} stocks)")
        dataset = build_from_panel(raw, config)
        if bar is not None:
            bar.update(task, advance=1, description="writing the cache")
        if path is not None:
            save_dataset(dataset, path)
            dataset = read_cached(path, config)  # memory-mapped: the built arrays can be freed
        if bar is not None:
            bar.update(task, advance=1)
    logger.info("built %s in %.2fs", config.market, time.perf_counter() - started)
    return dataset
