"""Credit risk: probabilities from the model, decisions from the configured thresholds,
reason codes from the model's own additive form, and out-of-range warnings."""
from __future__ import annotations

from typing import Any

import numpy as np

from mlservice.classifier_service import Classifier, ClassifierService
from mlservice.column_batch import ColumnBatch
from mlservice.risk import reasons


def decide(probability: float, settings: dict[str, float]) -> str:
    if probability >= settings["decline_at"]:
        return "decline"
    return "review" if probability >= settings["review_at"] else "approve"


def _assess(model: Classifier, rows: list[list[Any]]) -> list[dict[str, Any]]:
    probabilities, contributions = model.runtime.scorer.score_rows(rows)
    warnings = model.runtime.ranges.issues(rows)
    results = []
    for row, p, parts, flags in zip(rows, probabilities, contributions, warnings):
        decision = decide(p, model.settings)
        why = [] if decision == "approve" else reasons.principal(parts, row, model.input_fields, model.card.features)
        results.append({"probability_of_default": p, "decision": decision, "reasons": why, "warnings": flags})
    return results


def _assess_columns(model: Classifier, columns: ColumnBatch) -> dict[str, Any]:
    """``_assess`` on columns: the same probabilities, decisions, reasons and warnings, with every contribution."""
    probabilities, parts = model.runtime.scorer.score_columns(columns, model.input_fields)
    decision = [decide(p, model.settings) for p in probabilities.tolist()]
    return {
        "probability_of_default": probabilities,
        "decision": decision,
        "reasons": _column_reasons(model, columns, parts, [i for i, d in enumerate(decision) if d != "approve"]),
        "contributions": dict(zip(model.input_fields, parts.T)),
        "warnings": model.runtime.ranges.column_issues(columns),
    }


def _column_reasons(
    model: Classifier, columns: ColumnBatch, parts: np.ndarray, flagged: list[int]
) -> list[list[dict[str, Any]]]:
    """``reasons.principal`` for the rows reviewed or declined; [] for the others."""
    out: list[list[dict[str, Any]]] = [[] for _ in range(len(columns))]
    rows = columns.rows(model.input_fields, flagged)
    for i, row, contributions in zip(flagged, rows, parts[flagged].tolist()):
        out[i] = reasons.principal(contributions, row, model.input_fields, model.card.features)
    return out


#: ``/risk``, ``/risk/batch`` and ``/risk/columns``: ``assessments.one``, ``.batch`` and ``.columns``.
assessments = ClassifierService("risk", "applicant_id", _assess, _assess_columns, compared="decision",
                                probability="probability_of_default")
