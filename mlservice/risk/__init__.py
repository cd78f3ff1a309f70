"""Credit risk of a loan applicant."""
from mlservice.risk.prepare import prepare
from mlservice.risk.resources import blp
from mlservice.risk.schemas import ApplicantSchema, RiskSettingsSchema
from mlservice.usecase import UseCase

USE_CASE = UseCase("risk", "binary_classifier", blp, RiskSettingsSchema, ApplicantSchema, prepare)
