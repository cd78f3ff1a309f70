"""What the recommend use case checks on a model at load."""
from __future__ import annotations

from typing import Any

from mlservice.recommend import precomputed
from mlservice.recommend.schemas import GENRES, MAX_K
from mlservice.registry.model import LoadedModel
from mlservice.usecase import IncompatibleModel


def prepare(model: LoadedModel) -> dict[str, Any]:
    """Refuse a catalog without every genre the API lets clients filter on; rank known users once."""
    catalog = model.card.raw.get("catalog") or {}
    missing = sorted(set(GENRES) - set(catalog.get("genres") or ()))
    if missing:
        raise IncompatibleModel(f"the catalog lacks genres the API offers as filters: {', '.join(missing)}")
    limit = model.settings["precompute_users"]
    return {"rankings": precomputed.prepared(model.estimator, MAX_K, limit, model.spec.name)}
