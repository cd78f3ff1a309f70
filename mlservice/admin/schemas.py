"""Model metadata and health responses."""
from __future__ import annotations

from marshmallow import fields

from mlservice.schemas import StrictSchema


class FailureSchema(StrictSchema):
    reason = fields.String(required=True, metadata={"description": "Why the model was refused: paths, digests, versions; never data."})
    at = fields.DateTime(required=True)


class ModelSummarySchema(StrictSchema):
    name = fields.String(required=True)
    ready = fields.Boolean(required=True)
    version = fields.String(allow_none=True, metadata={"description": "Serving version; null when none is loaded."})
    sha256 = fields.String(allow_none=True)
    loaded_at = fields.DateTime(allow_none=True)
    failure = fields.Nested(FailureSchema, allow_none=True)


class ModelDetailSchema(ModelSummarySchema):
    card = fields.Dict(allow_none=True, metadata={"description": "The model card minus golden examples: metrics, features, data provenance, libraries."})
    settings = fields.Dict(allow_none=True)


class ModelListSchema(StrictSchema):
    models = fields.List(fields.Nested(ModelSummarySchema), required=True)


class HealthSchema(StrictSchema):
    status = fields.String(required=True)


class ReadySchema(StrictSchema):
    status = fields.String(required=True)
    models = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={"description": "Serving version per model."})
