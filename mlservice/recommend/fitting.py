"""Fit-time helpers of ``ItemKNNRecommender``: the rating matrix, the neighbour matrix, metadata.

Imported by the unpickled model: numpy and scipy only.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

#: Items per similarity block in ``neighbours``; bounds peak memory. At most 2**11 (sort key).
_BLOCK = 2048
#: Catalog size limit of the 23-bit column field in the neighbour sort key.
MAX_ITEMS = 1 << 23
_ONE_BITS = 0x3F800000  # float32 1.0 as an unsigned integer
#: MovieLens marks items without genres this way; it is not a genre to filter on.
NO_GENRES = "(no genres listed)"
_MAX_GENRES = 64  # one bit each in ``genre_bits_``


def csr(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple) -> sparse.csr_matrix:
    """CSR of float32 values; a repeated (row, col) keeps its last value."""
    keys = rows.astype(np.int64) * shape[1] + cols
    last = len(keys) - 1 - np.unique(keys[::-1], return_index=True)[1]
    matrix = sparse.csr_matrix(
        (values[last].astype(np.float32), (rows[last], cols[last])), shape=shape
    )
    matrix.sort_indices()
    return matrix


def neighbours(by_item: sparse.csr_matrix, n_neighbors: int, shrinkage: float) -> sparse.csr_matrix:
    """Each item's top ``n_neighbors`` shrunk cosines, rows rescaled to sum to 1."""
    norms = np.sqrt(np.diff(by_item.indptr).astype(np.float64))
    blocks = [
        _neighbour_block(by_item, start, norms, n_neighbors, shrinkage)
        for start in range(0, by_item.shape[0], _BLOCK)
    ]
    if not blocks:
        return sparse.csr_matrix(by_item.shape[:1] * 2, dtype=np.float32)
    similarity = sparse.vstack(blocks, format="csr")
    totals = np.asarray(similarity.sum(axis=1, dtype=np.float64)).ravel()
    per_entry = np.repeat(totals, np.diff(similarity.indptr))
    similarity.data = (similarity.data / per_entry).astype(np.float32)
    return similarity


def _neighbour_block(
    by_item: sparse.csr_matrix, start: int, norms: np.ndarray, n_neighbors: int, shrinkage: float
) -> sparse.csr_matrix:
    """Rows ``start:start + _BLOCK`` of the top-neighbour matrix (not yet rescaled)."""
    block = (by_item[start : start + _BLOCK] @ by_item.T).tocoo()
    rows, cols = block.row.astype(np.int64), block.col.astype(np.int64)
    sims = block.data / (norms[rows + start] * norms[cols] + shrinkage)
    sims = np.clip(sims, 0.0, 1.0).astype(np.float32)
    keep = (rows + start != cols) & (sims > 0)
    rows, cols, sims = rows[keep], cols[keep], sims[keep]
    order = np.argsort(_row_similarity_column_key(rows, sims, cols))
    rows, cols, sims = rows[order], cols[order], sims[order]
    counts = np.bincount(rows, minlength=block.shape[0])
    rank_in_row = np.arange(len(rows)) - (np.cumsum(counts) - counts)[rows]
    top = rank_in_row < n_neighbors
    shape = (block.shape[0], by_item.shape[0])
    result = sparse.csr_matrix((sims[top], (rows[top], cols[top])), shape=shape)
    result.sort_indices()
    return result


def _row_similarity_column_key(rows: np.ndarray, sims: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """One unique uint64 per entry ordering by row, similarity (desc), column.

    Unique keys make a single fast (unstable) sort deterministic. Bits: row in
    the block (11, hence ``_BLOCK <= 2048``), bits of float32 1.0 minus bits of
    the float32 sim (30; positive floats order like their bits; sims are in
    (0, 1]), column (23, hence ``MAX_ITEMS``).
    """
    inverse = np.uint64(_ONE_BITS) - sims.view(np.uint32).astype(np.uint64)
    return (rows.astype(np.uint64) << 53) | (inverse << 23) | cols.astype(np.uint64)


def texts(values: Sequence[str] | None, first: np.ndarray, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, "", dtype=object)
    picked = np.asarray(values, dtype=object)[first]
    return np.array([v if isinstance(v, str) else "" for v in picked], dtype=object)


def years(values: Sequence[float] | None, first: np.ndarray, n: int) -> np.ndarray:
    """Release years as int16; 0 where unknown."""
    if values is None:
        return np.zeros(n, dtype=np.int16)
    picked = np.asarray(values, dtype=np.float64)[first]
    return np.nan_to_num(picked, nan=0.0).astype(np.int16)


def genre_index(genres: np.ndarray, popular_order: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Genre names, a bit mask per item, and each genre's items in popularity order
    (concatenated, with their bounds), so a genre filter reads only its genres' heads."""
    names = sorted({g for text in genres for g in str(text).split("|")} - {"", NO_GENRES})
    if len(names) > _MAX_GENRES:
        raise ValueError(f"{len(names)} genres exceed {_MAX_GENRES}")
    index = {name: bit for bit, name in enumerate(names)}
    bits = np.zeros(len(genres), dtype=np.uint64)
    for i, text in enumerate(genres):
        for g in str(text).split("|"):
            if g in index:
                bits[i] |= np.uint64(1 << index[g])
    return (np.array(names, dtype=object), bits, *genre_lists(bits, popular_order, len(names)))


def genre_lists(bits: np.ndarray, popular_order: np.ndarray, n_genres: int) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, items): each genre's items in popularity order, concatenated, from a bit mask per item."""
    ordered = [popular_order[(bits[popular_order] & np.uint64(1 << b)) != 0] for b in range(n_genres)]
    indptr = np.concatenate([[0], np.cumsum([len(o) for o in ordered], dtype=np.int64)])
    popular = np.concatenate(ordered).astype(np.int64) if ordered else np.empty(0, dtype=np.int64)
    return indptr, popular


def popularity_order(share: np.ndarray, item_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions by popularity, then item id; each position's rank in that order): the order that breaks all ties."""
    order = np.lexsort((item_ids, -share))
    rank = np.empty(len(share), dtype=np.int64)
    rank[order] = np.arange(len(share))
    return order, rank
