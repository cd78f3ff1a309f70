"""The verified fast path: the pipeline's probabilities without calling the pipeline, or nothing."""
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

from mlservice.explain.additive import AdditiveForm, NotAdditive
from mlservice.explain.linear import scorecard_form, standardized_form
from mlservice.explain.verify import verified
from mlservice.registry import fastpath
from mlservice.registry.card import ModelCard
from mlservice.registry.model import LoadedModel
from mlservice.registry.spec import ModelSpec
from mlservice.transforms import to_float
from tests.factories import PATIENT, PATIENT_ROW, diagnose_features, tiny_diagnose_model

HOMES = ["owner", "parents", "rent"]


def card(features: list[dict[str, Any]], golden_rows: list[list[Any]], **extra: Any) -> ModelCard:
    return ModelCard.from_dict({
        "name": "m", "version": "0.1.0", "kind": "binary_classifier", "use_case": "m",
        "artifact": {"sha256": "0" * 64}, "libraries": {}, "features": features,
        "golden": [{"input": row, "output": [0.0]} for row in golden_rows], **extra,
    })


def loaded(estimator: Any, model_card: ModelCard, form: AdditiveForm | None) -> LoadedModel:
    spec = ModelSpec(name="m", version="0.1.0", artifact=Path("/nowhere/model.joblib"), sha256="0" * 64, settings={})
    extras = {"explainer": form} if form is not None else {}
    return LoadedModel(spec, model_card, estimator, (), {}, datetime.now(timezone.utc), extras)


def standardized() -> LoadedModel:
    pipeline = tiny_diagnose_model(3)
    features = [{**f, "min": 0.0, "max": 200.0} for f in diagnose_features()]
    model_card = card(features, [PATIENT_ROW])
    return loaded(pipeline, model_card, standardized_form(pipeline, model_card))


def scorecard() -> LoadedModel:
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
def model(request) -> LoadedModel:
    return standardized() if request.param == "standardized" else scorecard()


def with_path(model: LoadedModel) -> LoadedModel:
    """``model`` as the loader leaves it: with its verified path, which must exist."""
    path = fastpath.verified_path(model)
    assert path is not None
    return replace(model, fast_path=path)


def test_the_verified_path_reproduces_the_pipeline_on_one_row_and_on_batches(model):
    served = with_path(model)
    rows = fastpath.check_rows(model.extras["explainer"], model.card, n=300, seed=11)
    rows = [r for r in rows if fastpath.UNSEEN not in r]
    want = model.estimator.predict_proba(np.array(rows, dtype=object))[:, 1]
    batch = served.fast_path.positive(rows)
    single = np.array([served.fast_path.positive([r])[0] for r in rows])
    assert np.abs(batch - want).max() <= 1e-9
    assert np.abs(single - want).max() <= 1e-9


def test_a_path_that_differs_from_the_pipeline_is_refused(model, caplog):
    form = model.extras["explainer"]
    wrong = loaded(model.estimator, model.card, replace(form, base=form.base + 1e-6))
    assert fastpath.verified_path(wrong) is None
    assert "fast path refused" in caplog.text
    row = [list(g["input"]) for g in model.card.golden][:1]
    assert fastpath.explained(wrong, row)[0][0] == model.estimator.predict_proba(np.array(row, dtype=object))[0, 1]


@dataclass(frozen=True, eq=False)
class OffByOneRow:
    """A term whose NumPy arithmetic is right and whose single-row arithmetic is not."""

    term: Any

    def __call__(self, column: Any) -> np.ndarray:
        return self.term(column)

    def scalar(self) -> Any:
        right = self.term.scalar()
        return lambda value: right(value) + 1e-6


def test_a_wrong_single_row_path_is_refused(model, caplog):
    """Both load-time checks cover the plain-Python terms: the explainer's and the fast path's."""
    form = model.extras["explainer"]
    bent = AdditiveForm(form.features, (OffByOneRow(form.terms[0]), *form.terms[1:]), form.base)
    with pytest.raises(NotAdditive, match="single-row path differs"):
        verified(bent, model.estimator, model.card)
    assert fastpath.verified_path(loaded(model.estimator, model.card, bent)) is None
    assert "the single-row path differs" in caplog.text


def test_explained_rows_are_the_pipelines_with_or_without_a_fast_path(model):
    """One pass serves probabilities and contributions; without a path, the pipeline's probabilities."""
    form = model.extras["explainer"]
    rows = [r for r in fastpath.check_rows(form, model.card, n=100, seed=5) if fastpath.UNSEEN not in r]
    want = model.estimator.predict_proba(np.array(rows, dtype=object))[:, 1]
    parts = form.contributions(rows)[1].tolist()
    assert model.fast_path is None
    served = [fastpath.explained(model, rows)]
    model = with_path(model)
    singles = [fastpath.explained(model, [row]) for row in rows]
    served += [fastpath.explained(model, rows), ([p for [p], _ in singles], [c for _, [c] in singles])]
    for probabilities, contributions in served:
        assert np.abs(np.array(probabilities) - want).max() <= 1e-9
        assert contributions == parts


def test_without_an_additive_form_there_is_no_path():
    model = standardized()
    assert fastpath.verified_path(loaded(model.estimator, model.card, None)) is None


def test_a_value_the_path_cannot_take_goes_to_the_pipeline():
    model = with_path(standardized())
    odd = [[object(), *PATIENT_ROW[1:]]]
    with pytest.raises(Exception) as by_pipeline:
        model.estimator.predict_proba(np.array(odd, dtype=object))
    with pytest.raises(type(by_pipeline.value)):
        fastpath.explained(model, odd)


def test_served_models_carry_a_fast_path(make_app, tiny_entry):
    """Through the registry: a loaded model serves through its verified path, and answers as the pipeline."""
    app = make_app({"diagnose": tiny_entry})
    model = app.extensions["model_registry"].deployments["diagnose"].default
    assert model.fast_path is not None
    answer = app.test_client().post("/diagnose", json=PATIENT).get_json()
    want = model.estimator.predict_proba(np.array([PATIENT_ROW], dtype=object))[0, 1]
    assert abs(answer["probability"] - want) <= 1e-9
