"""``/diagnose``: parse, call the service, serialize. Nothing else."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView

from mlservice.blueprint import PREDICTION_ERRORS, ServiceBlueprint
from mlservice.column_batch import ColumnBatch
from mlservice.diagnose import service
from mlservice.diagnose.schemas import (
    EXAMPLE_COLUMNS,
    EXAMPLE_PATIENT,
    DiagnoseBatchResultSchema,
    DiagnoseColumnsResultSchema,
    DiagnoseResultSchema,
    PatientBatchSchema,
    PatientColumnsSchema,
    PatientSchema,
)

blp = ServiceBlueprint("diagnose", __name__, url_prefix="/diagnose", description="Diabetes risk decision support.")


@blp.route("")
class Diagnose(MethodView):
    @blp.arguments(PatientSchema, example=EXAMPLE_PATIENT)
    @blp.response(200, DiagnoseResultSchema)
    @blp.errors(*PREDICTION_ERRORS)
    def post(self, patient: dict[str, Any]) -> dict[str, Any]:
        """Estimate one patient's probability of type 2 diabetes."""
        return service.diagnoses.one(patient)


@blp.route("/batch")
class DiagnoseBatch(MethodView):
    @blp.arguments(PatientBatchSchema, example={"rows": [EXAMPLE_PATIENT]})
    @blp.response(200, DiagnoseBatchResultSchema)
    @blp.errors(*PREDICTION_ERRORS)
    def post(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Estimate up to 1,000 patients; results keep the input order."""
        return service.diagnoses.batch(batch["rows"])


@blp.route("/columns")
class DiagnoseColumns(MethodView):
    @blp.arguments(PatientColumnsSchema, example=EXAMPLE_COLUMNS)
    @blp.response(200, DiagnoseColumnsResultSchema)
    @blp.errors(*PREDICTION_ERRORS)
    def post(self, columns: ColumnBatch) -> dict[str, Any]:
        """Estimate up to 10,000 patients sent as one list per field; answers come as one list per output."""
        return service.diagnoses.columns(columns)
