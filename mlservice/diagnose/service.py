"""Diabetes risk: the model's probability, a label at the configured threshold, a disclaimer."""
from __future__ import annotations

from typing import Any

from mlservice.diagnose.schemas import DISCLAIMER
from mlservice.registry.extension import registry
from mlservice.registry.kinds import positive_probability, to_rows
from mlservice.registry.model import LoadedModel

NAME = "diagnose"


def diagnose(patients: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], LoadedModel]:
    model = registry().get(NAME)
    probabilities = positive_probability(model.estimator, to_rows(patients, model.columns))
    threshold = model.settings["threshold"]
    return [_diagnosis(float(p), threshold) for p in probabilities], model


def diagnose_one(patient: dict[str, Any]) -> dict[str, Any]:
    [result], model = diagnose([patient])
    return {**result, "model": model.ref, "disclaimer": DISCLAIMER}


def diagnose_batch(patients: list[dict[str, Any]]) -> dict[str, Any]:
    results, model = diagnose(patients)
    return {"results": results, "model": model.ref, "disclaimer": DISCLAIMER}


def _diagnosis(probability: float, threshold: float) -> dict[str, Any]:
    return {"probability": probability, "label": "positive" if probability >= threshold else "negative"}
