"""Every known user's unfiltered ranking, ranked and explained once when the model loads.

A known user's query without filters is a pure function of the loaded model: the
ratings it learned from do not change until the next version. Ranking and
explaining it per request costs 100-300 µs of votes; answering from a table made
at load costs a slice. Visitors (liked items), filtered queries and unknown users
are still computed per request.

The table holds each user's top ``depth``; a request for k <= depth takes the first
k. That is the top k only if the model's ranking is one strict order over the
catalog that k does not change (``ItemKNNRecommender``: score, then popularity
rank), so the table is checked against the model's own answers for several users
and k before it is used, and not used when any differs.
"""
from __future__ import annotations

import logging
from typing import Any, NamedTuple

import numpy as np

from mlservice.recommend.votes import Description

log = logging.getLogger(__name__)

#: Users checked against the model at load, spread over the table; each at every ``_CHECK_K``.
_CHECKED_USERS = 25
_CHECK_K = (1, 3, 10, 37)

Answer = tuple[np.ndarray, np.ndarray, Description]

#: The table's columns after ``starts``: items, scores, then the ``Description`` fields in order.
_DTYPES = (np.int64, np.float64, object, np.float64, np.int64, object, np.int64)


class UserRankings(NamedTuple):
    """Per user id (sorted), the rows ``starts[i]:starts[i+1]`` of each column: the
    answer of ``recommend_for_user(id, depth, with_reasons=True)``."""

    user_ids: np.ndarray
    starts: np.ndarray
    items: np.ndarray
    scores: np.ndarray
    titles: np.ndarray
    votes: np.ndarray
    because: np.ndarray
    because_titles: np.ndarray
    voters: np.ndarray
    depth: int

    def get(self, user_id: int, k: int) -> Answer | None:
        """The user's top ``k`` as the model gives it; None: not in the table (unknown, or k > depth)."""
        row = int(self.user_ids.searchsorted(user_id))
        if k > self.depth or row >= len(self.user_ids) or self.user_ids[row] != user_id:
            return None
        start = int(self.starts[row])
        end = min(start + k, int(self.starts[row + 1]))
        part = slice(start, end)
        why = Description(self.titles[part].tolist(), self.votes[part].tolist(), self.because[part].tolist(),
                          self.because_titles[part].tolist(), self.voters[part].tolist())
        return self.items[part], self.scores[part], why


def build(estimator: Any, depth: int) -> UserRankings:
    """Rank and explain every known user of ``estimator`` once (~0.25 ms each on MovieLens).

    Answers are written straight into the table's arrays, sized for ``depth`` items per
    user, so building leaves no per-user arrays or lists behind in the heap.
    """
    user_ids = np.asarray(estimator.user_ids_, dtype=np.int64)
    capacity = len(user_ids) * depth
    columns = [np.empty(capacity, dtype=dtype) for dtype in _DTYPES]
    starts = np.zeros(len(user_ids) + 1, dtype=np.int64)
    for row, user in enumerate(user_ids.tolist()):
        items, scores, why = estimator.recommend_for_user(user, depth, with_reasons=True)
        start, end = int(starts[row]), int(starts[row]) + len(items)
        for column, values in zip(columns, (items, scores, *why)):
            column[start:end] = values
        starts[row + 1] = end
    used = int(starts[-1])
    return UserRankings(user_ids, starts, *(c if used == capacity else c[:used].copy() for c in columns), depth)


def checked(table: UserRankings, estimator: Any) -> bool:
    """Whether the table gives what the model gives, for users spread over it at several k."""
    picks = np.linspace(0, len(table.user_ids) - 1, min(_CHECKED_USERS, len(table.user_ids))).astype(int)
    for user_id in table.user_ids[np.unique(picks)].tolist():
        for k in (*_CHECK_K, table.depth):
            if not _same(table.get(user_id, k), estimator.recommend_for_user(user_id, k, with_reasons=True)):
                return False
    return True


def checked_table(estimator: Any, depth: int, max_users: int, name: str) -> UserRankings | None:
    """The checked table, or None (too many users to rank at load, or a model it does not fit)."""
    n_users = len(estimator.user_ids_)
    if n_users > max_users:
        log.info("rankings not precomputed name=%s users=%d limit=%d; every request is ranked", name, n_users, max_users)
        return None
    try:
        table = build(estimator, depth)
        same = checked(table, estimator)
    except Exception as exc:  # noqa: BLE001 - any failure means: rank every request, as without a table
        log.warning("precomputed rankings failed name=%s reason=%s; every request is ranked", name, type(exc).__name__)
        return None
    if not same:
        log.warning("precomputed rankings refused name=%s: they differ from the model's; every request is ranked", name)
        return None
    return table


def _same(got: Answer | None, want: tuple[Any, ...]) -> bool:
    if got is None:
        return False
    items, scores, why = got
    return items.tolist() == want[0].tolist() and scores.tolist() == want[1].tolist() and tuple(why) == tuple(want[2])
