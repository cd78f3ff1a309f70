"""Credit applicant input and risk output.

Fields follow the credit_data set the model is trained on (modeldata); money
amounts are in that data's own units, unconverted. Optional fields may be
omitted or null: the model imputes them, as it did for applicants in training.
"""
from __future__ import annotations

from marshmallow import fields, validate, validates_schema, ValidationError

from mlservice.schemas.columns import column_warnings, columns_of, contributions_of, example_columns
from mlservice.risk.reasons import MAX_REASONS
from mlservice.schemas.base import batch_of, StrictSchema
from mlservice.schemas.fields import category, Column, documented, example_of, feature, StrictFloat, StrictInteger, subject_key
from mlservice.schemas.responses import model_ref, ood_warnings

HOME = ["ignore", "other", "owner", "parents", "priv", "rent"]
MARITAL = ["divorced", "married", "separated", "single", "widow"]
JOB = ["fixed", "freelance", "others", "partime"]
DECISIONS = ["approve", "review", "decline"]
MONEY = validate.Range(min=0, max=100_000_000)


class ApplicantSchema(StrictSchema):
    """One loan applicant."""

    applicant_id = subject_key("applicant", example="a-1042")
    seniority = feature(StrictInteger, "Seniority", "Years with the current employer.", example=9, validate=validate.Range(0, 80))
    home = feature(fields.String, "Home", f"Housing: one of {', '.join(HOME)}.", example="rent", required=False, validate=category(HOME))
    time = feature(StrictInteger, "Time", "Requested loan term, in months.", example=60, validate=validate.Range(1, 480))
    age = feature(StrictInteger, "Age", "Applicant's age, in years.", example=30, validate=validate.Range(18, 120))
    marital = feature(fields.String, "Marital", "Marital status.", example="married", required=False, validate=category(MARITAL))
    records = feature(fields.String, "Records", "Whether the applicant has records on file (the data set does not say which kind).", example="no", validate=category(["no", "yes"]))
    job = feature(fields.String, "Job", "Type of employment.", example="freelance", required=False, validate=category(JOB))
    expenses = feature(StrictFloat, "Expenses", "Amount of expenses, in the training data's own units.", example=73, validate=MONEY)
    income = feature(StrictFloat, "Income", "Amount of income, in the training data's units. Omitting it is not neutral: see the model card.", example=129, required=False, validate=MONEY)
    assets = feature(StrictFloat, "Assets", "Amount of assets, in the training data's units.", example=0, required=False, validate=MONEY)
    debt = feature(StrictFloat, "Debt", "Amount of debt, in the training data's units.", example=0, required=False, validate=MONEY)
    amount = feature(StrictFloat, "Amount", "Amount of the requested loan, in the training data's units.", example=800, validate=validate.Range(min=1, max=100_000_000))
    price = feature(StrictFloat, "Price", "Price of the financed good, in the training data's units.", example=846, validate=validate.Range(min=1, max=100_000_000))


ApplicantBatchSchema = batch_of(ApplicantSchema, "Applicants to assess, in order.")

EXAMPLE_APPLICANT = example_of(ApplicantSchema)

ApplicantColumnsSchema = columns_of(ApplicantSchema, "The applicants to assess, one list per field, all of the same length.")
EXAMPLE_COLUMNS = example_columns(ApplicantSchema, [EXAMPLE_APPLICANT, {**EXAMPLE_APPLICANT, "home": None, "income": None, "records": "yes"}])


class RiskReasonSchema(StrictSchema):
    """A field that raised this applicant's risk, from the model's own computation."""

    feature = fields.String(required=True, metadata={"description": "The request field the reason comes from."})
    reason = fields.String(required=True, metadata={"description": "Plain words; numbers are compared with the typical (median) training applicant."})
    contribution = documented(
        fields.Float, "How much this field raised the log-odds of default compared with a typical applicant (the "
        "training mean of its part). The parts of all fields plus the mean training log-odds add up exactly to the "
        "model's log-odds.")


class AssessmentSchema(StrictSchema):
    probability_of_default = fields.Float(required=True, metadata={"description": "Model probability that the loan goes bad."})
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS), metadata={"description": "approve below review_at, decline at or above decline_at, review between."})
    reasons = documented(fields.List, f"For review and decline: the up to {MAX_REASONS} fields that raised the risk "
                         "most, largest first (never empty for them). Empty for approve.",
                         cls_or_instance=fields.Nested(RiskReasonSchema))
    warnings = ood_warnings()


class RiskResultSchema(AssessmentSchema):
    model = model_ref()


class RiskBatchResultSchema(StrictSchema):
    results = fields.List(fields.Nested(AssessmentSchema), required=True)
    model = model_ref()


class RiskColumnsResultSchema(StrictSchema):
    """One list per output, one value per applicant, in input order."""

    probability_of_default = Column(fields.Float(), required=True, metadata={"description": "As in /risk."})
    decision = Column(fields.String(validate=validate.OneOf(DECISIONS)), required=True,
                      metadata={"description": "As in /risk: approve, review or decline at the configured thresholds."})
    reasons = fields.List(
        fields.List(fields.Nested(RiskReasonSchema)), required=True,
        metadata={"description": "Per applicant, as in /risk: for review and decline the up to "
                  f"{MAX_REASONS} fields that raised the risk most, largest first; empty for approve."},
    )
    contributions = fields.Nested(contributions_of(
        ApplicantSchema, "Every field's change to each applicant's log-odds of default compared with a typical "
        "applicant, as in /risk's reasons (which are the largest positive ones).", nullable=False), required=True)
    warnings = column_warnings()
    model = model_ref()


class RiskSettingsSchema(StrictSchema):
    """``[models.risk.settings]``: decision thresholds on the probability of default."""

    review_at = StrictFloat(required=True, validate=validate.Range(0, 1))
    decline_at = StrictFloat(required=True, validate=validate.Range(0, 1))

    @validates_schema
    def _ordered(self, data: dict, **kwargs: object) -> None:
        if data["review_at"] > data["decline_at"]:
            raise ValidationError("review_at must not exceed decline_at.")
