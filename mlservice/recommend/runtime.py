"""What the recommend use case serves a model with, built at load, or why it refuses the model."""
from __future__ import annotations

from dataclasses import dataclass

from mlservice.recommend import precomputed
from mlservice.recommend.schemas import GENRES, MAX_K
from mlservice.registry.contract import IncompatibleModel
from mlservice.registry.model import LoadedModel


@dataclass(frozen=True, eq=False)
class RecommenderRuntime:
    #: Every known user's unfiltered ranking, made at load; None: every request is ranked.
    rankings: precomputed.UserRankings | None


def build_runtime(model: LoadedModel) -> RecommenderRuntime:
    """Refuse a catalog without every genre the API lets clients filter on; rank known users once."""
    catalog = model.card.raw.get("catalog") or {}
    missing = sorted(set(GENRES) - set(catalog.get("genres") or ()))
    if missing:
        raise IncompatibleModel(f"the catalog lacks genres the API offers as filters: {', '.join(missing)}")
    limit = model.settings["precompute_users"]
    return RecommenderRuntime(precomputed.checked_table(model.estimator, MAX_K, limit, model.spec.name))
