"""Each endpoint returns exactly what the committed artifact computes when called directly."""
from __future__ import annotations

import json
from typing import Any

import joblib
import numpy as np
import pytest

from mlservice.registry.card import read_card

from tests.factories import APPLICANTS, PATIENTS, committed_specs

SPECS = committed_specs()



def direct(name: str) -> Any:
    return joblib.load(SPECS[name].artifact)


def model_rows(name: str, records: list[dict[str, Any]], schema: Any) -> np.ndarray:
    """The model's column order from the card, mapped from API names via the schema's metadata."""
    to_attr = {f.metadata["feature"]: attr for attr, f in schema().fields.items() if "feature" in f.metadata}
    card = read_card(SPECS[name].artifact_dir)
    return np.array([[r.get(to_attr[c]) for c in card.feature_names] for r in records], dtype=object)


def test_risk_matches_the_artifact(client):
    from mlservice.risk.schemas import ApplicantSchema

    expected = direct("risk").predict_proba(model_rows("risk", APPLICANTS, ApplicantSchema))[:, 1]
    settings = SPECS["risk"].settings
    for applicant, p in zip(APPLICANTS, expected):
        body = client.post("/risk", json=applicant).get_json()
        assert body["probability_of_default"] == pytest.approx(p, abs=1e-12)
        want = "decline" if p >= settings["decline_at"] else "review" if p >= settings["review_at"] else "approve"
        assert body["decision"] == want
        assert body["model"] == {"name": "risk", "version": SPECS["risk"].version, "digest": SPECS["risk"].sha256[:12]}
    batch = client.post("/risk/batch", json={"rows": APPLICANTS}).get_json()
    assert [r["probability_of_default"] for r in batch["results"]] == pytest.approx(list(expected), abs=1e-12)


def test_diagnose_matches_the_artifact(client):
    from mlservice.diagnose.schemas import PatientSchema

    expected = direct("diagnose").predict_proba(model_rows("diagnose", PATIENTS, PatientSchema))[:, 1]
    threshold = SPECS["diagnose"].settings["threshold"]
    batch = client.post("/diagnose/batch", json={"rows": PATIENTS}).get_json()
    assert [r["probability"] for r in batch["results"]] == pytest.approx(list(expected), abs=1e-12)
    assert [r["label"] for r in batch["results"]] == ["positive" if p >= threshold else "negative" for p in expected]
    one = client.post("/diagnose", json=PATIENTS[0]).get_json()
    assert one["probability"] == pytest.approx(expected[0], abs=1e-12)
    assert "decision support" in one["disclaimer"].lower()


def test_recommend_for_a_known_user_matches_the_artifact(client):
    model = direct("recommend")
    user = 15
    assert model.has_user(user)
    items, scores = model.recommend_for_user(user, 7)
    body = client.post("/recommend", json={"user_id": user, "k": 7}).get_json()
    assert body["strategy"] == "collaborative"
    assert [i["id"] for i in body["items"]] == [int(i) for i in items]
    assert [i["score"] for i in body["items"]] == pytest.approx([float(s) for s in scores], abs=1e-12)
    assert all(i["title"] == model.title(i["id"]) for i in body["items"])


def test_recommend_for_liked_items_and_unknown_users(client):
    model = direct("recommend")
    items, _ = model.recommend_for_items([1, 260], 5)
    body = client.post("/recommend", json={"liked_items": [1, 260], "k": 5}).get_json()
    assert body["strategy"] == "item_similarity"
    assert [i["id"] for i in body["items"]] == [int(i) for i in items]
    assert not {1, 260} & {i["id"] for i in body["items"]}
    popular, _ = model.popular(5)
    body = client.post("/recommend", json={"user_id": 2_000_000_000, "k": 5}).get_json()
    assert body["strategy"] == "popularity"
    assert [i["id"] for i in body["items"]] == [int(i) for i in popular]


def test_recommend_skips_and_flags_unknown_items_without_echoing_them(client):
    response = client.post("/recommend", json={"liked_items": [1, 1_999_999_937], "k": 5})
    assert response.status_code == 200
    assert response.json["warnings"] == [{"field": "liked_items", "index": 1, "issue": "unknown_item"}]
    assert "1999999937" not in response.get_data(as_text=True)
    only_known = client.post("/recommend", json={"liked_items": [1], "k": 5}).json
    assert response.json["items"] == only_known["items"] and only_known["warnings"] == []


def test_recommended_items_exclude_what_the_user_rated(client):
    model = direct("recommend")
    user = 15
    rated = {int(i) for i in model.rated_items(user)}
    assert len(rated) > 20
    body = client.post("/recommend", json={"user_id": user, "k": 100}).get_json()
    assert len(body["items"]) == 100
    assert not rated & {i["id"] for i in body["items"]}


def test_models_endpoint_shows_cards_without_golden_examples(client):
    listing = client.get("/models").get_json()["models"]
    assert {m["name"] for m in listing} == {"risk", "diagnose", "recommend"}
    assert all(m["ready"] for m in listing)
    detail = client.get("/models/risk").get_json()
    assert detail["sha256"] == SPECS["risk"].sha256
    assert detail["card"]["metrics"] and detail["card"]["features"] and detail["card"]["data"]
    assert "golden" not in detail["card"]
    golden_input = read_card(SPECS["risk"].artifact_dir).golden[0]["input"]
    assert json.dumps(golden_input) not in json.dumps(detail)


def test_readyz_is_200_when_all_models_load(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["models"] == {name: spec.version for name, spec in SPECS.items()}
