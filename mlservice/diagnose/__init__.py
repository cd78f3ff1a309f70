"""Clinical decision support: diabetes risk from patient measurements."""
from mlservice.diagnose.prepare import prepare
from mlservice.diagnose.resources import blp
from mlservice.diagnose.schemas import DiagnoseSettingsSchema, PatientSchema
from mlservice.usecase import UseCase

USE_CASE = UseCase("diagnose", "binary_classifier", blp, DiagnoseSettingsSchema, PatientSchema, prepare)
