"""``/risk``: parse, call the service, serialize. Nothing else."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView

from mlservice.blueprint import PREDICTION_ERRORS, ServiceBlueprint
from mlservice.column_batch import ColumnBatch
from mlservice.risk import service
from mlservice.risk.schemas import (
    EXAMPLE_APPLICANT,
    EXAMPLE_COLUMNS,
    ApplicantBatchSchema,
    ApplicantColumnsSchema,
    ApplicantSchema,
    RiskBatchResultSchema,
    RiskColumnsResultSchema,
    RiskResultSchema,
)

blp = ServiceBlueprint("risk", __name__, url_prefix="/risk", description="Credit risk of a loan applicant.")


@blp.route("")
class Risk(MethodView):
    @blp.arguments(ApplicantSchema, example=EXAMPLE_APPLICANT)
    @blp.response(200, RiskResultSchema)
    @blp.errors(*PREDICTION_ERRORS)
    def post(self, applicant: dict[str, Any]) -> dict[str, Any]:
        """Assess one applicant: probability of default and a decision."""
        return service.assessments.one(applicant)


@blp.route("/batch")
class RiskBatch(MethodView):
    @blp.arguments(ApplicantBatchSchema, example={"rows": [EXAMPLE_APPLICANT]})
    @blp.response(200, RiskBatchResultSchema)
    @blp.errors(*PREDICTION_ERRORS)
    def post(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Assess up to 1,000 applicants; results keep the input order."""
        return service.assessments.batch(batch["rows"])


@blp.route("/columns")
class RiskColumns(MethodView):
    @blp.arguments(ApplicantColumnsSchema, example=EXAMPLE_COLUMNS)
    @blp.response(200, RiskColumnsResultSchema)
    @blp.errors(*PREDICTION_ERRORS)
    def post(self, columns: ColumnBatch) -> dict[str, Any]:
        """Assess up to 10,000 applicants sent as one list per field; answers come as one list per output."""
        return service.assessments.columns(columns)
