"""Choosing k items: the best scores (ties to the more popular item), or the most popular
items a request has not taken, in O(candidates) and never O(catalog).

Imported by the unpickled model: numpy and the standard library only.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .votes import sorted_unique


def best(scores: np.ndarray, positions: np.ndarray, popularity_rank: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best ``scores``, ties to the item (at ``positions``) with the lower
    ``popularity_rank``: O(n) + O(t log t) for the t >= k scores at least the k-th best."""
    k = min(k, len(scores))
    if k == 0:
        return np.empty(0, dtype=np.int64)
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]
    chosen = np.flatnonzero(scores >= kth)
    return chosen[np.lexsort((popularity_rank[positions[chosen]], -scores[chosen]))[:k]]


def most_popular(head: Callable[[int], np.ndarray], taken: np.ndarray, k: int, limit: int) -> np.ndarray:
    """The first k positions of a popularity order (``head(n)``: its first n) where ``taken``
    is zero; at most ``limit`` are read.

    Reads growing heads: the items a user saw or got votes for are mostly popular ones,
    yet rarely all of the first few k.
    """
    n = min(limit, 2 * k + 16)
    while True:
        first = head(n)
        kept = first[taken[first] == 0]
        if len(kept) >= k or len(first) < n or n >= limit:
            return kept[:k]
        n = min(limit, 4 * n)


def genre_head(
    indptr: Sequence[int], popular: np.ndarray, popularity_rank: np.ndarray, bits: Sequence[int], n: int
) -> np.ndarray:
    """The n most popular items with any genre in ``bits``, from each genre's own popularity
    order (``popular[indptr[b]:indptr[b + 1]]``): each is among its genre's first n."""
    parts = [popular[indptr[b] : min(indptr[b] + n, indptr[b + 1])] for b in bits]
    merged = sorted_unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
    return merged[np.argsort(popularity_rank[merged])][:n]
