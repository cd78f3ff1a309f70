"""Clinical decision support: diabetes risk from patient measurements."""
from mlservice.diagnose.resources import blp
from mlservice.diagnose.service import diagnoses
from mlservice.diagnose.runtime import build_runtime
from mlservice.diagnose.schemas import DiagnoseSettingsSchema, PatientSchema
from mlservice.registry.contract import UseCase
from mlservice.scoring.classifier import golden_mismatches

USE_CASE = UseCase("diagnose", "binary_classifier", blp, DiagnoseSettingsSchema, golden_mismatches, build_runtime,
                   PatientSchema, score_output=diagnoses.probability)
