"""Response parts every use case shares: which model answered, the error shape, out-of-range warnings."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from mlservice.issues import ISSUE_CODES


class ModelRefSchema(ma.Schema):
    """Which model answered: every prediction names it."""

    name = fields.String(required=True)
    version = fields.String(required=True)
    digest = fields.String(required=True, metadata={"description": "First 12 hex digits of the artifact's SHA-256."})


def model_ref() -> fields.Nested:
    """The ``model`` every prediction answer carries."""
    return fields.Nested(ModelRefSchema, required=True)


class ErrorSchema(ma.Schema):
    """The one error shape (documentation only: errors are built in ``mlservice.errors``)."""

    code = fields.Integer(required=True, metadata={"description": "HTTP status code."})
    status = fields.String(required=True, metadata={"description": "HTTP status phrase."})
    message = fields.String(required=True, metadata={"description": "What went wrong, for a person."})
    errors = fields.Dict(
        metadata={"description": "Field-level messages by location and field; never the submitted values."}
    )


class OodWarningSchema(ma.Schema):
    """An input field outside what the model was trained on; the request is still answered."""

    field = fields.String(required=True, metadata={"description": "The request field (never its value)."})
    index = fields.Integer(metadata={"description": "For list fields: the position of the flagged entry."})
    issue = fields.String(
        required=True,
        validate=validate.OneOf(list(ISSUE_CODES)),
        metadata={"description": "below_training_range / above_training_range: outside the min and max in the "
                  "model card; unseen_category / unseen_missing: a category or a missing value the training data "
                  "never had; unknown_item: a liked item not in the catalog (skipped); rarely_rated_item: a liked item "
                  "too few users rated for its similarities to mean much."},
    )


def ood_warnings() -> fields.List:
    """The ``warnings`` list every prediction result carries (empty when all is in range)."""
    return fields.List(
        fields.Nested(OodWarningSchema), required=True,
        metadata={"description": "Out-of-distribution flags, one per field; empty when every field is in range."},
    )
