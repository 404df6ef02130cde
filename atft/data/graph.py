"""The stock graph of one day: trailing return correlation, top-k neighbours, sector links.

Built from daily returns up to and including day t only: raw, or market-residual (`market_residual`)
when ``data.graph_returns = "residual"``. Edges connect masked-in stocks, both
directions, no self-loops, in torch-geometric's layout (`edge_index[0]` = source, `[1]` = target);
`edge_attr` = [corr, same_sector, same_subsector].

Cost at N stocks and a W-day window: the correlations are float32 products of unit columns computed in
row blocks of `BLOCK_ELEMENTS` (memory O(block * N), never the whole [N, N] when N is large); each
block's neighbours are picked by `torch.topk`. The time stays O(W * N^2) for the products and O(N^2)
for the scan (every pair must be looked at once to find a stock's strongest links); what is O(N * k) is
everything after the pick: the edges, their de-duplication and their attributes.
"""

from __future__ import annotations

import numpy as np
import torch

from atft.data.config import DataConfig

EDGE_ATTR_NAMES = ("corr", "same_sector", "same_subsector")
BLOCK_ELEMENTS = 16 * 2**20  # correlations held at once (64 MiB of float32): rows per block = this / N


def market_residual(returns: np.ndarray) -> np.ndarray:
    """Returns [W, N] minus beta_n * m, m the equal-weighted mean return of each day over the stocks that
    have one and beta_n the stock's regression slope on m over the window (NaN stays NaN).

    Only the window's own days are used, so the residuals of the window ending on day t are causal.
    """
    finite = np.isfinite(returns)
    r = np.where(finite, returns, 0.0)
    market = r.sum(axis=1) / np.maximum(finite.sum(axis=1), 1)  # (W,) 0 on a day without returns
    m = np.where(finite, market[:, None], 0.0)  # (W, N) the market on the days each stock has a return
    days = np.maximum(finite.sum(axis=0), 1)  # (N,)
    m_centred = np.where(finite, m - m.sum(axis=0) / days, 0.0)
    r_centred = np.where(finite, r - r.sum(axis=0) / days, 0.0)
    variance = (m_centred * m_centred).sum(axis=0)
    beta = np.where(variance > 1e-18, (m_centred * r_centred).sum(axis=0) / np.maximum(variance, 1e-18), 0.0)
    return returns - beta * market[:, None]  # (W, N), NaN where the return is missing


def graph_returns(returns: np.ndarray, config: DataConfig) -> np.ndarray:
    """The trailing returns [W, N] the graph correlates, as `config.graph_returns` and `graph_skip_zero` say."""
    returns = np.asarray(returns, dtype=np.float64)
    if config.graph_skip_zero:
        returns = np.where(returns == 0, np.nan, returns)
    return market_residual(returns) if config.graph_returns == "residual" else returns


