"""Why an item is recommended: the larger part of its score, in plain words.

An item's score is the similarity votes of the user's liked (or highly rated)
items plus a popularity part (``ItemKNNRecommender``). The reason is the larger
of the two parts; it names the seed that cast the largest vote whenever any
seed voted. Both parts are returned, so a reason can be checked against the score.
"""
from __future__ import annotations

from typing import Any


def reason(score: float, votes: float, seed: int, voters: int, title: str | None, rated: bool) -> dict[str, Any]:
    """``seed``: the top-voting seed, -1 when none voted (``title`` then unused); ``rated``:
    the seeds are a known user's highly rated items, else a visitor's liked items."""
    parts = {"similarity": float(votes), "popularity": float(score - votes)}
    if seed < 0:
        return {"code": "popular", "text": "Popular with viewers", "because_of": None, **parts}
    if parts["similarity"] >= parts["popularity"]:
        others = f" and {voters - 1} other movie{'s' if voters > 2 else ''}" if voters > 1 else ""
        text = f"Because you rated {title}{others} highly" if rated else f"Because you liked {title}{others}"
        return {"code": "similar_to_rated" if rated else "similar_to_liked", "text": text, "because_of": int(seed), **parts}
    which = "which you rated highly" if rated else "which you liked"
    return {"code": "popular", "text": f"Popular with viewers, and similar to {title}, {which}",
            "because_of": int(seed), **parts}
