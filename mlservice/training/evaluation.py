"""Out-of-fold evaluation of the classifiers for their cards: calibration, ROC, subgroups.

Every figure here comes from pooled out-of-fold predictions of the same
cross-validation that gives the card's metrics, so no row is scored by a model
that saw it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

RELIABILITY_BINS = 10
ROC_POINTS = 101


def out_of_fold(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """The card's ``metrics.out_of_fold``: ROC AUC, ROC curve, Brier score, reliability curve."""
    from sklearn.metrics import roc_auc_score

    return {
        "description": "pooled out-of-fold predictions of the same cross-validation (each row scored once, "
                       "by the fold model that did not see it)",
        "roc_auc": float(roc_auc_score(y, p)),
        "roc_curve": roc_curve(y, p),
        "calibration": calibration(y, p),
    }


def calibration(y: np.ndarray, p: np.ndarray, bins: int = RELIABILITY_BINS) -> dict[str, Any]:
    """Brier score, logistic calibration slope and intercept, and a reliability curve
    (equal-width probability bins; empty bins left out)."""
    which = np.minimum((p * bins).astype(int), bins - 1)
    curve = [
        {"from": b / bins, "to": (b + 1) / bins, "count": int(np.sum(which == b)),
         "mean_predicted": float(p[which == b].mean()), "observed": float(y[which == b].mean())}
        for b in range(bins) if np.any(which == b)
    ]
    slope, intercept = calibration_line(y, p)
    return {
        "brier_score": float(np.mean((p - y) ** 2)),
        "slope": slope,
        "intercept": intercept,
        "reliability": curve,
        "reading": "slope 1 and intercept 0 are perfect calibration; slope < 1: too extreme, > 1: too timid",
    }


def calibration_line(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of an unpenalised logistic regression of y on logit(p)."""
    from sklearn.linear_model import LogisticRegression

    clipped = np.clip(p, 1e-12, 1 - 1e-12)
    logit = np.log(clipped / (1 - clipped)).reshape(-1, 1)
    fit = LogisticRegression(C=np.inf).fit(logit, y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def roc_curve(y: np.ndarray, p: np.ndarray, points: int = ROC_POINTS) -> dict[str, list[float]]:
    """False and true positive rates, thinned to at most ``points`` (ends kept)."""
    from sklearn.metrics import roc_curve as full_curve

    fpr, tpr, _ = full_curve(y, p)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(points, len(fpr))).round().astype(int))
    return {"fpr": [round(float(v), 6) for v in fpr[keep]], "tpr": [round(float(v), 6) for v in tpr[keep]]}


def by_band(
    y: np.ndarray, p: np.ndarray, values: Sequence[float], edges: Sequence[float], labels: Sequence[str]
) -> list[dict[str, Any]]:
    """Count, prevalence, ROC AUC (null with one class) and Brier score per band of ``values``."""
    from sklearn.metrics import roc_auc_score

    band = np.searchsorted(np.asarray(edges, dtype=float), np.asarray(values, dtype=float), side="right")
    rows = []
    for b, label in enumerate(labels):
        mask = band == b
        auc = float(roc_auc_score(y[mask], p[mask])) if len(set(y[mask].tolist())) == 2 else None
        rows.append({
            "band": label, "count": int(mask.sum()),
            "prevalence": float(y[mask].mean()) if mask.any() else None,
            "roc_auc": auc,
            "brier_score": float(np.mean((p[mask] - y[mask]) ** 2)) if mask.any() else None,
        })
    return rows
