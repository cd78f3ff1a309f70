"""Recommendation queries and ranked results (MovieLens movie ids)."""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from mlservice.schemas import ModelRefSchema, StrictInteger, StrictSchema

MAX_K = 100
MAX_LIKED = 100
STRATEGIES = ["collaborative", "item_similarity", "popularity"]
ID_RANGE = validate.Range(1, 2**31 - 1)


class RecommendQuerySchema(StrictSchema):
    """Either a known ``user_id`` or, for a new visitor, ``liked_items``."""

    user_id = StrictInteger(validate=ID_RANGE, metadata={"description": "A MovieLens user id; unknown users get popular items.", "example": 15})
    liked_items = fields.List(
        StrictInteger(validate=ID_RANGE),
        validate=validate.Length(1, MAX_LIKED),
        metadata={"description": "Movie ids the visitor liked (new visitors).", "example": [1, 260]},
    )
    k = StrictInteger(load_default=10, validate=validate.Range(1, MAX_K), metadata={"description": "How many items to return."})

    @validates_schema
    def _exactly_one(self, data: dict[str, Any], **kwargs: object) -> None:
        if ("user_id" in data) == ("liked_items" in data):
            raise ValidationError("Give exactly one of user_id and liked_items.")


class ItemSchema(StrictSchema):
    id = fields.Integer(required=True, metadata={"description": "MovieLens movie id."})
    title = fields.String(required=True)
    score = fields.Float(required=True, metadata={"description": "Ranking score; comparable within one response only."})


class RecommendResultSchema(StrictSchema):
    strategy = fields.String(
        required=True,
        validate=validate.OneOf(STRATEGIES),
        metadata={"description": "collaborative (known user), item_similarity (liked items) or popularity (unknown user)."},
    )
    items = fields.List(fields.Nested(ItemSchema), required=True, metadata={"description": "Best first; never an item the user already rated or liked."})
    model = fields.Nested(ModelRefSchema, required=True)


class RecommendSettingsSchema(StrictSchema):
    """``[models.recommend.settings]``: nothing to set yet."""
