"""Which of the recommender's three strategies answers a query, and the replay of its golden examples.

Recommendations are served by ``rank`` itself, so the card's golden examples,
replayed at load, exercise the production call.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mlservice.scoring.verify import TOLERANCE


def rank(estimator: Any, query: dict[str, Any], with_reasons: bool = False) -> tuple[Any, ...]:
    """(strategy, item ids, scores), best first; with ``with_reasons``, also why each item is
    there, from the same pass over the model.

    Optional filters (``genres``, ``exclude_items``) are passed on only when given.
    """
    k = query["k"]
    filters = {"genres": query["genres"]} if query.get("genres") is not None else {}
    if query.get("exclude_items"):
        filters["exclude"] = query["exclude_items"]
    if "liked_items" in query:
        return "item_similarity", *estimator.recommend_for_items(query["liked_items"], k, with_reasons=with_reasons, **filters)
    if estimator.has_user(query["user_id"]):
        return "collaborative", *estimator.recommend_for_user(query["user_id"], k, with_reasons=with_reasons, **filters)
    return "popularity", *estimator.popular(k, with_reasons=with_reasons, **filters)


def golden_mismatches(estimator: Any, golden: tuple[dict[str, Any], ...]) -> int:
    """How many golden examples (query, then items and scores) the loaded recommender fails to reproduce."""
    return sum(_differs(estimator, example) for example in golden)


def _differs(estimator: Any, example: dict[str, Any]) -> bool:
    _, items, scores = rank(estimator, example["input"])
    want = example["output"]
    return list(map(int, items)) != want["items"] or not np.allclose(scores, want["scores"], rtol=0, atol=TOLERANCE)
