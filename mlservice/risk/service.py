"""Credit risk: probabilities from the model, decisions from the configured thresholds."""
from __future__ import annotations

from typing import Any

from mlservice.registry.extension import registry
from mlservice.registry.kinds import positive_probability, to_rows
from mlservice.registry.model import LoadedModel

NAME = "risk"


def assess(applicants: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], LoadedModel]:
    """Probability of default and decision for each applicant, and the model that made them."""
    model = registry().get(NAME)
    probabilities = positive_probability(model.estimator, to_rows(applicants, model.columns))
    return [_assessment(float(p), model.settings) for p in probabilities], model


def assess_one(applicant: dict[str, Any]) -> dict[str, Any]:
    [result], model = assess([applicant])
    return {**result, "model": model.ref}


def assess_batch(applicants: list[dict[str, Any]]) -> dict[str, Any]:
    results, model = assess(applicants)
    return {"results": results, "model": model.ref}


def decide(probability: float, settings: dict[str, float]) -> str:
    if probability >= settings["decline_at"]:
        return "decline"
    return "review" if probability >= settings["review_at"] else "approve"


def _assessment(probability: float, settings: dict[str, float]) -> dict[str, Any]:
    return {"probability_of_default": probability, "decision": decide(probability, settings)}
