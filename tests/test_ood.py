"""Out-of-distribution warnings on every use case, and the diagnosis abstaining beyond its limit."""
from __future__ import annotations

from typing import Any

import joblib
import numpy as np
import pytest
from prometheus_client import REGISTRY

from mlservice import issues
from mlservice.scoring.ranges import RangeCheck
from mlservice.registry.card import ModelCard, read_card

from tests.factories import committed_entry, committed_specs, copy_of

SPECS = committed_specs()
APPLICANT = {"seniority": 9, "home": "rent", "time": 60, "age": 30, "marital": "married", "records": "no",
             "job": "freelance", "expenses": 73, "income": 129, "assets": 0, "debt": 0, "amount": 800, "price": 846}
PATIENT = {"pregnancies": 6, "glucose": 148, "blood_pressure": 72, "skin_thickness": 35, "bmi": 33.6,
           "pedigree": 0.627, "age": 50}


def ood_count(model: str, field: str) -> float:
    return REGISTRY.get_sample_value("mlservice_ood_warnings_total", {"model": model, "field": field}) or 0.0


def card_feature(name: str, feature: str) -> Any:
    return next(f for f in read_card(SPECS[name].artifact_dir).features if f.name == feature)


# --- credit ---------------------------------------------------------------------------------


def test_risk_flags_values_outside_the_training_range_and_still_answers(client):
    income, seniority = card_feature("risk", "Income"), card_feature("risk", "Seniority")
    odd = {**APPLICANT, "income": income.max + 4321.25, "seniority": seniority.max + 7}
    before = ood_count("risk", "income")
    response = client.post("/risk", json=odd)
    assert response.status_code == 200
    assert response.json["warnings"] == [
        {"field": "seniority", "issue": "above_training_range"}, {"field": "income", "issue": "above_training_range"}]
    assert str(odd["income"]) not in response.get_data(as_text=True)
    assert ood_count("risk", "income") == before + 1
    assert client.post("/risk", json=APPLICANT).json["warnings"] == []
    assert ood_count("risk", "income") == before + 1
    batch = client.post("/risk/batch", json={"rows": [APPLICANT, odd]}).json["results"]
    assert [len(r["warnings"]) for r in batch] == [0, 2]


def test_risk_edges_of_the_training_range_are_not_flagged(client):
    age = card_feature("risk", "Age")
    inside = client.post("/risk", json={**APPLICANT, "age": int(age.max)}).json
    beyond = client.post("/risk", json={**APPLICANT, "age": int(age.max) + 1}).json
    assert inside["warnings"] == [] and beyond["warnings"] == [{"field": "age", "issue": "above_training_range"}]


def test_unseen_categories_and_missing_values_are_flagged_at_the_unit_level():
    """The API only accepts categories the model saw (checked at load), so test the check itself
    with a card that lacks one."""
    raw = read_card(SPECS["risk"].artifact_dir).raw
    features = [
        {**f, "categories": [c for c in f["categories"] if c != "ignore"]} if f["name"] == "Home"
        else {**f, "nullable": False} if f["name"] == "Job" else f
        for f in raw["features"]
    ]
    card = ModelCard.from_dict({**raw, "features": features})
    fields = ["seniority", "home", "time", "age", "marital", "records", "job", "expenses", "income",
              "assets", "debt", "amount", "price"]
    check = RangeCheck.from_card(card, fields)
    row = [9, "ignore", 60, 30, "married", "no", None, 73, None, 0, 0, 800, 846]
    assert check.issues([row, [9, "rent", 60, 30, None, "no", "fixed", 73, 129, 0, 0, 800, 846]]) == [
        [{"field": "home", "issue": "unseen_category"}, {"field": "job", "issue": "unseen_missing"}],
        [],  # marital may be missing: training had missing marital status
    ]


def test_batches_are_flagged_as_each_row_alone():
    """Batches check column by column, single rows field by field: the same flags."""
    card = read_card(SPECS["risk"].artifact_dir)
    check = RangeCheck.from_card(card, [f.name for f in card.features])
    rng = np.random.default_rng(4)
    pools = [[*f.categories, "unseen", None] if f.type == "categorical"
             else [f.min, f.max, f.min - 1, f.max + 0.5, (f.min + f.max) / 2, None] for f in card.features]
    rows = [[pool[rng.integers(len(pool))] for pool in pools] for _ in range(300)]
    batch = check.issues(rows)
    assert batch == [check.issues([row])[0] for row in rows]
    assert sum(map(len, batch)) > 300


def test_distances_beyond_the_limit_are_measured_in_training_sds():
    card = read_card(SPECS["diagnose"].artifact_dir)
    glu = next(j for j, f in enumerate(card.features) if f.name == "glu")
    feature, check = card.features[glu], RangeCheck.from_card(card, [f.name for f in card.features])
    base = [f.median for f in card.features]
    at = [feature.min - 2 * feature.std, feature.min - 1.01 * feature.std, feature.min, feature.max + 0.99 * feature.std,
          feature.max + 1.01 * feature.std, None]
    rows = [[*base[:glu], x, *base[glu + 1:]] for x in at]
    assert check.beyond(rows, 1.0) == [["glu"], ["glu"], [], [], ["glu"], []]
    assert check.beyond(rows, 0.0) == [["glu"], ["glu"], [], ["glu"], ["glu"], []]
    with pytest.raises(ValueError):
        check.beyond(rows, -1.0)


