"""Outcome reports and what became of them."""
from __future__ import annotations

from marshmallow import fields, validate

from mlservice.monitoring.outcomes import RESULTS
from mlservice.observability.request_id import SAFE
from mlservice.schemas.base import MAX_BATCH_ROWS, StrictSchema
from mlservice.schemas.fields import BoundedList, StrictBoolean, StrictInteger, documented


class OutcomeSchema(StrictSchema):
    """The observed outcome of one predicted row."""

    request_id = fields.String(
        required=True, validate=validate.Regexp(f"^(?:{SAFE.pattern})$", error="Use the X-Request-ID the prediction answered with."),
        metadata={"description": "The X-Request-ID header of the prediction's response.", "example": "4f2c9a"})
    row = StrictInteger(load_default=0, validate=validate.Range(0, 9_999), metadata={
        "description": "The row within a batch or columnar request (0 for a single prediction).", "example": 0})
    outcome = StrictBoolean(required=True, metadata={
        "description": "true: the positive class happened (the loan defaulted; the diagnosis was confirmed).",
        "example": False})


class OutcomeBatchSchema(StrictSchema):
    outcomes = BoundedList(fields.Nested(OutcomeSchema), required=True,
                           validate=validate.Length(min=1, max=MAX_BATCH_ROWS),
                           metadata={"description": f"1 to {MAX_BATCH_ROWS} outcomes."})


OutcomeReceiptSchema = StrictSchema.from_dict(
    {result: documented(fields.Integer, description) for result, description in {
        "accepted": "Joined with their prediction and counted in live quality.",
        "duplicate": "Already reported for the same row (the first one counts).",
        "unknown": "No such prediction among the recent ones every worker keeps.",
        "late": "The prediction is older than MONITORING_OUTCOME_MAX_DELAY_SECONDS.",
        "abstained": "The model gave no probability for that row (it abstained).",
    }.items()}, name="OutcomeReceiptSchema")
assert set(OutcomeReceiptSchema().fields) == set(RESULTS)
