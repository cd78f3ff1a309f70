"""Offline evaluation of recommenders on later-in-time splits.

A random split lets a model "predict" a user's past from their future; a
global time cutoff asks the question the service faces: given every rating up
to now, what will people go on to watch and like?
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

#: A later rating at or above this makes the item relevant to its user.
LIKED = 4.0
K = 10

Ranker = Callable[[int, int], np.ndarray]


@dataclass(frozen=True)
class Ratings:
    """One entry per rating, as parallel arrays."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    times: np.ndarray

    def subset(self, mask: np.ndarray) -> "Ratings":
        return Ratings(self.users[mask], self.items[mask], self.ratings[mask], self.times[mask])

    def rated_by_user(self) -> dict[int, np.ndarray]:
        order = np.lexsort((self.items, self.users))
        users, items = self.users[order], self.items[order]
        starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
        return {int(users[s]): items[s:e] for s, e in zip(starts, np.r_[starts[1:], len(users)])}


@dataclass(frozen=True)
class Split:
    """Ratings before the cutoff, and each test user's relevant later items."""

    train: Ratings
    share: float  # timestamp quantile of the cutoff
    cutoff: int  # first timestamp of the test period
    relevant: dict[int, np.ndarray]  # user id -> item ids

    @property
    def n_users(self) -> int:
        return len(self.relevant)


def temporal_split(data: Ratings, train_share: float) -> Split:
    """Train on ratings before the ``train_share`` timestamp quantile.

    Test users rated on both sides of the cutoff; their relevant items are
    those rated ``>= LIKED`` after it and not rated before it.
    """
    cutoff = int(np.quantile(data.times, train_share, method="higher"))
    before = data.times < cutoff
    known = np.isin(data.users, np.unique(data.users[before]))
    pairs = data.users * (int(data.items.max()) + 1) + data.items
    new = ~np.isin(pairs, pairs[before])
    later = data.subset(~before & known & new & (data.ratings >= LIKED))
    return Split(data.subset(before), train_share, cutoff, later.rated_by_user())


def ranking_metrics(rank: Ranker, relevant: dict[int, np.ndarray], k: int = K) -> dict[str, float]:
    """Mean precision@k, recall@k and NDCG@k (binary relevance) over test users."""
    return {name: float(v.mean()) if len(v) else 0.0 for name, v in per_user_metrics(rank, relevant, k).items()}


def precision_curve(rank: Ranker, relevant: dict[int, np.ndarray], max_k: int) -> list[float]:
    """Mean precision@k over test users for k = 1 .. max_k (one ranking per user)."""
    hits = np.zeros((max(len(relevant), 1), max_k))
    for row, (user, wanted) in enumerate(relevant.items()):
        found = np.isin(rank(user, max_k)[:max_k], wanted)
        hits[row, : len(found)] = found
    return (np.cumsum(hits, axis=1) / np.arange(1, max_k + 1)).mean(axis=0).tolist()


def popularity_ranker(train: Ratings) -> Ranker:
    """The baseline: items rated by the most users before the cutoff (ties:
    lower id), minus the user's own. Built from the data, not from the model."""
    pairs = np.unique(np.column_stack([train.users, train.items]), axis=0)
    items, counts = np.unique(pairs[:, 1], return_counts=True)
    return ordered_ranker(items[np.lexsort((items, -counts))], train)


def ordered_ranker(order: np.ndarray, train: Ratings) -> Ranker:
    """Items in a fixed ``order``, minus what the user rated before the cutoff."""
    rated = train.rated_by_user()

    def rank(user: int, k: int) -> np.ndarray:
        seen = rated.get(user, np.empty(0, dtype=order.dtype))
        head = order[: k + len(seen)]
        return head[~np.isin(head, seen)][:k]

    return rank


def model_ranker(model: object) -> Ranker:
    return lambda user, k: model.recommend_for_user(user, k)[0]


def pooled(results: Iterable[tuple[int, dict[str, float]]]) -> dict[str, float]:
    """User-weighted mean of per-split metrics, as if all test users were one set."""
    results = list(results)
    total = sum(n for n, _ in results)
    return {
        name: sum(n * metrics[name] for n, metrics in results) / max(total, 1)
        for name in results[0][1]
    }


def worst_ratio(model: dict[str, float], baseline: dict[str, float]) -> float:
    """The smallest model/baseline ratio over the metrics: >1 beats it on all."""
    return min(model[name] / baseline[name] if baseline[name] else np.inf for name in model)


def per_user_metrics(rank: Ranker, relevant: dict[int, np.ndarray], k: int = K) -> dict[str, np.ndarray]:
    """precision@k, recall@k and NDCG@k of every test user (in ``relevant``'s order),
    for bootstrap intervals over users."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    rows = []
    for user, wanted in relevant.items():
        hits = np.isin(rank(user, k)[:k], wanted)
        ideal = discounts[: min(len(wanted), k)].sum()
        rows.append((hits.sum() / k, hits.sum() / len(wanted), (discounts[: len(hits)] * hits).sum() / ideal))
    table = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    return dict(zip((f"precision_at_{k}", f"recall_at_{k}", f"ndcg_at_{k}"), table.T))
