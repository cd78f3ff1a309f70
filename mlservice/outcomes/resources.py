"""Outcome reports: parse, hand to the monitor, serialize."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView

from mlservice.blueprint import PREDICTION_ERRORS, ServiceBlueprint
from mlservice.outcomes import service
from mlservice.outcomes.schemas import OutcomeBatchSchema, OutcomeReceiptSchema

blp = ServiceBlueprint("outcomes", __name__, description="Outcomes of earlier predictions, for live quality "
                       "(feedback scope).")


@blp.route("/<any(risk, diagnose):use_case>/outcomes")
class Outcomes(MethodView):
    @blp.arguments(OutcomeBatchSchema, example={"outcomes": [{"request_id": "4f2c9a", "row": 0, "outcome": False}]})
    @blp.response(200, OutcomeReceiptSchema)
    @blp.errors(*PREDICTION_ERRORS)
    def post(self, report: dict[str, Any], use_case: str) -> dict[str, int]:
        """Report what happened to predicted rows (a loan repaid or defaulted; a diagnosis confirmed or not)."""
        return service.receive(use_case, report["outcomes"])
