"""Patient measurements and diabetes-risk output.

Fields follow the Pima Indians diabetes data (MASS ``Pima.tr`` + ``Pima.te``):
women of Pima heritage aged 21 or more, measured with a 2-hour oral glucose
tolerance test. Bounds are physiologically plausible, wider than training.
"""
from __future__ import annotations

from marshmallow import fields, validate

from mlservice.schemas import ModelRefSchema, StrictFloat, StrictInteger, StrictSchema, batch_of, feature

DISCLAIMER = (
    "Decision support only: an estimate from a statistical model trained on one population, "
    "not a diagnosis. A clinician must confirm with standard tests."
)
LABELS = ["positive", "negative"]


class PatientSchema(StrictSchema):
    """One patient's measurements."""

    pregnancies = feature(StrictInteger, "npreg", "Number of pregnancies.", example=2, validate=validate.Range(0, 30))
    glucose = feature(StrictFloat, "glu", "Plasma glucose 2 h into an oral glucose tolerance test, mg/dL.", example=120, validate=validate.Range(20, 600))
    blood_pressure = feature(StrictFloat, "bp", "Diastolic blood pressure, mm Hg.", example=72, validate=validate.Range(20, 200))
    skin_thickness = feature(StrictFloat, "skin", "Triceps skin-fold thickness, mm.", example=29, validate=validate.Range(1, 120))
    bmi = feature(StrictFloat, "bmi", "Body mass index, kg/m².", example=32.8, validate=validate.Range(10, 100))
    pedigree = feature(StrictFloat, "ped", "Diabetes pedigree function (family history score).", example=0.42, validate=validate.Range(0, 5))
    age = feature(StrictInteger, "age", "Age, in years.", example=28, validate=validate.Range(18, 120))


PatientBatchSchema = batch_of(PatientSchema, "Patients to assess, in order.")

EXAMPLE_PATIENT = {name: f.metadata["example"] for name, f in PatientSchema().fields.items()}


class DiagnosisSchema(StrictSchema):
    probability = fields.Float(required=True, metadata={"description": "Estimated probability of type 2 diabetes (WHO criteria)."})
    label = fields.String(required=True, validate=validate.OneOf(LABELS), metadata={"description": "positive at or above the configured threshold."})


class DiagnoseResultSchema(DiagnosisSchema):
    model = fields.Nested(ModelRefSchema, required=True)
    disclaimer = fields.String(required=True)


class DiagnoseBatchResultSchema(StrictSchema):
    results = fields.List(fields.Nested(DiagnosisSchema), required=True)
    model = fields.Nested(ModelRefSchema, required=True)
    disclaimer = fields.String(required=True)


class DiagnoseSettingsSchema(StrictSchema):
    """``[models.diagnose.settings]``."""

    threshold = StrictFloat(required=True, validate=validate.Range(0, 1))
