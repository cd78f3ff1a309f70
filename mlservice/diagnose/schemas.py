"""Patient measurements and diabetes-risk output.

Fields follow the Pima Indians diabetes data (MASS ``Pima.tr`` + ``Pima.te``):
women of Pima heritage aged 21 or more, measured with a 2-hour oral glucose
tolerance test. Bounds are physiologically plausible, wider than training.
"""
from __future__ import annotations

from marshmallow import fields, validate

from mlservice.schemas.columns import column_warnings, columns_of, contributions_of, example_columns
from mlservice.schemas.base import batch_of, StrictSchema
from mlservice.schemas.fields import Column, documented, example_of, feature, StrictFloat, StrictInteger, subject_key
from mlservice.schemas.responses import model_ref, ood_warnings

DISCLAIMER = (
    "Decision support only: an estimate from a statistical model trained on one population, "
    "not a diagnosis. A clinician must confirm with standard tests."
)
LABELS = ["positive", "negative", "cannot_assess"]
MAX_FACTORS = 3


class PatientSchema(StrictSchema):
    """One patient's measurements."""

    patient_id = subject_key("patient", example="p-77")
    pregnancies = feature(StrictInteger, "npreg", "Number of pregnancies.", example=2, validate=validate.Range(0, 30))
    glucose = feature(StrictFloat, "glu", "Plasma glucose 2 h into an oral glucose tolerance test, mg/dL.", example=120, validate=validate.Range(20, 600))
    blood_pressure = feature(StrictFloat, "bp", "Diastolic blood pressure, mm Hg.", example=72, validate=validate.Range(20, 200))
    skin_thickness = feature(StrictFloat, "skin", "Triceps skin-fold thickness, mm.", example=29, validate=validate.Range(1, 120))
    bmi = feature(StrictFloat, "bmi", "Body mass index, kg/m².", example=32.8, validate=validate.Range(10, 100))
    pedigree = feature(StrictFloat, "ped", "Diabetes pedigree function (family history score).", example=0.42, validate=validate.Range(0, 5))
    age = feature(StrictInteger, "age", "Age, in years.", example=28, validate=validate.Range(18, 120))


PatientBatchSchema = batch_of(PatientSchema, "Patients to assess, in order.")

EXAMPLE_PATIENT = example_of(PatientSchema)

PatientColumnsSchema = columns_of(PatientSchema, "The patients to assess, one list per field, all of the same length.")
EXAMPLE_COLUMNS = example_columns(PatientSchema, [EXAMPLE_PATIENT, {**EXAMPLE_PATIENT, "glucose": 165, "age": 51}])


class FactorSchema(StrictSchema):
    """A measurement that moved this patient's estimate, from the model's own computation."""

    feature = fields.String(required=True, metadata={"description": "The request field."})
    effect = fields.String(required=True, validate=validate.OneOf(["raises", "lowers"]))
    contribution = documented(
        fields.Float, "Change in the log-odds compared with the average training patient: standardised coefficient "
        "times this patient's standardised deviation from the training mean. All fields' parts plus the model's "
        "intercept give its log-odds exactly.")


class DiagnosisSchema(StrictSchema):
    probability = fields.Float(
        required=True, allow_none=True,
        metadata={"description": "Estimated probability of type 2 diabetes (WHO criteria): the model's own "
                  "(plain logistic regression; calibration in the model card). null when abstained."},
    )
    label = fields.String(
        required=True, validate=validate.OneOf(LABELS),
        metadata={"description": "positive at or above the configured threshold, else negative; cannot_assess "
                  "when abstained."},
    )
    abstained = fields.Boolean(
        required=True,
        metadata={"description": "true when a field lies more than ood_limit training standard deviations outside "
                  "the training range: the model is not used for such a patient."},
    )
    abstain_reason = fields.String(
        required=True, allow_none=True,
        metadata={"description": "Why it abstained, naming the fields (never their values); null otherwise."},
    )
    factors = documented(fields.List, f"The up to {MAX_FACTORS} fields that moved the estimate most, largest first; "
                         "empty when abstained.", cls_or_instance=fields.Nested(FactorSchema))
    warnings = ood_warnings()


class DiagnoseResultSchema(DiagnosisSchema):
    disclaimer = fields.String(required=True)
    model = model_ref()


class DiagnoseBatchResultSchema(StrictSchema):
    results = fields.List(fields.Nested(DiagnosisSchema), required=True)
    disclaimer = fields.String(required=True)
    model = model_ref()


class DiagnoseColumnsResultSchema(StrictSchema):
    """One list per output, one value per patient, in input order."""

    probability = Column(fields.Float(allow_none=True), required=True,
                         metadata={"description": "As in /diagnose: the model's probability; null where abstained."})
    label = Column(fields.String(validate=validate.OneOf(LABELS)), required=True,
                   metadata={"description": "As in /diagnose: positive, negative or cannot_assess."})
    abstained = Column(fields.Boolean(), required=True, metadata={"description": "As in /diagnose."})
    abstain_reason = Column(fields.String(allow_none=True), required=True,
                            metadata={"description": "As in /diagnose: the fields (never values) it abstained for; else null."})
    contributions = fields.Nested(contributions_of(
        PatientSchema, "Every field's change to each patient's log-odds compared with the average training patient, "
        "as in /diagnose's factors (which are the 3 largest of these); null where abstained.", nullable=True), required=True)
    warnings = column_warnings()
    disclaimer = fields.String(required=True)
    model = model_ref()


class DiagnoseSettingsSchema(StrictSchema):
    """``[models.diagnose.settings]``."""

    threshold = StrictFloat(required=True, validate=validate.Range(0, 1))
    ood_limit = StrictFloat(
        load_default=1.0, validate=validate.Range(min=0),
        metadata={"description": "Abstain when a field lies more than this many training standard deviations "
                  "below its training minimum or above its training maximum (model card)."},
    )
