"""The binary classifiers' shared path: service-shaped rows, tuning, CV.

Both classifiers are fitted on exactly what the service will pass them: a 2-D
object array in card feature order, numbers as Python ``int``/``float``,
categories as ``str`` and ``None`` for missing.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlservice.training.common import CV_FOLDS, THRESHOLD

#: Inverse regularisation strengths tried by the inner CV.
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
_BASELINES = {
    "roc_auc": "prior",
    "f1": "always_positive",
    "precision": "always_positive",
    "recall": "always_positive",
    "brier_score": "prior",
}


@dataclass(frozen=True)
class FeatureSpec:
    """What the data does not say about a column: its unit and meaning."""

    name: str
    unit: str | None
    description: str


def object_rows(frame: Any, names: list[str]) -> np.ndarray:
    """The service's input contract, built from a data frame."""
    rows = np.empty((len(frame), len(names)), dtype=object)
    for j, name in enumerate(names):
        column = frame[name]
        rows[:, j] = _python_values(column.astype(object).where(column.notna(), None).tolist())
    return rows


def _python_values(values: list[Any]) -> list[Any]:
    """Whole-number columns to ``int`` (pandas makes a column with NaN float)."""
    numbers = [v for v in values if v is not None and not isinstance(v, str)]
    if numbers and all(float(v).is_integer() for v in numbers):
        return [None if v is None else int(v) for v in values]
    return [v if v is None or isinstance(v, str) else float(v) for v in values]


def logistic(seed: int, c: float | None = None) -> Any:
    """LogisticRegression with ``C=c``; with ``c=None``, one that picks ``C`` from
    ``C_GRID`` by an inner 5-fold CV on log loss (a proper score, so calibration counts)."""
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    if c is not None:
        return LogisticRegression(C=c, max_iter=5000, random_state=seed)
    return LogisticRegressionCV(
        Cs=list(C_GRID), l1_ratios=(0.0,), cv=_folds(seed), scoring="neg_log_loss",
        max_iter=5000, random_state=seed, use_legacy_attributes=False,
    )


def cv_metrics(model: Any, rows: np.ndarray, y: np.ndarray, seed: int) -> tuple[dict[str, Any], np.ndarray]:
    """5-fold CV of ``model`` and of the trivial baselines, on the same folds; and the
    model's out-of-fold P(class 1) for every row (each from the fold model that did not see it)."""
    from sklearn.dummy import DummyClassifier

    prior = DummyClassifier(strategy="prior")
    positive = DummyClassifier(strategy="constant", constant=1)
    baseline, _ = _cv(prior, rows, y, seed, ["roc_auc", "brier_score"])
    baseline |= _cv(positive, rows, y, seed, ["f1", "precision", "recall"])[0]
    scores, out_of_fold = _cv(model, rows, y, seed, list(_BASELINES))
    metrics = {
        "model": scores,
        "baseline": {name: baseline[name] for name in _BASELINES},
        "baseline_kind": dict(_BASELINES),
        "prevalence": float(y.mean()),
        "threshold": THRESHOLD,
    }
    return metrics, out_of_fold


def _cv(model: Any, rows: np.ndarray, y: np.ndarray, seed: int, names: list[str]) -> tuple[dict, np.ndarray]:
    from sklearn.metrics import make_scorer, precision_score
    from sklearn.model_selection import cross_validate

    scorers = {
        "roc_auc": "roc_auc",
        "f1": "f1",
        "precision": make_scorer(precision_score, zero_division=0.0),
        "recall": "recall",
        "brier_score": "neg_brier_score",
    }
    scores = cross_validate(
        model, rows, y, cv=_folds(seed), scoring={n: scorers[n] for n in names},
        return_estimator=True, return_indices=True,
    )
    sign = {"brier_score": -1.0}
    summary = {
        name: {
            "mean": float(sign.get(name, 1.0) * scores[f"test_{name}"].mean()),
            "std": float(scores[f"test_{name}"].std()),
        }
        for name in names
    }
    out_of_fold = np.empty(len(y))
    for fitted, test in zip(scores["estimator"], scores["indices"]["test"]):
        out_of_fold[test] = fitted.predict_proba(rows[test])[:, 1]
    return summary, out_of_fold


def _folds(seed: int) -> Any:
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=seed)


def fit_final(
    build: Callable[..., Any], rows: np.ndarray, y: np.ndarray, golden: np.ndarray, seed: int
) -> tuple[Any, float]:
    """Pick ``C`` on every row but the golden ones, then refit a plain
    LogisticRegression with it there; return (pipeline, C)."""
    keep = np.setdiff1d(np.arange(len(y)), golden)
    c = float(build(seed).fit(rows[keep], y[keep]).named_steps["model"].C_)
    return build(seed, c).fit(rows[keep], y[keep]), c
