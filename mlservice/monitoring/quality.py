"""Live quality of a model from reported outcomes: ROC AUC, Brier score and calibration error."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Equal-width probability bins of the expected calibration error.
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Quality:
    outcomes: int
    positives: int
    roc_auc: float | None  # None until both outcomes were seen
    brier_score: float
    calibration_error: float


def quality(outcome: np.ndarray, probability: np.ndarray) -> Quality:
    """scikit-learn's ROC AUC and Brier score, and the expected calibration error: the gap between
    the mean probability and the observed rate in each of 10 equal-width bins, weighted by rows."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y = outcome.astype(np.int64)
    both = 0 < y.sum() < len(y)
    auc = float(roc_auc_score(y, probability)) if both else None
    return Quality(len(y), int(y.sum()), auc, float(brier_score_loss(y, probability, labels=[0, 1])),
                   calibration_error(y, probability))


def calibration_error(y: np.ndarray, probability: np.ndarray) -> float:
    bins = np.minimum((probability * CALIBRATION_BINS).astype(np.int64), CALIBRATION_BINS - 1)
    rows = np.bincount(bins, minlength=CALIBRATION_BINS)
    gap = np.abs(np.bincount(bins, probability, CALIBRATION_BINS) - np.bincount(bins, y, CALIBRATION_BINS))
    return float(gap.sum() / max(rows.sum(), 1))
