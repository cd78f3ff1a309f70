"""Model metadata and health responses."""
from __future__ import annotations

from marshmallow import fields

from mlservice.schemas.base import StrictSchema


class FailureSchema(StrictSchema):
    reason = fields.String(required=True, metadata={"description": "Why the model was refused: paths, digests, versions; never data."})
    at = fields.DateTime(required=True)


class VersionSchema(StrictSchema):
    version = fields.String(required=True)
    sha256 = fields.String(required=True)
    format = fields.String(allow_none=True, metadata={"description": "Artifact format: joblib (a pickle) or skops."})
    loading_runs_code = fields.Boolean(allow_none=True, metadata={"description": "Whether loading this format can run code the artifact chooses (joblib: yes; skops: no, only trusted types are built)."})
    loaded_at = fields.DateTime(required=True)
    share = fields.Float(metadata={"description": "Canary only: share of traffic it serves."})


class ModelSummarySchema(StrictSchema):
    name = fields.String(required=True)
    ready = fields.Boolean(required=True, metadata={"description": "A version of this model serves."})
    version = fields.String(allow_none=True, metadata={"description": "Default serving version; null when none is loaded."})
    sha256 = fields.String(allow_none=True)
    format = fields.String(allow_none=True, metadata={"description": "Artifact format: joblib (a pickle) or skops."})
    loading_runs_code = fields.Boolean(allow_none=True, metadata={"description": "Whether loading this format can run code the artifact chooses (joblib: yes; skops: no, only trusted types are built)."})
    loaded_at = fields.DateTime(allow_none=True)
    canary = fields.Nested(VersionSchema, allow_none=True)
    shadow = fields.Nested(VersionSchema, allow_none=True)
    rejected = fields.Nested(FailureSchema, allow_none=True, metadata={"description": "The last refused change (or load failure), if it is not resolved."})


class ModelDetailSchema(ModelSummarySchema):
    card = fields.Dict(allow_none=True, metadata={"description": "The model card minus golden examples: metrics, features, data provenance, libraries."})
    settings = fields.Dict(allow_none=True)


class ModelListSchema(StrictSchema):
    models = fields.List(fields.Nested(ModelSummarySchema), required=True)


class HealthSchema(StrictSchema):
    status = fields.String(required=True)


class KeyStatusSchema(StrictSchema):
    loaded = fields.Integer(required=True)
    rejected = fields.String(allow_none=True, required=True)


class ReadySchema(StrictSchema):
    status = fields.String(required=True)
    models = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={"description": "Default serving version per model."})
    rejected = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={"description": "Refused config changes: the old version still serves."})
    api_keys = fields.Nested(KeyStatusSchema, metadata={"description": "With authentication on: the keys loaded, and why the last change of the keys file was refused (the last good keys stay)."})