def unit_columns(returns: np.ndarray) -> torch.Tensor:
    """float32 [W, N]: each column of `returns` [W, N] centred and scaled to unit norm, so that the dot
    product of two columns is their Pearson correlation over pairwise-available days.

    Missing returns count as the column mean (they add nothing to the covariance). Columns with fewer
    than half the window, or no variance, are all 0 (they correlate 0 with everything).
    """
    finite = np.isfinite(returns)
    count = finite.sum(axis=0)
    mean = np.where(finite, returns, 0.0).sum(axis=0) / np.maximum(count, 1)
    centred = np.where(finite, returns - mean, 0.0)
    scale = np.sqrt((centred * centred).sum(axis=0))
    usable = (count >= max(2, returns.shape[0] // 2)) & (scale > 1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(usable, centred / scale, 0.0)
    return torch.from_numpy(np.ascontiguousarray(unit, dtype=np.float32))


def _correlation(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """Correlations [A, B] of the unit columns `left` [W, A] and `right` [W, B], clipped to [-1, 1]."""
    # torch's matmul obeys torch.set_num_threads (the trainer sets it); numpy's OpenBLAS spawns its own
    # threads, which on a busy 2-core machine made this product 10x slower
    return (left.T @ right).clamp_(-1.0, 1.0)


def trailing_correlation(returns: np.ndarray) -> np.ndarray:
    """Pearson correlation float32 [N, N] of the columns of `returns` [W, N] (see `unit_columns`)."""
    unit = unit_columns(returns)
    return _correlation(unit, unit).numpy()


def _pick(strength: torch.Tensor, k: int, floor: float, first_row: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of each row's k strongest entries that reach `floor`; rows count from `first_row`."""
    values, columns = strength.topk(k, dim=1)  # (B, k)
    keep = values >= floor
    rows = torch.arange(strength.shape[0]).unsqueeze(1).expand_as(columns)
    return (rows[keep] + first_row).numpy(), columns[keep].numpy()


def day_graph(
    returns: np.ndarray,
    mask: np.ndarray,
    sector_ids: np.ndarray,
    subsector_ids: np.ndarray,
    config: DataConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """edge_index int64 [2, E] and edge_attr float32 [E, 3] among the stocks with mask True.

    returns: [W, N] daily log returns of the trailing window ending on the day (NaN missing).
    Each stock links to its `top_k` most correlated stocks with |corr| >= `corr_threshold`, and to its
    `sector_top_k` most correlated same-sector stocks; every link is kept in both directions. Equal
    strengths are ordered by `torch.topk`. Edges are O(n * (top_k + sector_top_k)).
    """
    nodes = np.flatnonzero(mask)
    n = len(nodes)
    if n < 2:
        return np.zeros((2, 0), np.int64), np.zeros((0, len(EDGE_ATTR_NAMES)), np.float32)
    unit = unit_columns(graph_returns(returns[:, nodes], config))  # (W, n)
    sectors = sector_ids[nodes]
    known = sectors >= 0  # -1 = unknown sector
    sector_t = torch.from_numpy(np.where(known, sectors, -1))
    k, k_s = min(config.top_k, n - 1), min(config.sector_top_k, n - 1)
    picked_src, picked_dst = [], []  # chosen links, at most top_k + sector_top_k per stock
    rows_per_block = max(1, BLOCK_ELEMENTS // n)
    for start in range(0, n, rows_per_block):
        stop = min(n, start + rows_per_block)
        strength = _correlation(unit[:, start:stop], unit).abs_()  # (B, n)
        strength[torch.arange(stop - start), torch.arange(start, stop)] = -1.0  # no self-link
        if k > 0:
            src, dst = _pick(strength, k, config.corr_threshold, start)
            picked_src.append(src)
            picked_dst.append(dst)
        if k_s > 0:
            block_sectors = sector_t[start:stop]
            other = (block_sectors.unsqueeze(1) != sector_t.unsqueeze(0)) | (block_sectors < 0).unsqueeze(1)
            src, dst = _pick(strength.masked_fill_(other, -1.0), k_s, 0.0, start)
            picked_src.append(src)
            picked_dst.append(dst)
    src = np.concatenate([*picked_src, *picked_dst]) if picked_src else np.zeros(0, np.int64)
    dst = np.concatenate([*picked_dst, *picked_src]) if picked_src else np.zeros(0, np.int64)
    # both directions, no self-loops, each pair once, sorted by (source, target)
    pair = np.unique(src.astype(np.int64) * n + dst)
    src, dst = np.divmod(pair, n)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    corr = (unit[:, src] * unit[:, dst]).sum(dim=0).clamp_(-1.0, 1.0).numpy()  # (E,) the same both ways
    same_sector = (sectors[src] == sectors[dst]) & known[src]
    subsectors = subsector_ids[nodes]
    attr = np.stack(
        [
            corr,
            same_sector.astype(np.float32),
            ((subsectors[src] == subsectors[dst]) & (subsectors[src] >= 0)).astype(np.float32),
        ],
        axis=1,
    ).astype(np.float32)
    edge_index = np.stack([nodes[src], nodes[dst]]).astype(np.int64)
    return edge_index, attr
