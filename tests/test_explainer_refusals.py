"""A model the service cannot explain faithfully is refused at load, and a swap to it changes nothing."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from mlservice.registry.extension import EXTENSION
from tests.factories import PIMA, committed_specs, copy_of, tiny_diagnose_model, tiny_patients, write_artifact, write_models_config

SPECS = committed_specs()
APPLICANT = {"seniority": 9, "time": 60, "age": 30, "records": "no", "expenses": 73, "amount": 800, "price": 846}


def failure(app: Any, name: str) -> str:
    return app.extensions[EXTENSION].failures[name].reason


def feature(card: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in card["features"] if f["name"] == name)


def test_risk_model_with_a_category_the_reasons_do_not_cover_is_refused(make_app, tmp_path):
    entry = copy_of("risk", tmp_path, edit=lambda c: feature(c, "Home")["categories"].append("castle"))
    app = make_app({"risk": entry})
    assert "no reason texts" in failure(app, "risk") and "home=castle" in failure(app, "risk")
    assert app.test_client().post("/risk", json=APPLICANT).status_code == 503


def test_risk_model_without_training_medians_is_refused(make_app, tmp_path):
    entry = copy_of("risk", tmp_path, edit=lambda c: feature(c, "Income").pop("median"))
    assert "income" in failure(make_app({"risk": entry}), "risk")


def test_risk_model_without_column_means_is_refused(make_app, tmp_path):
    entry = copy_of("risk", tmp_path, edit=lambda c: c["explanation"].pop("column_means"))
    assert "no exact reason codes" in failure(make_app({"risk": entry}), "risk")


def test_risk_thresholds_at_which_a_typical_applicant_is_reviewed_are_refused(make_app, tmp_path):
    low = copy_of("risk", tmp_path, settings={"review_at": 0.1, "decline_at": 0.5})
    assert "reviews could lack reasons" in failure(make_app({"risk": low}), "risk")


def test_a_swap_to_an_unexplainable_risk_model_keeps_the_old_one(make_app, tmp_path):
    good = copy_of("risk", tmp_path / "a", version="9.0.0")
    bad = copy_of("risk", tmp_path / "b", version="9.1.0", edit=lambda c: feature(c, "Job")["categories"].append("astronaut"))
    app = make_app({"risk": good})
    registry = app.extensions[EXTENSION]
    write_models_config(Path(app.config["MODELS_CONFIG"]), {"risk": bad})
    assert registry.refresh() is False
    assert "job=astronaut" in failure(app, "risk")
    body = app.test_client().post("/risk", json=APPLICANT).json
    assert body["model"]["version"] == "9.0.0" and "reasons" in body


def test_diagnose_card_without_training_spreads_is_refused(make_app, tmp_path):
    bare = [{"name": n, "type": "number", "min": 0.0, "max": 500.0} for n in PIMA]  # no std
    entry = write_artifact(tmp_path, tiny_diagnose_model(), features=bare)
    app = make_app({"diagnose": {**entry, "settings": {"threshold": 0.5}}})
    assert "no training min, max and std" in failure(app, "diagnose")


def test_diagnose_model_that_is_not_a_standardised_logistic_regression_is_refused(make_app, tmp_path):
    model = make_pipeline(MinMaxScaler(), LogisticRegression()).fit(*tiny_patients())
    entry = write_artifact(tmp_path, model)
    app = make_app({"diagnose": {**entry, "settings": {"threshold": 0.5}}})
    assert "no exact factors" in failure(app, "diagnose")


def test_recommender_whose_catalog_lacks_a_filterable_genre_is_refused(make_app, tmp_path):
    entry = copy_of("recommend", tmp_path, edit=lambda c: c["catalog"]["genres"].remove("Film-Noir"))
    assert "lacks genres the API offers as filters: Film-Noir" in failure(make_app({"recommend": entry}), "recommend")
