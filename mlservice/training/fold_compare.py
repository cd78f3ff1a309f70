"""Models compared on the same folds: fold metrics, and the chosen one's paired differences.

Repeated seeded 5-fold CV (the project's folds, one seed after another) scores
every model on the same folds, so each difference is paired per fold and
summarised with ``intervals.paired_difference``; folds of one seed share rows, so
that interval is optimistic, and the count of folds won is reported beside it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mlservice.training import intervals, tabular

SEEDS = tuple(range(10))
Build = Callable[[int], Any]


def fold_scores(build: Build, rows: np.ndarray, y: np.ndarray, seeds: tuple[int, ...]) -> dict[str, np.ndarray]:
    """ROC AUC and Brier score of ``build(seed)`` on every fold of every seed's 5-fold CV."""
    from sklearn.model_selection import cross_validate

    auc, brier = [], []
    for seed in seeds:
        found = cross_validate(build(seed), rows, y, cv=tabular._folds(seed),
                               scoring={"auc": "roc_auc", "brier": "neg_brier_score"})
        auc += found["test_auc"].tolist()
        brier += (-found["test_brier"]).tolist()
    return {"roc_auc": np.array(auc), "brier_score": np.array(brier)}


def compare(builds: Mapping[str, Build], chosen: str, rows: np.ndarray, y: np.ndarray,
            seeds: tuple[int, ...] = SEEDS) -> dict[str, Any]:
    """Every model's fold mean and std, and ``chosen`` minus each other model, paired per fold."""
    scores = {name: fold_scores(build, rows, y, seeds) for name, build in builds.items()}
    best = scores[chosen]
    return {
        "folds": len(best["roc_auc"]), "seeds": list(seeds), "chosen": chosen,
        "metrics": {name: {m: {"mean": float(v.mean()), "std": float(v.std())} for m, v in found.items()}
                    for name, found in scores.items()},
        "chosen_minus": {name: {m: intervals.paired_difference(best[m], found[m], 0) for m in found}
                         for name, found in scores.items() if name != chosen},
    }


def summary(found: dict[str, Any], against: str) -> str:
    """One console line: the chosen model's paired AUC gain over ``against``."""
    gain = differences(found)[against]["roc_auc"]
    return (f"{found.get('chosen', 'this model')} - {against} ROC AUC {gain['mean']:+.4f} "
            f"[{gain['ci95'][0]:+.4f}, {gain['ci95'][1]:+.4f}], better on {gain['units_better']} of {found['folds']} folds")


def differences(found: dict[str, Any]) -> dict[str, Any]:
    """The paired differences of a card's comparison (risk 1.1.0's card calls them ``spline_minus``)."""
    return found["chosen_minus"] if "chosen_minus" in found else found["spline_minus"]
