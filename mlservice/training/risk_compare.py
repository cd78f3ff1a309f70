"""The spline risk scorecard against the binned one (risk 1.0.0) and the prior, paired on folds.

Both scorecards encode each feature on its own (so log-odds stay a sum of
per-feature parts) and re-fit everything, knots included, inside each training
fold (``fold_compare``).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mlservice.training import fold_compare

SEEDS = fold_compare.SEEDS


def compare(rows: np.ndarray, y: np.ndarray, build_pipeline: Callable[..., Any],
            seeds: tuple[int, ...] = SEEDS) -> dict[str, Any]:
    """Fold metrics of the binned scorecard, the spline one and the prior, and the spline's paired differences.

    ``build_pipeline(seed, binned=False)`` is ``training.risk``'s, passed in so that this module stays below it.
    """
    from sklearn.dummy import DummyClassifier

    builds = {
        "binned_scorecard": lambda seed: build_pipeline(seed, binned=True),
        "spline_scorecard": build_pipeline,
        "prior": lambda seed: DummyClassifier(strategy="prior"),
    }
    found = fold_compare.compare(builds, "spline_scorecard", rows, y, seeds)
    del found["chosen"]  # the card of risk 1.1.0 names the spline's differences; keep its bytes reproducible
    found["spline_minus"] = found.pop("chosen_minus")
    return found


def summary(found: dict[str, Any]) -> str:
    """One console line: the spline's paired AUC gain over the binned scorecard."""
    return fold_compare.summary(found, "binned_scorecard")
