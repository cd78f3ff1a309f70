"""Diabetes risk: the model's probability, a label at the configured threshold, the factors
that moved it, out-of-range warnings, and an abstention far outside the training data."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mlservice.classifier_service import Classifier, ClassifierService
from mlservice.column_batch import ColumnBatch
from mlservice.diagnose.schemas import DISCLAIMER, MAX_FACTORS


def _diagnose(model: Classifier, rows: list[list[Any]]) -> list[dict[str, Any]]:
    probabilities, contributions = model.runtime.scorer.score_rows(rows)
    ranges, limit = model.runtime.ranges, model.settings["ood_limit"]
    results = []
    for p, parts, order, far, flags in zip(probabilities, contributions, _largest(contributions),
                                           ranges.beyond(rows, limit), ranges.issues(rows)):
        result = _abstention(far, limit) if far else _estimate(p, parts, order, model)
        result["warnings"] = flags
        results.append(result)
    return results


def _largest(contributions: list[list[float]]) -> list[list[int]]:
    """Per row, the positions of its ``MAX_FACTORS`` largest parts by size, largest first
    (ties keep field order); one NumPy sort for a batch instead of a Python sort per row."""
    if len(contributions) < 2:
        return [sorted(range(len(parts)), key=lambda j, parts=parts: abs(parts[j]), reverse=True)[:MAX_FACTORS]
                for parts in contributions]
    by_size = np.argsort(-np.abs(np.array(contributions, dtype=np.float64)), axis=1, kind="stable")
    return by_size[:, :MAX_FACTORS].tolist()


def _estimate(probability: float, parts: Sequence[float], order: list[int], model: Classifier) -> dict[str, Any]:
    """The estimate, with the fields at ``order`` (``_largest``) that moved it as its factors."""
    label = "positive" if probability >= model.settings["threshold"] else "negative"
    factors = [
        {"feature": model.input_fields[j], "effect": "raises" if parts[j] > 0 else "lowers", "contribution": float(parts[j])}
        for j in order if parts[j] != 0
    ]
    return {"probability": probability, "label": label, "abstained": False, "abstain_reason": None, "factors": factors}


def _abstention(fields: list[str], limit: float) -> dict[str, Any]:
    """"Cannot assess", naming the fields (never their values)."""
    names = fields[0] if len(fields) == 1 else f"{', '.join(fields[:-1])} and {fields[-1]}"
    verb = "lies" if len(fields) == 1 else "lie"
    reason = (
        f"Cannot assess: {names} {verb} more than {limit:g} training standard deviation"
        f"{'' if limit == 1 else 's'} outside the range of the patients the model was trained on."
    )
    return {"probability": None, "label": "cannot_assess", "abstained": True, "abstain_reason": reason, "factors": []}


def _diagnose_columns(model: Classifier, columns: ColumnBatch) -> dict[str, Any]:
    """``_diagnose`` on columns: the same numbers, labels, abstentions and warnings, with every contribution."""
    probabilities, parts = model.runtime.scorer.score_columns(columns, model.input_fields)
    ranges, limit = model.runtime.ranges, model.settings["ood_limit"]
    names, far = ranges.column_beyond(columns, limit)
    abstained = far.any(axis=1)
    estimated = np.where(probabilities >= model.settings["threshold"], "positive", "negative")
    parts[abstained] = np.nan  # the model is not used for them: no estimate, no explanation
    return {
        "probability": np.where(abstained, np.nan, probabilities),
        "label": np.where(abstained, "cannot_assess", estimated).tolist(),
        "abstained": abstained,
        "abstain_reason": _abstain_reasons(names, far, limit),
        "contributions": dict(zip(model.input_fields, parts.T)),
        "warnings": ranges.column_issues(columns),
    }


def _abstain_reasons(names: list[str], far: np.ndarray, limit: float) -> list[str | None]:
    """``_abstention``'s reason per row (None where it did not abstain), worded once per set of fields."""
    reasons: list[str | None] = [None] * len(far)
    worded: dict[bytes, str] = {}
    for i in np.flatnonzero(far.any(axis=1)):
        key = far[i].tobytes()
        if key not in worded:
            worded[key] = _abstention([n for n, f in zip(names, far[i]) if f], limit)["abstain_reason"]
        reasons[i] = worded[key]
    return reasons


#: ``/diagnose``, ``/diagnose/batch`` and ``/diagnose/columns``: ``diagnoses.one``, ``.batch`` and ``.columns``.
diagnoses = ClassifierService("diagnose", "patient_id", _diagnose, _diagnose_columns, compared="label",
                              probability="probability", constant={"disclaimer": DISCLAIMER})
