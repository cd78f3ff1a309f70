"""Recommendations: collaborative for known users, item similarity for liked items, popularity otherwise."""
from __future__ import annotations

from typing import Any

from mlservice.errors import InvalidInput
from mlservice.registry.extension import registry
from mlservice.registry.kinds import recommend as rank

NAME = "recommend"


def recommend(query: dict[str, Any]) -> dict[str, Any]:
    """Ranked items for a validated query, with the strategy that produced them."""
    model = registry().get(NAME)
    estimator = model.estimator
    if "liked_items" in query:
        _check_known(estimator, query["liked_items"])
    strategy, items, scores = rank(estimator, query)
    ranked = [{"id": int(i), "title": estimator.title(int(i)), "score": float(s)} for i, s in zip(items, scores)]
    return {"strategy": strategy, "items": ranked, "model": model.ref}


def _check_known(estimator: Any, liked: list[int]) -> None:
    unknown = set(estimator.unknown_items(liked))
    if unknown:
        positions = {i: ["Unknown item id."] for i, item in enumerate(liked) if item in unknown}
        raise InvalidInput("Some liked items are not in the catalog.", {"json": {"liked_items": positions}})
