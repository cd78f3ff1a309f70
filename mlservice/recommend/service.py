"""Recommendations: collaborative for known users, item similarity for liked items, popularity
otherwise; each item says why. Liked items not in the catalog are skipped and flagged, as are
liked items too few users rated."""
from __future__ import annotations

from typing import Any

import numpy as np

from mlservice import issues
from mlservice.decisions.extension import note
from mlservice.observability import metrics
from mlservice.recommend.reasons import reason
from mlservice.recommend.runtime import RecommenderRuntime
from mlservice.recommend.strategy import rank
from mlservice.recommend.votes import Description
from mlservice.registry.model import LoadedModel
from mlservice.registry.routing import run_routed

NAME = "recommend"
Recommender = LoadedModel[RecommenderRuntime]


def recommend(query: dict[str, Any]) -> dict[str, Any]:
    """Ranked items for a validated query, with the strategy that produced them."""
    key = str(query["user_id"]) if "user_id" in query else None
    result, model = run_routed(NAME, key, lambda m: _recommend(m, query), _same_items)
    metrics.count_warnings(NAME, [result["warnings"]])
    note(NAME, model, "one", query, result)
    return {**result, "model": model.ref}


def ranking_with_reasons(estimator: Any, query: dict[str, Any]) -> tuple[str, np.ndarray, np.ndarray, Description]:
    """The model's part of a request: (strategy, item ids, scores, why each item is there)."""
    return rank(estimator, query, with_reasons=True)


def _recommend(model: Recommender, query: dict[str, Any]) -> dict[str, Any]:
    strategy, items, scores, why = _ranked(model, query)
    rated = strategy == "collaborative"
    ranked = [
        {"id": i, "title": title, "score": s, "reason": reason(s, v, b, n, named, rated)}
        for i, title, s, v, b, named, n in zip(
            items.tolist(), why.titles, scores.tolist(), why.votes, why.because, why.because_titles, why.voters
        )
    ]
    return {"strategy": strategy, "items": ranked, "warnings": _liked_warnings(model, query.get("liked_items") or [])}


def _ranked(model: Recommender, query: dict[str, Any]) -> tuple[str, np.ndarray, np.ndarray, Description]:
    """A known user's unfiltered query from the table made at load (``precomputed``), else ranked now."""
    table = model.runtime.rankings
    if table is not None and "user_id" in query and query.get("genres") is None and not query.get("exclude_items"):
        answer = table.get(query["user_id"], query["k"])
        if answer is not None:
            return ("collaborative", *answer)
    return ranking_with_reasons(model.estimator, query)


def _liked_warnings(model: Recommender, liked: list[int]) -> list[dict[str, Any]]:
    """By position: liked items not in the catalog (skipped), or rated by too few users to mean much."""
    if not liked:
        return []  # a known user's query: nothing to look up (the lookup alone costs ~20 µs)
    raters = model.estimator.raters(liked)
    if not len(raters) or raters.min() >= model.settings["rare_item_raters"]:
        return []  # unknown items have no raters: nothing to flag
    unknown = set(model.estimator.unknown_items(liked))
    flags = []
    for index, (item, count) in enumerate(zip(liked, raters)):
        if item in unknown:
            flags.append({"field": "liked_items", "index": index, "issue": issues.UNKNOWN_ITEM})
        elif count < model.settings["rare_item_raters"]:
            flags.append({"field": "liked_items", "index": index, "issue": issues.RARE_ITEM})
    return flags


def _same_items(served: dict[str, Any], shadow: dict[str, Any]) -> bool:
    return [i["id"] for i in served["items"]] == [i["id"] for i in shadow["items"]]

