"""Credit risk of a loan applicant."""
from mlservice.registry.contract import UseCase
from mlservice.risk.resources import blp
from mlservice.risk.service import assessments
from mlservice.risk.runtime import build_runtime
from mlservice.risk.schemas import ApplicantSchema, RiskSettingsSchema
from mlservice.scoring.classifier import golden_mismatches

USE_CASE = UseCase("risk", "binary_classifier", blp, RiskSettingsSchema, golden_mismatches, build_runtime,
                   ApplicantSchema, score_output=assessments.probability)
