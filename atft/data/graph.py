"""The stock graph of one day: trailing return correlation, top-k neighbours, sector links.

Built from daily returns up to and including day t only. Edges connect masked-in stocks, both
directions, no self-loops, in torch-geometric's layout (`edge_index[0]` = source, `[1]` = target);
`edge_attr` = [corr, same_sector, same_subsector].
"""

from __future__ import annotations

import numpy as np
import torch

from atft.data.config import DataConfig

EDGE_ATTR_NAMES = ("corr", "same_sector", "same_subsector")


def trailing_correlation(returns: np.ndarray) -> np.ndarray:
    """Pearson correlation [N, N] of the columns of `returns` [W, N] over pairwise-available days.

    Missing returns count as the column mean (they add nothing to the covariance). Columns with fewer
    than half the window, or no variance, correlate 0 with everything.
    """
    finite = np.isfinite(returns)
    count = finite.sum(axis=0)
    mean = np.where(finite, returns, 0.0).sum(axis=0) / np.maximum(count, 1)
    centred = torch.from_numpy(np.ascontiguousarray(np.where(finite, returns - mean, 0.0)))
    # torch's matmul obeys torch.set_num_threads (the trainer sets it); numpy's OpenBLAS spawns its own
    # threads, which on a busy 2-core machine made this product 10x slower
    cov = (centred.T @ centred).numpy()
    scale = np.sqrt(np.diag(cov))
    usable = (count >= max(2, returns.shape[0] // 2)) & (scale > 1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(scale, scale)
    corr[~usable, :] = 0.0
    corr[:, ~usable] = 0.0
    return np.clip(np.nan_to_num(corr, nan=0.0), -1.0, 1.0)


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
    `sector_top_k` most correlated same-sector stocks; every link is kept in both directions. Memory is
    a few [n, n] matrices of the day's stocks (no [n, n] edge matrix); edges are O(n * (top_k +
    sector_top_k)).
    """
    nodes = np.flatnonzero(mask)
    if len(nodes) < 2:
        return np.zeros((2, 0), np.int64), np.zeros((0, len(EDGE_ATTR_NAMES)), np.float32)
    corr = trailing_correlation(returns[:, nodes])
    strength = np.abs(corr)
    np.fill_diagonal(strength, -1.0)
    n = len(nodes)
    picked_src, picked_dst = [], []  # chosen links, at most top_k + sector_top_k per stock
    k = min(config.top_k, n - 1)
    if k > 0:
        top = np.argpartition(-strength, k - 1, axis=1)[:, :k]
        rows = np.repeat(np.arange(n), k)
        picked = top.ravel()
        keep = strength[rows, picked] >= config.corr_threshold
        picked_src.append(rows[keep])
        picked_dst.append(picked[keep])
    sectors = sector_ids[nodes]
    known = sectors >= 0  # -1 = unknown sector
    if config.sector_top_k > 0:
        in_sector = strength  # reused in place: only the sector picks read it from here on
        in_sector[(sectors[:, None] != sectors[None, :]) | ~known[:, None]] = -1.0
        k_s = min(config.sector_top_k, n - 1)
        top = np.argpartition(-in_sector, k_s - 1, axis=1)[:, :k_s]
        rows = np.repeat(np.arange(n), k_s)
        picked = top.ravel()
        keep = in_sector[rows, picked] >= 0.0
        picked_src.append(rows[keep])
        picked_dst.append(picked[keep])
    src = np.concatenate([*picked_src, *picked_dst]) if picked_src else np.zeros(0, np.int64)
    dst = np.concatenate([*picked_dst, *picked_src]) if picked_src else np.zeros(0, np.int64)
    # both directions, no self-loops, each pair once, sorted by (source, target)
    pair = np.unique(src.astype(np.int64) * n + dst)
    src, dst = np.divmod(pair, n)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    same_sector = (sectors[src] == sectors[dst]) & known[src]
    subsectors = subsector_ids[nodes]
    attr = np.stack(
        [
            corr[src, dst],
            same_sector.astype(np.float64),
            ((subsectors[src] == subsectors[dst]) & (subsectors[src] >= 0)).astype(np.float64),
        ],
        axis=1,
    ).astype(np.float32)
    edge_index = np.stack([nodes[src], nodes[dst]]).astype(np.int64)
    return edge_index, attr
