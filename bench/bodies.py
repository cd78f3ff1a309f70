"""Request bodies for the harness: the model cards' golden inputs, and known users for the recommender."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from mlservice.registry.model import LoadedModel

SIZES = (1, 100, 1000)
#: Known users the /recommend case asks for in turn, drawn with this seed.
RECOMMEND_USERS, RECOMMEND_SEED = 256, 7


def records(model: LoadedModel) -> list[dict[str, Any]]:
    """The card's golden rows as API requests (an omitted optional field is a missing value)."""
    return [{field: value for field, value in zip(model.input_fields, g["input"]) if value is not None}
            for g in model.card.golden]


def classifier_bodies(model: LoadedModel, folder: Path) -> dict[int, Path]:
    """``{rows: path}``: one row, then ``{"rows": [...]}`` batches of 100 and 1,000."""
    rows = records(model)
    paths = {}
    for size in SIZES:
        batch = (rows * (size // len(rows) + 1))[:size]
        paths[size] = _write(folder / f"{model.spec.name}-{size}.json", batch[0] if size == 1 else {"rows": batch})
    return paths


def columns_body(model: LoadedModel, folder: Path, size: int = 1000) -> Path:
    """The same 1,000 rows as the row batch, one list per field (null: a missing value)."""
    rows = records(model)
    batch = (rows * (size // len(rows) + 1))[:size]
    columns = {field: [row.get(field) for row in batch] for field in model.input_fields}
    return _write(folder / f"{model.spec.name}-columns-{size}.json", {"columns": columns})


def recommend_body(model: LoadedModel, folder: Path, users: int = RECOMMEND_USERS, ranked: bool = False) -> Path:
    """Top-10 for known users (the collaborative strategy, the most work per request), one per
    line, which ``post.lua`` sends in turn: a server that keeps anything from one request to the
    next must not be timed on one user. ``ranked``: the same users excluding the most popular
    item, a filter, so this service ranks each request instead of reading its table made at load."""
    ids = np.random.default_rng(RECOMMEND_SEED).permutation(model.estimator.user_ids_)[:users]
    estimator = model.estimator
    extra = {"exclude_items": [int(estimator.item_ids_[estimator.popular_order_[0]])]} if ranked else {}
    name = "recommend-ranked-1.json" if ranked else "recommend-1.json"
    return _write(folder / name, *({"user_id": int(u), "k": 10, **extra} for u in ids))


def tutorial_spec(models: dict[str, LoadedModel], folder: Path) -> Path:
    """What the tutorial-style app needs: each artifact and its fields in column order."""
    spec = {name: {"artifact": str(m.spec.artifact), "fields": list(m.input_fields)} for name, m in models.items()}
    path = folder / "tutorial.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def _write(path: Path, *bodies: Any) -> Path:
    """One JSON document per line (``post.lua`` sends several in turn)."""
    path.write_bytes(b"\n".join(map(orjson.dumps, bodies)))
    return path
