"""The recommender's model card: catalog, time-split metrics, golden requests."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np

from mlservice.training import card_text, common, ranking
from mlservice.training.ranking import Ratings

GOLDEN_K = 10
UNKNOWN_USER = 999_999


def build(
    model: Any,
    params: dict[str, Any],
    data: Ratings,
    split: ranking.Split,
    metrics: dict[str, Any],
    validation: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Card entries after the header (``common.card_header``), in card order."""
    text = card_text.RECOMMEND
    return {
        "kind": "recommender",
        "estimator": text["estimator"],
        "params": params | {"like_threshold": model.like_threshold},
        "features": [],
        "catalog": {
            "items": model.n_items, "users": model.n_users, "ratings": len(data.users),
            "genres": [str(g) for g in model.genre_names_],
        },
        "data": {
            "source": common.data_source(text["data"]["package"], text["data"]["dataset"]),
            "rows": len(data.users),
            **{key: text["data"][key] for key in ("license", "provenance", "citation")},
        },
        "training": _training(split, validation["cutoff_shares"], seed, len(data.users)),
        "metrics": _metrics(metrics, validation, split),
        "intended_use": text["intended_use"],
        "limitations": text["limitations"],
        "golden": golden_examples(model, data, seed),
    }


def _training(split: ranking.Split, shares: list[float], seed: int, n_ratings: int) -> dict:
    cutoff = datetime.fromtimestamp(split.cutoff, timezone.utc).isoformat(timespec="seconds")
    return {
        "seed": seed,
        "split": (
            f"global time cutoff at the {split.share:.0%} quantile of rating timestamps "
            f"({cutoff}); fit on ratings before it; test users rated on both sides; relevant = "
            f"items they rated >= {ranking.LIKED} after the cutoff and not before; the user's "
            "earlier items are never recommended. Hyper-parameters chosen on cutoffs at "
            f"{shares} of the pre-cutoff ratings (pooled over users), "
            "maximising the smallest model/baseline ratio of the three metrics"
        ),
        "test_cutoff": cutoff,
        "final_fit_ratings": n_ratings,
    }


def _metrics(test: dict[str, Any], validation: dict[str, Any], split: ranking.Split) -> dict:
    return {
        **test,
        "baseline_kind": "popularity: most-rated items before the cutoff, minus the user's own",
        "k": ranking.K,
        "test_users": split.n_users,
        "validation": validation,
    }


def golden_examples(model: Any, data: Ratings, seed: int) -> list[dict[str, Any]]:
    """A known user, a list of liked items, an unknown user (popularity), and the
    known user again with a genre filter and an exclusion."""
    if model.has_user(UNKNOWN_USER):
        raise ValueError(f"user {UNKNOWN_USER} exists; pick another id for the unknown-user example")
    rng = np.random.default_rng(seed)
    counts = np.bincount(np.searchsorted(model.user_ids_, data.users))
    user, other = rng.choice(model.user_ids_[counts >= 20], size=2, replace=False)
    mine = data.subset(data.users == other)
    liked = mine.items[np.lexsort((mine.items, -mine.ratings))[:3]]
    requests = [
        {"user_id": int(user), "k": GOLDEN_K},
        {"liked_items": sorted(int(i) for i in liked), "k": GOLDEN_K},
        {"user_id": UNKNOWN_USER, "k": 5},
    ]
    one_genre = {**requests[0], "genres": [str(model.genre_names_[0])]}
    requests.append({**one_genre, "exclude_items": _answer(model, one_genre)["items"][:2]})
    return [{"input": request, "output": _answer(model, request)} for request in requests]


def _answer(model: Any, request: dict[str, Any]) -> dict[str, list]:
    """What the service's own dispatch returns for ``request``."""
    from mlservice.recommend.strategy import rank

    _, items, scores = rank(model, request)
    return {"items": [int(i) for i in items], "scores": [float(s) for s in scores]}

