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


class DecisionStatusSchema(StrictSchema):
    recorder = fields.Boolean(required=True, metadata={
        "description": "Whether the host's recorder process writes records (else this worker writes them itself)."})
    spooled_batches = fields.Integer(required=True, metadata={"description": "Batches waiting on disk for the store."})
    dropped = fields.Integer(required=True, metadata={"description": "Records this worker dropped (spool full)."})
    last_error = fields.String(required=True, allow_none=True, metadata={"description": "The store's last failure, by type."})


class DecisionSchema(StrictSchema):
    """One prediction's record: which model decided, in which role, and what it answered."""

    at = fields.String(required=True)
    request_id = fields.String(required=True)
    row = fields.Integer(required=True, metadata={"description": "The row within the request (0 for one row)."})
    caller = fields.String(required=True, allow_none=True, metadata={"description": "The API key's id, never the key."})
    use_case = fields.String(required=True)
    model = fields.String(required=True)
    version = fields.String(required=True)
    digest = fields.String(required=True, metadata={"description": "The artifact's full pin (SHA-256)."})
    role = fields.String(required=True, metadata={"description": "default or canary."})
    outputs = fields.Dict(required=True, metadata={"description": "What the client was answered for this row."})
    inputs = fields.Dict(required=True, allow_none=True,
                         metadata={"description": "Only fields whose policy is keep (values) or hash (keyed digests)."})
    inputs_until = fields.String(required=True, allow_none=True)


class DecisionListSchema(StrictSchema):
    decisions = fields.List(fields.Nested(DecisionSchema), required=True)


class ReadySchema(StrictSchema):
    status = fields.String(required=True)
    models = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={"description": "Default serving version per model."})
    rejected = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={"description": "Refused config changes: the old version still serves."})
    decisions = fields.Nested(DecisionStatusSchema, metadata={"description": "With decision records on: this worker's writer."})
    api_keys = fields.Nested(KeyStatusSchema, metadata={"description": "With authentication on: the keys loaded, and why the last change of the keys file was refused (the last good keys stay)."})
