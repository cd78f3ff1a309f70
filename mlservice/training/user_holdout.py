"""The recommenders' comparison on every user: each user's latest ratings held out.

The global time cutoff of ``ranking.temporal_split`` leaves a few dozen test
users, too few to tell recommenders apart. Here every user with enough history
counts: the last ``HOLDOUT_SHARE`` of their ratings (by time) are held out, the
rest of all ratings train one model, and each user's relevant items are their
held-out ones rated ``>= ranking.LIKED``. Other users' later ratings stay in
training (the usual leave-latest-out protocol), which the card states.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mlservice.training import intervals, ranking
from mlservice.training.ranking import Ranker, Ratings

HOLDOUT_SHARE = 0.2
MIN_RATINGS = 10
HALF_LIFE_DAYS = 180.0
EASE_LAMBDA = 500.0
EASE_MIN_RATERS = 3
PROTOCOL = (
    f"each user with at least {MIN_RATINGS} ratings has the latest {HOLDOUT_SHARE:.0%} of them (by time) "
    f"held out; one model per recommender is fitted on all other ratings (other users' later ratings "
    f"included); relevant = held-out items rated >= {ranking.LIKED}; users with none are left out; "
    f"95% percentile bootstrap over users ({intervals.N_RESAMPLES} resamples), differences paired by user. "
    f"Recency popularity: half-life {HALF_LIFE_DAYS:g} days, aged from the last training rating, or "
    "(as_of_user) counting only ratings up to the user's own last training rating, aged from it; EASE: lambda {EASE_LAMBDA:g}, items with "
    f">= {EASE_MIN_RATERS} raters, not tuned. item-kNN uses the shipped hyper-parameters, tuned on "
    "time cutoffs whose data overlap this holdout"
)


def latest_out_split(data: Ratings) -> tuple[Ratings, dict[int, np.ndarray]]:
    """(training ratings, user -> relevant held-out items) for users with ``MIN_RATINGS`` or more."""
    order = np.lexsort((data.items, data.times, data.users))
    users = data.users[order]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    ends = np.r_[starts[1:], len(users)]
    held = np.zeros(len(users), dtype=bool)
    for s, e in zip(starts, ends):
        if e - s >= MIN_RATINGS:
            held[e - max(1, int(round(HOLDOUT_SHARE * (e - s)))): e] = True
    mask = np.zeros(len(users), dtype=bool)
    mask[order[held]] = True
    later = data.subset(mask & (data.ratings >= ranking.LIKED))
    return data.subset(~mask), later.rated_by_user()


def recency_popularity_ranker(train: Ratings, half_life_days: float = HALF_LIFE_DAYS) -> Ranker:
    """Popularity where each rating counts ``0.5 ** (age / half-life)``, age from the
    last training rating; the user's own items are left out."""
    age_days = (train.times.max() - train.times) / 86_400.0
    weights = np.exp2(-age_days / half_life_days)
    items, inverse = np.unique(train.items, return_inverse=True)
    score = np.bincount(inverse, weights=weights)
    return ranking.ordered_ranker(items[np.lexsort((items, -score))], train)


def recency_popularity_as_of_user(train: Ratings, half_life_days: float = HALF_LIFE_DAYS) -> Ranker:
    """Recency-weighted popularity as the user would have seen it: only ratings up to the
    user's own last training rating count, aged from that moment (no other user's future)."""
    rated = train.rated_by_user()
    last = {int(u): int(train.times[train.users == u].max()) for u in rated}
    items, inverse = np.unique(train.items, return_inverse=True)

    def rank(user: int, k: int) -> np.ndarray:
        now = last.get(user, int(train.times.max()))
        before = train.times <= now
        weights = np.exp2((train.times[before] - now) / 86_400.0 / half_life_days)
        score = np.bincount(inverse[before], weights=weights, minlength=len(items))
        order = items[np.lexsort((items, -score))][: np.count_nonzero(score)]  # unrated yet: unknown
        seen = rated.get(user, np.empty(0, dtype=order.dtype))
        head = order[: k + len(seen)]
        return head[~np.isin(head, seen)][:k]

    return rank


def compare(
    rankers: dict[str, Ranker], relevant: dict[int, np.ndarray], reference: str, seed: int
) -> dict[str, Any]:
    """Each ranker's metrics with bootstrap intervals over users, and its paired
    difference from ``reference`` (the same users, resampled together)."""
    scores = {name: ranking.per_user_metrics(rank, relevant) for name, rank in rankers.items()}
    return {
        "users": len(relevant),
        "metrics": {
            name: {m: intervals.bootstrap_mean(v, seed) for m, v in table.items()} for name, table in scores.items()
        },
        f"difference_from_{reference}": {
            name: {m: intervals.paired_difference(v, scores[reference][m], seed) for m, v in table.items()}
            for name, table in scores.items() if name != reference
        },
    }


def rankers(train: Ratings, fit: Callable[[Ratings], Any]) -> dict[str, Ranker]:
    """The compared recommenders, each built from ``train`` only."""
    return {
        "item_knn": ranking.model_ranker(fit(train)),
        "popularity": ranking.popularity_ranker(train),
        "recency_popularity": recency_popularity_ranker(train),
        "recency_popularity_as_of_user": recency_popularity_as_of_user(train),
    }


def ease_ranker(train: Ratings, lam: float = EASE_LAMBDA, min_raters: int = EASE_MIN_RATERS) -> Ranker:
    """EASE (Steck 2019) on liked-or-not implicit feedback, over items with at least
    ``min_raters`` training raters (the dense item x item weights grow with their square)."""
    items, counts = np.unique(train.items, return_counts=True)
    kept = items[counts >= min_raters]
    users = np.unique(train.users)
    mask = np.isin(train.items, kept)
    x = np.zeros((len(users), len(kept)))
    x[np.searchsorted(users, train.users[mask]), np.searchsorted(kept, train.items[mask])] = 1.0
    gram = x.T @ x
    gram[np.diag_indices_from(gram)] += lam
    p = np.linalg.inv(gram)
    weights = -p / np.diag(p)
    weights[np.diag_indices_from(weights)] = 0.0
    scores = x @ weights
    scores[x > 0] = -np.inf
    fallback = ranking.popularity_ranker(train)

    def rank(user: int, k: int) -> np.ndarray:
        row = np.searchsorted(users, user)
        if row >= len(users) or users[row] != user:
            return fallback(user, k)
        top = np.argsort(-scores[row], kind="stable")[:k]
        return kept[top[np.isfinite(scores[row, top])]]

    return rank
