"""Recommendation queries and ranked results (MovieLens movie ids)."""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from mlservice.schemas.base import StrictSchema
from mlservice.schemas.fields import BoundedList, category, StrictInteger
from mlservice.schemas.responses import model_ref, ood_warnings

MAX_K = 100
MAX_LIKED = 100
MAX_EXCLUDED = 500
STRATEGIES = ["collaborative", "item_similarity", "popularity"]
REASONS = ["similar_to_rated", "similar_to_liked", "popular"]
ID_RANGE = validate.Range(1, 2**31 - 1)
#: The catalog's genres (MovieLens); checked against the model card's catalog at load.
GENRES = [
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
    "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
]


class RecommendQuerySchema(StrictSchema):
    """Either a known ``user_id`` or, for a new visitor, ``liked_items``; optional filters."""

    OPENAPI_EXTRA = {"oneOf": [{"required": ["user_id"]}, {"required": ["liked_items"]}]}

    user_id = StrictInteger(validate=ID_RANGE, metadata={"description": "A MovieLens user id; unknown users get popular items.", "example": 15})
    liked_items = BoundedList(
        StrictInteger(validate=ID_RANGE),
        validate=validate.Length(1, MAX_LIKED),
        metadata={"description": "Movie ids the visitor liked (new visitors). Ids not in the catalog are skipped "
                  "and flagged in warnings (unknown_item), by position.", "example": [1, 260]},
    )
    k = StrictInteger(load_default=10, validate=validate.Range(1, MAX_K), metadata={"description": "How many items to return."})
    genres = BoundedList(
        fields.String(validate=category(GENRES)),
        validate=validate.Length(1, len(GENRES)),
        metadata={"description": "Only items with at least one of these genres.", "example": ["Comedy", "Drama"]},
    )
    exclude_items = BoundedList(
        StrictInteger(validate=ID_RANGE),
        validate=validate.Length(1, MAX_EXCLUDED),
        metadata={"description": "Movie ids to leave out (ids not in the catalog are ignored).", "example": [356]},
    )

    @validates_schema
    def _exactly_one(self, data: dict[str, Any], **kwargs: object) -> None:
        if ("user_id" in data) == ("liked_items" in data):
            raise ValidationError("Give exactly one of user_id and liked_items.")


class ItemReasonSchema(StrictSchema):
    """Why an item is recommended: the larger part of its score, from the model's own computation."""

    code = fields.String(
        required=True, validate=validate.OneOf(REASONS),
        metadata={"description": "similar_to_rated / similar_to_liked: the similarity votes of the user's highly "
                  "rated or liked items are the larger part of the score; popular: the popularity part is."},
    )
    text = fields.String(required=True, metadata={"description": "The same, in plain words."})
    because_of = fields.Integer(
        required=True, allow_none=True,
        metadata={"description": "The rated or liked movie that cast the largest similarity vote; null when none voted."},
    )
    similarity = fields.Float(required=True, metadata={"description": "Part of the score from the similarity votes of the rated or liked items."})
    popularity = fields.Float(required=True, metadata={"description": "Part of the score from popularity (similarity + popularity = score)."})


class ItemSchema(StrictSchema):
    id = fields.Integer(required=True, metadata={"description": "MovieLens movie id."})
    title = fields.String(required=True)
    score = fields.Float(required=True, metadata={"description": "Ranking score; comparable within one response only."})
    reason = fields.Nested(ItemReasonSchema, required=True)


class RecommendResultSchema(StrictSchema):
    strategy = fields.String(
        required=True,
        validate=validate.OneOf(STRATEGIES),
        metadata={"description": "collaborative (known user), item_similarity (liked items) or popularity (unknown user)."},
    )
    items = fields.List(fields.Nested(ItemSchema), required=True, metadata={"description": "Best first; never an item the user already rated or liked, or excluded, and only the requested genres."})
    warnings = ood_warnings()
    model = model_ref()


class RecommendSettingsSchema(StrictSchema):
    """``[models.recommend.settings]``."""

    rare_item_raters = StrictInteger(
        load_default=5, validate=validate.Range(1, 1_000_000),
        metadata={"description": "Liked items rated by fewer users than this are flagged (rarely_rated_item)."},
    )
    precompute_users = StrictInteger(
        load_default=5_000, validate=validate.Range(0, 1_000_000),
        metadata={"description": "Rank and explain every known user's unfiltered top 100 once at load when the model "
                  "has at most this many users (about 0.25 ms each on MovieLens; 0: never). Their requests are then "
                  "answered from that table; everything else is ranked per request."},
    )
