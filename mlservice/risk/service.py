"""Credit risk: probabilities from the model, decisions from the configured thresholds,
reason codes from the model's own additive form, and out-of-range warnings."""
from __future__ import annotations

from typing import Any

import numpy as np

from mlservice.column_batch import ColumnBatch
from mlservice.columnar.predict import explain, serve_columns
from mlservice.explain import ood
from mlservice.registry.fastpath import explained
from mlservice.registry.kinds import to_rows
from mlservice.registry.model import LoadedModel
from mlservice.registry.shadow import serve
from mlservice.risk import reasons

NAME = "risk"


def assess(applicants: list[dict[str, Any]], key: str | None = None) -> tuple[list[dict[str, Any]], LoadedModel]:
    """Assessments by the version routed for ``key``, mirrored to the shadow if one is set."""
    results, model = serve(NAME, key, lambda m: _assess(m, applicants), _same_decisions)
    ood.count(NAME, [r["warnings"] for r in results])
    return results, model


def assess_one(applicant: dict[str, Any]) -> dict[str, Any]:
    [result], model = assess([applicant], applicant.get("applicant_id"))
    return {**result, "model": model.ref}


def assess_batch(applicants: list[dict[str, Any]]) -> dict[str, Any]:
    results, model = assess(applicants)
    return {"results": results, "model": model.ref}


def assess_columns(columns: ColumnBatch) -> dict[str, Any]:
    """Every applicant by the version routed for a batch; one list per output."""
    result, model = serve_columns(NAME, columns, _assess_columns, _same_column_decisions)
    return {**result, "model": model.ref}


def decide(probability: float, settings: dict[str, float]) -> str:
    if probability >= settings["decline_at"]:
        return "decline"
    return "review" if probability >= settings["review_at"] else "approve"


def _assess(model: LoadedModel, applicants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = to_rows(applicants, model.columns)
    probabilities, contributions = explained(model, rows)
    warnings = model.extras["ranges"].issues(rows)
    results = []
    for row, p, parts, flags in zip(rows, probabilities, contributions, warnings):
        decision = decide(p, model.settings)
        why = [] if decision == "approve" else reasons.principal(parts, row, model.columns, model.card.features)
        results.append({"probability_of_default": p, "decision": decision, "reasons": why, "warnings": flags})
    return results


def _same_decisions(served: list[dict[str, Any]], shadow: list[dict[str, Any]]) -> bool:
    return [r["decision"] for r in served] == [r["decision"] for r in shadow]


def _assess_columns(model: LoadedModel, columns: ColumnBatch) -> dict[str, Any]:
    """``_assess`` on columns: the same probabilities, decisions, reasons and warnings, with every contribution."""
    probabilities, parts = explain(model, columns)
    decision = [decide(p, model.settings) for p in probabilities.tolist()]
    return {
        "probability_of_default": probabilities,
        "decision": decision,
        "reasons": _column_reasons(model, columns, parts, [i for i, d in enumerate(decision) if d != "approve"]),
        "contributions": dict(zip(model.columns, parts.T)),
        "warnings": model.extras["ranges"].column_issues(columns),
    }


def _column_reasons(
    model: LoadedModel, columns: ColumnBatch, parts: np.ndarray, flagged: list[int]
) -> list[list[dict[str, Any]]]:
    """``reasons.principal`` for the rows reviewed or declined; [] for the others."""
    out: list[list[dict[str, Any]]] = [[] for _ in range(len(columns))]
    rows = columns.rows(model.columns, flagged)
    for i, row, contributions in zip(flagged, rows, parts[flagged].tolist()):
        out[i] = reasons.principal(contributions, row, model.columns, model.card.features)
    return out


def _same_column_decisions(served: dict[str, Any], shadow: dict[str, Any]) -> bool:
    return served["decision"] == shadow["decision"]
