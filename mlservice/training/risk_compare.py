"""The risk scorecard against a spline scorecard, paired on the project's folds.

Both encode each feature on its own (so log-odds stay a sum of per-feature
parts); the spline one replaces quantile bins with cubic B-splines on the
feature's quantile transform (``N_KNOTS`` knots, placed at each training fold's
own quantiles, so nothing is chosen on a test fold). Repeated seeded 5-fold CV
gives paired per-fold differences, summarised with ``intervals.paired_difference``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mlservice.training import intervals, risk, tabular

N_KNOTS = 5
SEEDS = tuple(range(10))


def spline_pipeline(seed: int, c: float | None = None) -> Any:
    """``risk.build_pipeline`` with every numeric feature spline-encoded."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    encoders = [
        (name, risk._categorical() if name in risk.CATEGORICAL else _spline(), [j])
        for j, name in enumerate(risk.NAMES)
    ]
    return Pipeline([("scorecard", ColumnTransformer(encoders)), ("model", tabular.logistic(seed, c))])


def _spline() -> Any:
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import FunctionTransformer, QuantileTransformer, SplineTransformer

    from mlservice.transforms import to_float

    curve = Pipeline([
        ("impute", SimpleImputer(strategy="median")),
        ("quantile", QuantileTransformer(n_quantiles=100)),
        ("spline", SplineTransformer(n_knots=N_KNOTS, degree=3, knots="uniform", extrapolation="constant")),
    ])
    flag = MissingIndicator(features="missing-only", error_on_new=False)
    return Pipeline([
        ("to_float", FunctionTransformer(to_float, feature_names_out="one-to-one")),
        ("encode", FeatureUnion([("curve", curve), ("missing", flag)])),
    ])


def fold_scores(build: Any, rows: np.ndarray, y: np.ndarray, seeds: tuple[int, ...]) -> dict[str, np.ndarray]:
    """ROC AUC and Brier score of ``build(seed)`` on every fold of every seed's 5-fold CV."""
    from sklearn.model_selection import cross_validate

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

    models = {
        "binned_scorecard": fold_scores(risk.build_pipeline, rows, y, seeds),
        "spline_scorecard": fold_scores(spline_pipeline, rows, y, seeds),
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
