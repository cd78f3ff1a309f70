"""A synthetic catalog of a million items, built as a fitted ``ItemKNNRecommender``.

Fitting on synthetic ratings would spend minutes in the item-item product; the
cost of a request depends only on the fitted attributes, so they are built
directly: popularity-skewed ratings per user, ``n_neighbors`` neighbours per item
(weights summing to 1, as ``fit`` leaves them), genres as bit masks.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from mlservice.recommend import fitting
from mlservice.recommend.model import ItemKNNRecommender
from mlservice.recommend.schemas import GENRES


def synthetic(n_items: int = 1_000_000, n_users: int = 20_000, per_user: int = 100,
              n_neighbors: int = 100, seed: int = 7) -> ItemKNNRecommender:
    rng = np.random.default_rng(seed)
    model = ItemKNNRecommender(n_neighbors=n_neighbors, popularity_weight=0.5)
    model.like_threshold_ = 4.0
    model.item_ids_ = np.arange(1, n_items + 1, dtype=np.int64)
    model.user_ids_ = np.arange(1, n_users + 1, dtype=np.int64)
    model.user_items_ = _ratings(rng, n_users, n_items, per_user)
    raters = np.bincount(model.user_items_.indices, minlength=n_items)
    model._fit_popularity(raters / n_users)
    model.similarity_ = _neighbours(rng, n_items, n_neighbors)
    model.titles_ = np.full(n_items, "", dtype=object)
    model.years_ = np.zeros(n_items, dtype=np.int16)
    _genres(model, rng)
    return model


def _popular_items(rng: np.random.Generator, n_items: int, size: int) -> np.ndarray:
    """Item positions with a long tail: a few items are chosen very often."""
    return np.minimum((rng.pareto(1.2, size) * n_items / 200).astype(np.int64), n_items - 1)


def _ratings(rng: np.random.Generator, n_users: int, n_items: int, per_user: int) -> sparse.csr_matrix:
    items = _popular_items(rng, n_items, n_users * per_user).reshape(n_users, per_user)
    items.sort(axis=1)
    keep = np.ones_like(items, dtype=bool)
    keep[:, 1:] = items[:, 1:] != items[:, :-1]  # one rating per (user, item)
    indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))])
    ratings = rng.integers(1, 6, int(keep.sum())).astype(np.float32)
    return sparse.csr_matrix((ratings, items[keep], indptr), shape=(n_users, n_items))


def _neighbours(rng: np.random.Generator, n_items: int, k: int) -> sparse.csr_matrix:
    columns = _popular_items(rng, n_items, n_items * k).reshape(n_items, k)
    columns.sort(axis=1)
    weights = rng.random((n_items, k)).astype(np.float32)
    weights[:, 1:][columns[:, 1:] == columns[:, :-1]] = 0  # a repeated neighbour counts once
    weights /= weights.sum(axis=1, keepdims=True)
    matrix = sparse.csr_matrix((weights.ravel(), columns.ravel(), np.arange(0, n_items * k + 1, k)),
                               shape=(n_items, n_items))
    matrix.eliminate_zeros()
    return matrix


def _genres(model: ItemKNNRecommender, rng: np.random.Generator) -> None:
    """One to three genres per item, with each genre's items in popularity order (as ``fit``)."""
    names = sorted(GENRES)
    n = len(model.item_ids_)
    bits = np.zeros(n, dtype=np.uint64)
    for _ in range(3):
        bits |= np.left_shift(np.uint64(1), rng.integers(0, len(names), n).astype(np.uint64))
    model.genres_ = np.full(n, "", dtype=object)
    model.genre_names_ = np.array(names, dtype=object)
    model.genre_bits_ = bits
    model.genre_indptr_, model.genre_popular_ = fitting.genre_lists(bits, model.popular_order_, len(names))
