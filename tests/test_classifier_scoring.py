"""Classifier scoring: the pipeline's probabilities from its verified additive form, or the pipeline's own."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer, KBinsDiscretizer, OneHotEncoder

from sklearn.tree import DecisionTreeClassifier

from mlservice.diagnose.runtime import build_runtime
from mlservice.registry.card import ModelCard
from mlservice.registry.contract import IncompatibleModel
from mlservice.registry.model import LoadedModel
from mlservice.registry.spec import ModelSpec
from mlservice.scoring.additive import AdditiveForm, NotAdditive
from mlservice.scoring.classifier import ClassifierScorer, verified_scorer
from mlservice.scoring.linear import UNSEEN, scorecard_form, standardized_form
from mlservice.scoring.verify import check_rows
from mlservice.transforms import to_float
from tests.factories import PATIENT, PATIENT_ROW, diagnose_features, tiny_diagnose_model

HOMES = ["owner", "parents", "rent"]


def card(features: list[dict[str, Any]], golden_rows: list[list[Any]], **extra: Any) -> ModelCard:
    return ModelCard.from_dict({
        "name": "m", "version": "0.1.0", "kind": "binary_classifier", "use_case": "m",
        "artifact": {"sha256": "0" * 64}, "libraries": {}, "features": features,
        "golden": [{"input": row, "output": [0.0]} for row in golden_rows], **extra,
    })


@dataclass(frozen=True)
class Candidate:
    """A pipeline, its card and the additive form read from it, before any check."""

    estimator: Any
    card: ModelCard
    form: AdditiveForm


def loaded(estimator: Any, model_card: ModelCard, form: AdditiveForm) -> Candidate:
    return Candidate(estimator, model_card, form)


def standardized() -> Candidate:
    pipeline = tiny_diagnose_model(3)
    features = [{**f, "min": 0.0, "max": 200.0} for f in diagnose_features()]
    model_card = card(features, [PATIENT_ROW])
    return loaded(pipeline, model_card, standardized_form(pipeline, model_card))


def scorecard() -> Candidate:
    """Two binned numbers (one with missing values) and a category, as the risk model is built."""
    rng = np.random.default_rng(0)
    n = 400
    rows = np.empty((n, 3), dtype=object)
    rows[:, 0] = rng.integers(18, 80, n).tolist()
    income = rng.normal(100, 30, n)
    rows[:, 1] = [None if m else float(v) for v, m in zip(income, rng.random(n) < 0.1)]
    rows[:, 2] = [HOMES[i] if i < 3 else None for i in rng.integers(0, 4, n)]
    y = ((rows[:, 0].astype(float) > 40) ^ (rng.random(n) < 0.2)).astype(int)

    def number() -> Pipeline:
        bins = KBinsDiscretizer(n_bins=4, quantile_method="averaged_inverted_cdf")
        binned = Pipeline([("impute", SimpleImputer(strategy="median")), ("bins", bins)])
        union = FeatureUnion([("binned", binned), ("missing", MissingIndicator(features="missing-only", error_on_new=False))])
        return Pipeline([("to_float", FunctionTransformer(to_float, feature_names_out="one-to-one")), ("encode", union)])

    category = Pipeline([("impute", SimpleImputer(missing_values=None, strategy="constant", fill_value="missing")),
                         ("onehot", OneHotEncoder(handle_unknown="ignore"))])
    encoder = ColumnTransformer([("Age", number(), [0]), ("Income", number(), [1]), ("Home", category, [2])])
    pipeline = Pipeline([("scorecard", encoder), ("model", LogisticRegression())]).fit(rows, y)
    encoded = pipeline[0].transform(rows)
    encoded = np.asarray(encoded.todense() if hasattr(encoded, "todense") else encoded)
    means = {name: encoded[:, encoder.output_indices_[name]].mean(axis=0).tolist() for name in ("Age", "Income", "Home")}
    features = [{"name": "Age", "type": "integer", "min": 18, "max": 79},
                {"name": "Income", "type": "number", "min": 0.0, "max": 200.0, "nullable": True},
                {"name": "Home", "type": "categorical", "categories": HOMES, "nullable": True}]
    model_card = card(features, rows[:5].tolist(), explanation={"column_means": means})
    return loaded(pipeline, model_card, scorecard_form(pipeline, model_card))


@pytest.fixture(params=["standardized", "scorecard"])
def model(request) -> Candidate:
    return standardized() if request.param == "standardized" else scorecard()


def scorer_of(model: Candidate) -> ClassifierScorer:
    """``model``'s scorer as the use cases build it at load: verified, serving through its form."""
    scorer = verified_scorer(model.form, model.estimator, model.card)
    assert scorer.form_serves
    return scorer