# --- diagnosis ------------------------------------------------------------------------------


def test_diagnose_warns_inside_the_limit_and_abstains_beyond_it(client):
    glucose = card_feature("diagnose", "glu")
    limit = SPECS["diagnose"].settings["ood_limit"]
    near = {**PATIENT, "glucose": glucose.max + 0.5 * limit * glucose.std}
    far = {**PATIENT, "glucose": glucose.max + 1.5 * limit * glucose.std}
    model = joblib.load(SPECS["diagnose"].artifact)
    warned = client.post("/diagnose", json=near).json
    assert warned["warnings"] == [{"field": "glucose", "issue": "above_training_range"}]
    assert not warned["abstained"] and warned["abstain_reason"] is None and warned["factors"]
    row = [[near[k] for k in ("pregnancies", "glucose", "blood_pressure", "skin_thickness", "bmi", "pedigree", "age")]]
    assert warned["probability"] == pytest.approx(model.predict_proba(row)[0, 1], abs=1e-12)
    before = ood_count("diagnose", "glucose")
    response = client.post("/diagnose", json=far)
    assert response.status_code == 200
    body = response.json
    assert body["abstained"] is True and body["probability"] is None and body["label"] == "cannot_assess"
    assert body["factors"] == [] and body["warnings"] == [{"field": "glucose", "issue": "above_training_range"}]
    assert "glucose" in body["abstain_reason"] and str(far["glucose"]) not in response.get_data(as_text=True)
    assert "decision support" in body["disclaimer"].lower()
    assert ood_count("diagnose", "glucose") == before + 1


def test_diagnose_batch_abstains_row_by_row(client):
    age = card_feature("diagnose", "age")
    rows = [PATIENT, {**PATIENT, "age": 120, "bmi": 99.0}, {**PATIENT, "age": int(age.min) - 3}]
    results = client.post("/diagnose/batch", json={"rows": rows}).json["results"]
    assert [r["abstained"] for r in results] == [False, True, False]
    assert results[1]["label"] == "cannot_assess" and "bmi and age" in results[1]["abstain_reason"]
    assert results[2]["warnings"] == [{"field": "age", "issue": "below_training_range"}]
    assert results[2]["probability"] is not None


@pytest.mark.parametrize(("limit", "abstains"), [(0.0, [True, True]), (0.75, [False, True]), (100.0, [False, False])])
def test_the_abstention_limit_is_a_setting(make_app, tmp_path, limit, abstains):
    glucose = card_feature("diagnose", "glu")
    entry = committed_entry("diagnose", {"threshold": 0.5, "ood_limit": limit})
    client = make_app({"diagnose": entry}).test_client()
    rows = [{**PATIENT, "glucose": glucose.max + 0.5 * glucose.std}, {**PATIENT, "glucose": glucose.max + glucose.std}]
    results = client.post("/diagnose/batch", json={"rows": rows}).json["results"]
    assert [r["abstained"] for r in results] == abstains
    assert all(r["warnings"] == [{"field": "glucose", "issue": "above_training_range"}] for r in results)


def test_a_negative_abstention_limit_is_refused(make_app):
    entry = committed_entry("diagnose", {"threshold": 0.5, "ood_limit": -1.0})
    app = make_app({"diagnose": entry})
    assert app.test_client().post("/diagnose", json=PATIENT).status_code == 503


# --- recommendations ------------------------------------------------------------------------


def test_recommend_flags_rarely_rated_liked_items_by_position(client):
    model = joblib.load(SPECS["recommend"].artifact)
    threshold = SPECS["recommend"].settings["rare_item_raters"]
    counts = model.raters(model.item_ids_)
    rare = int(model.item_ids_[np.flatnonzero(counts < threshold)[0]])
    before = ood_count("recommend", "liked_items")
    body = client.post("/recommend", json={"liked_items": [260, rare], "k": 5}).json
    assert body["warnings"] == [{"field": "liked_items", "index": 1, "issue": "rarely_rated_item"}]
    assert len(body["items"]) == 5
    assert ood_count("recommend", "liked_items") == before + 1
    assert client.post("/recommend", json={"liked_items": [260, 1], "k": 5}).json["warnings"] == []
    assert client.post("/recommend", json={"user_id": 15, "k": 5}).json["warnings"] == []


def test_warnings_are_documented_in_the_response_schemas(client):
    spec = client.get("/openapi.json").get_json()["components"]["schemas"]
    for schema in ("Assessment", "Diagnosis", "RecommendResult"):
        assert "warnings" in spec[schema]["properties"], schema
    diagnosis = spec["Diagnosis"]["properties"]
    assert "cannot_assess" in diagnosis["label"]["enum"] and diagnosis["abstained"]["type"] == "boolean"
    assert set(spec["OodWarning"]["properties"]["issue"]["enum"]) >= {issues.BELOW, issues.ABOVE, issues.UNSEEN, issues.MISSING}


def test_unchanged_copies_of_the_artifacts_still_warn(tmp_path, make_app):
    """Warnings come from the card, so a copy of the artifact elsewhere behaves the same."""
    entry = copy_of("risk", tmp_path, version=SPECS["risk"].version)
    client = make_app({"risk": entry}).test_client()
    body = client.post("/risk", json={**APPLICANT, "age": 99}).json
    assert body["warnings"] == [{"field": "age", "issue": "above_training_range"}]
