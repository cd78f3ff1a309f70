"""How to call each kind of model, so the registry can replay golden examples.

Golden examples check the pipeline itself (``positive_probability``), before any
fast path exists; a classifier's fast path is then checked against the pipeline
(``registry.fastpath``), which it falls back to. Recommendations are served by
``recommend`` itself, so their golden examples exercise the production call.
"""
from __future__ import annotations

from typing import Any

import numpy as np

TOLERANCE = 1e-9


def positive_probability(estimator: Any, rows: list[list[Any]]) -> np.ndarray:
    """The pipeline's P(class 1) for rows in the card's feature order (``None`` = missing).

    Serving goes through ``registry.fastpath.explained``, which falls back to this
    whenever a model has no verified fast path.
    """
    return estimator.predict_proba(np.array(rows, dtype=object))[:, 1]


def recommend(estimator: Any, query: dict[str, Any], explain: bool = False) -> tuple[Any, ...]:
    """Dispatch a query to the recommender: (strategy, item ids, scores), best first; with
    ``explain``, also why each item is there, from the same pass over the model.

    Optional filters (``genres``, ``exclude_items``) are passed on only when given.
    """
    k = query["k"]
    filters = {"genres": query["genres"]} if query.get("genres") is not None else {}
    if query.get("exclude_items"):
        filters["exclude"] = query["exclude_items"]
    if "liked_items" in query:
        return "item_similarity", *estimator.recommend_for_items(query["liked_items"], k, explain=explain, **filters)
    if estimator.has_user(query["user_id"]):
        return "collaborative", *estimator.recommend_for_user(query["user_id"], k, explain=explain, **filters)
    return "popularity", *estimator.popular(k, explain=explain, **filters)


def golden_mismatches(kind: str, estimator: Any, golden: tuple[dict[str, Any], ...]) -> int:
    """How many golden examples the loaded model fails to reproduce."""
    if kind == "binary_classifier":
        got = positive_probability(estimator, [g["input"] for g in golden])
        want = np.array([g["output"][0] for g in golden], dtype=float)
        return int(np.sum(~np.isclose(got, want, rtol=0, atol=TOLERANCE)))
    return sum(_recommendation_differs(estimator, g) for g in golden)


def _recommendation_differs(estimator: Any, example: dict[str, Any]) -> bool:
    _, items, scores = recommend(estimator, example["input"])
    want = example["output"]
    return list(map(int, items)) != want["items"] or not np.allclose(
        scores, want["scores"], rtol=0, atol=TOLERANCE
    )


def to_rows(records: list[dict[str, Any]], columns: tuple[str, ...]) -> list[list[Any]]:
    """Validated records as rows in the model's column order."""
    return [[record[c] for c in columns] for record in records]
