"""The spline risk scorecard against the binned one (risk 1.0.0) and the prior, paired on folds.

Both scorecards encode each feature on its own (so log-odds stay a sum of
per-feature parts) and re-fit everything, knots included, inside each training
fold. Repeated seeded 5-fold CV (the project's folds, one seed after another)
gives paired per-fold differences, summarised with ``intervals.paired_difference``;
folds of one seed share rows, so that interval is optimistic, and the count of
folds won is reported beside it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mlservice.training import intervals, tabular

SEEDS = tuple(range(10))


def fold_scores(build: Any, rows: np.ndarray, y: np.ndarray, seeds: tuple[int, ...]) -> dict[str, np.ndarray]:
    """ROC AUC and Brier score of ``build(seed)`` on every fold of every seed's 5-fold CV."""
    from sklearn.model_selection import cross_validate

    from mlservice.training import risk

    auc, brier = [], []
    for seed in seeds:
        with risk.merged_bins():
            found = cross_validate(build(seed), rows, y, cv=tabular._folds(seed),
                                   scoring={"auc": "roc_auc", "brier": "neg_brier_score"})
        auc += found["test_auc"].tolist()
        brier += (-found["test_brier"]).tolist()
    return {"roc_auc": np.array(auc), "brier_score": np.array(brier)}


def compare(rows: np.ndarray, y: np.ndarray, seeds: tuple[int, ...] = SEEDS) -> dict[str, Any]:
    """Fold metrics (mean, std) of the binned scorecard, the spline one and the prior,
    and the spline's paired differences from the other two."""
    from sklearn.dummy import DummyClassifier

    from mlservice.training import risk

    models = {
        "binned_scorecard": fold_scores(lambda seed: risk.build_pipeline(seed, binned=True), rows, y, seeds),
        "spline_scorecard": fold_scores(risk.build_pipeline, rows, y, seeds),
        "prior": fold_scores(lambda seed: DummyClassifier(strategy="prior"), rows, y, seeds),
    }
    spline = models["spline_scorecard"]
    return {
        "folds": len(spline["roc_auc"]), "seeds": list(seeds),
        "metrics": {name: {m: {"mean": float(v.mean()), "std": float(v.std())} for m, v in found.items()}
                    for name, found in models.items()},
        "spline_minus": {name: {m: intervals.paired_difference(spline[m], found[m], 0) for m in found}
                         for name, found in models.items() if name != "spline_scorecard"},
    }


def summary(found: dict[str, Any]) -> str:
    """One console line: the spline's paired AUC gain over the binned scorecard."""
    gain = found["spline_minus"]["binned_scorecard"]["roc_auc"]
    return (f"spline - binned scorecard ROC AUC {gain['mean']:+.4f} [{gain['ci95'][0]:+.4f}, {gain['ci95'][1]:+.4f}], "
            f"better on {gain['units_better']} of {found['folds']} folds")
