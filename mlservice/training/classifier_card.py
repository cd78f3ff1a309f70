"""The binary classifiers' model card: features, metrics, golden rows."""
from __future__ import annotations

from typing import Any

import numpy as np

from mlservice.monitoring.reference import for_card
from mlservice.training.common import CV_FOLDS, data_source
from mlservice.training.tabular import FeatureSpec


def build(
    text: dict[str, Any],
    model: Any,
    params: dict[str, Any],
    specs: list[FeatureSpec],
    rows: np.ndarray,
    y: np.ndarray,
    golden: np.ndarray,
    metrics: dict[str, Any],
    seed: int,
    explanation: dict[str, Any],
) -> dict[str, Any]:
    """Card entries after the header (``common.card_header``), in card order."""
    data = text["data"]
    return {
        "kind": "binary_classifier",
        "estimator": text["estimator"],
        "params": params,
        "features": describe_features(rows, specs),
        "target": text["target"],
        "classes": [0, 1],
        "data": {
            "source": data_source(data["package"], data["dataset"]),
            "rows": len(y),
            **{key: data[key] for key in ("license", "provenance", "citation")},
        },
        "training": training_entry(seed, len(y), len(golden)),
        "metrics": metrics,
        "explanation": explanation,
        "reference": training_reference(model, specs, np.delete(rows, golden, axis=0)),
        "intended_use": text["intended_use"],
        "limitations": text["limitations"],
        "golden": golden_examples(model, rows[golden]),
    }


def describe_features(rows: np.ndarray, specs: list[FeatureSpec]) -> list[dict[str, Any]]:
    """Card ``features``: type, categories or range, and whether missing was seen."""
    return [_describe(rows[:, j].tolist(), spec) for j, spec in enumerate(specs)]


def _describe(values: list[Any], spec: FeatureSpec) -> dict[str, Any]:
    present = [v for v in values if v is not None]
    entry: dict[str, Any] = {"name": spec.name}
    if any(isinstance(v, str) for v in present):
        entry |= {"type": "categorical", "categories": sorted(set(present))}
    else:
        kind = "integer" if all(isinstance(v, int) for v in present) else "number"
        numbers = np.asarray(present, dtype=np.float64)
        entry |= {"type": kind, "min": min(present), "max": max(present),
                  "median": float(np.median(numbers)), "std": float(numbers.std())}
    nullable = len(present) < len(values)
    return entry | {"nullable": nullable, "unit": spec.unit, "description": spec.description}


def training_reference(model: Any, specs: list[FeatureSpec], fit_rows: np.ndarray) -> dict[str, Any]:
    """Card ``reference``: what live inputs and scores are compared with (docs/monitoring.md)."""
    return for_card([spec.name for spec in specs], fit_rows, model.predict_proba(fit_rows)[:, 1])


def golden_examples(model: Any, rows: np.ndarray) -> list[dict[str, Any]]:
    """Card ``golden``: each input row with the class-1 probability it must yield."""
    probabilities = model.predict_proba(rows)[:, 1]
    return [
        {"input": row.tolist(), "output": [float(p)]} for row, p in zip(rows, probabilities)
    ]


def training_entry(seed: int, n_rows: int, n_golden: int) -> dict[str, Any]:
    return {
        "seed": seed,
        "cv_folds": CV_FOLDS,
        "split": (
            "stratified, shuffled, seeded 5-fold CV on all rows; C re-tuned inside each "
            "training fold by an inner 5-fold CV on log loss (LogisticRegressionCV), so no "
            "score is tuned on its own test fold; std is the population std over folds; "
            "the final model (plain LogisticRegression with the C picked on the same rows) "
            "is fitted on all rows except the golden ones"
        ),
        "final_fit_rows": n_rows - n_golden,
        "golden_held_out": n_golden,
    }