def test_the_verified_scorer_reproduces_the_pipeline_on_one_row_and_on_batches(model):
    scorer = scorer_of(model)
    rows = [r for r in check_rows(model.form, model.card, n=300, seed=11).tolist() if UNSEEN not in r]
    want = model.estimator.predict_proba(np.array(rows, dtype=object))[:, 1]
    batch = np.array(scorer.score_rows(rows)[0])
    single = np.array([scorer.score_rows([r])[0][0] for r in rows])
    assert np.abs(batch - want).max() <= 1e-9
    assert np.abs(single - want).max() <= 1e-9


class ShiftedProbabilities:
    """A pipeline whose ``predict_proba`` is not the sigmoid of its ``decision_function``."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    def decision_function(self, X: Any) -> np.ndarray:
        return self.pipeline.decision_function(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        p = self.pipeline.predict_proba(X).copy()
        p[:, 1] = np.clip(p[:, 1] + 1e-6, 0, 1)
        return p


def test_a_form_that_differs_from_the_pipeline_is_refused(model, caplog):
    """Wrong log-odds: no scorer at all. Right log-odds, other probabilities: the pipeline computes them."""
    with pytest.raises(NotAdditive, match="differs from the model"):
        verified_scorer(replace(model.form, base=model.form.base + 1e-6), model.estimator, model.card)
    shifted = ShiftedProbabilities(model.estimator)
    scorer = verified_scorer(model.form, shifted, model.card)
    assert scorer.form_serves is False
    assert "fast path refused" in caplog.text
    row = [list(g["input"]) for g in model.card.golden][:1]
    assert scorer.score_rows(row)[0][0] == shifted.predict_proba(np.array(row, dtype=object))[0, 1]


@dataclass(frozen=True, eq=False)
class OffByOneRow:
    """A term whose NumPy arithmetic is right and whose single-row arithmetic is not."""

    term: Any

    def __call__(self, column: Any) -> np.ndarray:
        return self.term(column)

    def scalar(self) -> Any:
        right = self.term.scalar()
        return lambda value: right(value) + 1e-6


def test_a_wrong_single_row_path_is_refused(model):
    """The load-time check covers the plain-Python terms, not only the NumPy ones."""
    form = model.form
    bent = AdditiveForm(form.features, (OffByOneRow(form.terms[0]), *form.terms[1:]), form.base)
    with pytest.raises(NotAdditive, match="single-row path differs"):
        verified_scorer(bent, model.estimator, model.card)


def test_scored_rows_are_the_pipelines_whether_the_form_serves_or_not(model):
    """One pass serves probabilities and contributions; when the form does not serve, the pipeline's probabilities."""
    form = model.form
    rows = [r for r in check_rows(form, model.card, n=100, seed=5).tolist() if UNSEEN not in r]
    want = model.estimator.predict_proba(np.array(rows, dtype=object))[:, 1]
    parts = form.contributions(rows)[1].tolist()
    pipeline_serves = replace(scorer_of(model), form_serves=False)
    served = [pipeline_serves.score_rows(rows)]
    scorer = scorer_of(model)
    singles = [scorer.score_rows([row]) for row in rows]
    served += [scorer.score_rows(rows), ([p for [p], _ in singles], [c for _, [c] in singles])]
    for probabilities, contributions in served:
        assert np.abs(np.array(probabilities) - want).max() <= 1e-9
        assert contributions == parts


def test_without_an_additive_form_the_classifier_is_refused():
    """A use case serves a classifier only through a verified form: a tree has none, so the model is refused."""
    model = standardized()
    tree = Pipeline([("to_float", FunctionTransformer(to_float)), ("model", DecisionTreeClassifier(max_depth=2))])
    tree.fit(np.array([PATIENT_ROW, [v + 1 for v in PATIENT_ROW]], dtype=object), [0, 1])
    spec = ModelSpec(name="m", version="0.1.0", artifact=Path("/nowhere/model.joblib"), sha256="0" * 64, settings={})
    candidate = LoadedModel(spec, model.card, tree, tuple(model.card.feature_names), {"ood_limit": 3.0},
                            datetime.now(timezone.utc))
    with pytest.raises(IncompatibleModel, match="no exact factors"):
        build_runtime(candidate)


def test_a_value_the_form_cannot_take_goes_to_the_pipeline():
    scorer = scorer_of(standardized())
    odd = [[object(), *PATIENT_ROW[1:]]]
    with pytest.raises(Exception) as by_pipeline:
        scorer.pipeline.predict_proba(np.array(odd, dtype=object))
    with pytest.raises(type(by_pipeline.value)):
        scorer.score_rows(odd)


def test_served_models_score_through_their_form(make_app, tiny_entry):
    """Through the registry: a loaded model serves through its verified form, and answers as the pipeline."""
    app = make_app({"diagnose": tiny_entry})
    model = app.extensions["model_registry"].deployments["diagnose"].default
    assert model.runtime.scorer.form_serves
    answer = app.test_client().post("/diagnose", json=PATIENT).get_json()
    want = model.estimator.predict_proba(np.array([PATIENT_ROW], dtype=object))[0, 1]
    assert abs(answer["probability"] - want) <= 1e-9
