"""Explanations are the model's own numbers: they add up to its output, on rows it never saw.

Credit reason codes and diabetes factors are checked against an independent
computation from the scikit-learn pipeline (its encoders and coefficients),
not against the additive form that serves them.
"""
from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import joblib
import numpy as np
import pytest

from deploy.processes import ROOT
from mlservice.diagnose.schemas import PatientSchema
from mlservice.scoring.additive import NotAdditive
from mlservice.scoring.linear import scorecard_form
from mlservice.scoring.terms import StepTerm
from mlservice.scoring.classifier import verified_scorer
from mlservice.scoring.verify import probe_rows
from mlservice.registry.card import ModelCard, read_card
from mlservice.registry.extension import EXTENSION
from mlservice.risk.reasons import principal
from mlservice.risk.schemas import ApplicantSchema
from mlservice.training import classifier_card, diagnose, risk, tabular

from tests.factories import committed_specs
from tests.figures import record

SPECS = committed_specs()


def committed(name: str) -> tuple[ModelCard, Any]:
    return read_card(SPECS[name].artifact_dir), joblib.load(SPECS[name].artifact)


def to_api(schema: Any, card: ModelCard, rows: np.ndarray) -> list[dict[str, Any]]:
    """Model rows as request bodies (missing optional fields omitted)."""
    attr = {f.metadata["feature"]: a for a, f in schema().fields.items() if "feature" in f.metadata}
    return [{attr[n]: v for n, v in zip(card.feature_names, row) if v is not None} for row in rows]


def fields_of(schema: Any, card: ModelCard) -> list[str]:
    attr = {f.metadata["feature"]: a for a, f in schema().fields.items() if "feature" in f.metadata}
    return [attr[n] for n in card.feature_names]


def random_valid(schema: Any, card: ModelCard, n: int, seed: int) -> np.ndarray:
    """Rows the API accepts: half inside the training range, half anywhere within the schema bounds."""
    rng = np.random.default_rng(seed)
    fields = schema().fields
    rows = np.empty((n, len(card.features)), dtype=object)
    for j, (feature, name) in enumerate(zip(card.features, fields_of(schema, card))):
        field = fields[name]
        if feature.type == "categorical":
            choices = list(next(v.choices for v in field.validators if hasattr(v, "choices")))
            values: list[Any] = [choices[i] for i in rng.integers(0, len(choices), n)]
        else:
            bounds = next(v for v in field.validators if hasattr(v, "min"))
            wide = rng.uniform(bounds.min, bounds.max, n)
            values = np.where(rng.random(n) < 0.5, rng.uniform(feature.min, feature.max, n), wide).tolist()
            values = [int(round(v)) if feature.type == "integer" else float(v) for v in values]
        if not field.required:
            values = [None if r < 0.2 else v for v, r in zip(values, rng.random(n))]
        rows[:, j] = values
    return rows


def scorecard_parts(pipeline: Any, card: ModelCard, rows: np.ndarray) -> np.ndarray:
    """Per-feature contributions straight from the pipeline: encoded block x coefficients,
    minus the training mean of that block's part (the card's column means)."""
    encoder, coef = pipeline.named_steps["scorecard"], pipeline.named_steps["model"].coef_[0]
    encoded = encoder.transform(rows)
    encoded = encoded.toarray() if hasattr(encoded, "toarray") else encoded  # sparse when all one-hot
    means = card.raw["explanation"]["column_means"]
    parts = [encoded[:, encoder.output_indices_[n]] @ coef[encoder.output_indices_[n]]
             - np.dot(means[n], coef[encoder.output_indices_[n]]) for n in card.feature_names]
    return np.column_stack(parts)


def served(app: Any, name: str) -> Any:
    return app.extensions[EXTENSION].route(name)[0]


@pytest.fixture(scope="module")
def credit() -> tuple[np.ndarray, np.ndarray]:
    frame = risk.load_data()
    return tabular.object_rows(frame, risk.NAMES), risk.target(frame)


# --- credit reason codes ------------------------------------------------------------------


def test_risk_contributions_add_up_to_the_models_log_odds(app, credit):
    card, pipeline = committed("risk")
    form = served(app, "risk").runtime.scorer.form
    golden = np.array([g["input"] for g in card.golden], dtype=object)  # held out of the final fit
    sample = credit[0][np.random.default_rng(0).choice(len(credit[0]), 500, replace=False)]
    for rows in (golden, sample, random_valid(ApplicantSchema, card, 500, seed=1)):
        base, parts = form.contributions(rows)
        assert np.allclose(base + parts.sum(axis=1), pipeline.decision_function(rows), rtol=0, atol=1e-9)
        assert np.allclose(parts, scorecard_parts(pipeline, card, rows), rtol=0, atol=1e-9)


def test_risk_explanations_are_exact_on_rows_the_model_never_saw(credit):
    """Refit on 70% of the real data; explain the other 30%."""
    rows, y = credit
    order = np.random.default_rng(5).permutation(len(y))
    train, held_out = order[: int(0.7 * len(y))], order[int(0.7 * len(y)):]
    with risk.merged_bins():
        pipeline = risk.build_pipeline(0, c=0.3).fit(rows[train], y[train])
    card = ModelCard.from_dict({
        "name": "risk", "version": "t", "kind": "binary_classifier", "use_case": "risk",
        "artifact": {"sha256": "0" * 64}, "libraries": {}, "golden": [{"input": rows[train[0]].tolist()}],
        "features": classifier_card.describe_features(rows[train], risk.FEATURES),
        "explanation": risk._explanation(pipeline, rows[train]),
    })
    form = verified_scorer(scorecard_form(pipeline, card), pipeline, card).form
    base, parts = form.contributions(rows[held_out])
    assert np.allclose(base + parts.sum(axis=1), pipeline.decision_function(rows[held_out]), rtol=0, atol=1e-9)
    assert np.allclose(parts, scorecard_parts(pipeline, card, rows[held_out]), rtol=0, atol=1e-9)


def test_every_review_or_decline_in_500_applicants_has_reasons(client, credit):
    card, pipeline = committed("risk")
    rows = credit[0][np.random.default_rng(11).choice(len(credit[0]), 500, replace=False)]
    body = client.post("/risk/batch", json={"rows": to_api(ApplicantSchema, card, rows)}).get_json()
    names = fields_of(ApplicantSchema, card)
    truth = scorecard_parts(pipeline, card, rows)
    flagged = 0
    for result, parts in zip(body["results"], truth):
        if result["decision"] == "approve":
            assert result["reasons"] == []
            continue
        flagged += 1
        reasons = result["reasons"]
        assert 1 <= len(reasons) <= 4 and all(r["feature"] in names and r["reason"] for r in reasons)
        got = [r["contribution"] for r in reasons]
        want = sorted((p for p in parts if p > 0), reverse=True)[: len(got)]
        assert got == pytest.approx(want, abs=1e-9)  # the largest positive parts, largest first
        assert all(parts[names.index(r["feature"])] == pytest.approx(r["contribution"], abs=1e-9) for r in reasons)
    record("risk: reason codes", f"{flagged} reviews or declines in 500 held-out applicants, each with 1-4 reasons")
    assert flagged > 150  # about 40% of applicants are reviewed or declined


def test_moving_the_top_reason_the_adverse_way_does_not_lower_the_risk(app, client, credit):
    card = read_card(SPECS["risk"].artifact_dir)
    form = served(app, "risk").runtime.scorer.form
    names = fields_of(ApplicantSchema, card)
    rows = credit[0][np.random.default_rng(3).choice(len(credit[0]), 200, replace=False)]
    before = client.post("/risk/batch", json={"rows": to_api(ApplicantSchema, card, rows)}).get_json()["results"]
    worse, better, reviewed = [], [], [r for r in before if r["reasons"]]
    for row, result in zip(rows, before):
        if result["reasons"]:
            j = names.index(result["reasons"][0]["feature"])
            values = candidates(card.features[j], form.terms[j], ApplicantSchema().fields[names[j]].required)
            scores = form.terms[j](np.array(values, dtype=object))
            for pick, into in ((int(np.argmax(scores)), worse), (int(np.argmin(scores)), better)):
                changed = row.copy()
                changed[j] = values[pick]
                into.append(changed)
    after = {}
    for label, changed in (("worse", worse), ("better", better)):
        after[label] = client.post("/risk/batch", json={"rows": to_api(ApplicantSchema, card, np.array(changed))}).get_json()["results"]
    assert len(reviewed) > 50
    for old, new_worse, new_better in zip(reviewed, after["worse"], after["better"]):
        assert new_worse["probability_of_default"] >= old["probability_of_default"] - 1e-12
        assert new_better["probability_of_default"] < old["probability_of_default"]  # it had raised the risk


def candidates(feature: Any, term: Any, required: bool) -> list[Any]:
    """Every value class the API accepts for a field: each bin (within training), each category, missing."""
    if feature.type == "categorical":
        values: list[Any] = list(feature.categories)
    else:
        edges = [e for e in term.edges if feature.min <= e <= feature.max] if isinstance(term, StepTerm) else []
        whole = feature.type == "integer"  # an edge of an integer field: its bin starts at the next integer
        values = sorted({feature.min, feature.max, *(math.ceil(e) if whole else float(e) for e in edges)})
    return values if required else [*values, None]


def test_reason_texts_say_which_side_of_typical(client):
    """Numbers are worded against the training median; categories by value; omitted fields as not given."""
    card = read_card(SPECS["risk"].artifact_dir)
    median = {name: f.median for name, f in zip(fields_of(ApplicantSchema, card), card.features)}
    applicants = [
        {"seniority": 0, "time": 72, "age": 19, "records": "yes", "expenses": 180, "amount": 5000, "price": 5100,
         "home": "rent", "job": "partime"},
        {"seniority": 30, "time": 12, "age": 60, "records": "no", "expenses": 35, "amount": 4000, "price": 300,
         "income": 20, "assets": 0, "debt": 8000, "home": "parents", "marital": "separated", "job": "others"},
    ]
    seen = 0
    for applicant in applicants:
        body = client.post("/risk", json=applicant).get_json()
        assert body["decision"] != "approve" and len(body["reasons"]) == 4
        for r in body["reasons"]:
            field, value = r["feature"], applicant.get(r["feature"])
            if median.get(field) is None:  # a category
                continue
            seen += 1
            side = "not given" if value is None else "above" if value > median[field] else "below" if value < median[field] else "at"
            assert side in r["reason"], (field, r["reason"])
    assert {"reason": "Has records on file"}.items() <= next(
        r for r in client.post("/risk", json=applicants[0]).get_json()["reasons"] if r["feature"] == "records").items()
    assert seen >= 3


def test_reasons_are_the_largest_raises_first_ties_in_field_order():
    card = read_card(SPECS["risk"].artifact_dir)
    fields = fields_of(ApplicantSchema, card)
    row = [None if f.type == "categorical" else f.median for f in card.features]
    parts = [0.0] * len(fields)
    parts[1] = parts[2] = parts[7] = 0.5
    parts[4], parts[9], parts[11] = -3.0, 2.0, 0.1
    for contributions in (parts, np.array(parts)):
        got = principal(contributions, row, fields, card.features)
        assert [r["feature"] for r in got] == [fields[9], fields[1], fields[2], fields[7]]
        assert [r["contribution"] for r in got] == [2.0, 0.5, 0.5, 0.5]


def test_a_corrupted_term_is_refused_by_the_load_time_check(app):
    card, pipeline = committed("risk")
    form = served(app, "risk").runtime.scorer.form
    verified_scorer(form, pipeline, card)  # the served form passes
    j = card.feature_names.index("Income")
    term = form.terms[j]
    bent = dataclasses.replace(term, coef=term.coef + np.eye(len(term.coef))[2] * 1e-6)  # one spline coefficient
    broken = type(form)(form.features, form.terms[:j] + (bent,) + form.terms[j + 1:], form.base)
    with pytest.raises(NotAdditive, match="differs from the model"):
        verified_scorer(broken, pipeline, card)


@pytest.mark.parametrize("name", ["risk", "diagnose"])
def test_one_row_contributions_are_the_batch_ones_to_the_bit(app, name):
    """The plain-Python terms that serve single rows do the NumPy terms' float64 arithmetic."""
    card, _ = committed(name)
    form = served(app, name).runtime.scorer.form
    rows = probe_rows(form, card, 300, seed=7).tolist()  # every category, unseen and missing values, bin edges
    assert [form.row_contributions(row) for row in rows] == form.contributions(rows)[1].tolist()


# --- diabetes factors and calibration ----------------------------------------------------------


def test_diagnose_factors_are_the_models_own(app, client):
    card, pipeline = committed("diagnose")
    frame = diagnose.load_data()
    rows = tabular.object_rows(frame, diagnose.NAMES)
    form = served(app, "diagnose").runtime.scorer.form
    scaler, model = pipeline.named_steps["scale"], pipeline.named_steps["model"]
    for sample in (rows, random_valid(PatientSchema, card, 300, seed=2)):
        base, parts = form.contributions(sample)
        independent = scaler.transform(sample.astype(float)) * model.coef_[0]
        assert np.allclose(parts, independent, rtol=0, atol=1e-9)
        assert np.allclose(base + parts.sum(axis=1), pipeline.decision_function(sample), rtol=0, atol=1e-9)
    body = client.post("/diagnose/batch", json={"rows": to_api(PatientSchema, card, rows[:50])}).get_json()
    names = fields_of(PatientSchema, card)
    independent = scaler.transform(rows[:50].astype(float)) * model.coef_[0]
    for result, parts in zip(body["results"], independent):
        assert not result["abstained"]  # training rows are inside the training range
        top = np.argsort(-np.abs(parts), kind="stable")[:3]
        assert [f["feature"] for f in result["factors"]] == [names[j] for j in top]
        assert [f["contribution"] for f in result["factors"]] == pytest.approx(parts[top].tolist(), abs=1e-9)
        assert all((f["effect"] == "raises") == (f["contribution"] > 0) for f in result["factors"])


def test_served_diagnose_probability_is_the_calibrated_models_own(client):
    card, pipeline = committed("diagnose")
    rows = tabular.object_rows(diagnose.load_data(), diagnose.NAMES)
    body = client.post("/diagnose/batch", json={"rows": to_api(PatientSchema, card, rows)}).get_json()
    served_p = [r["probability"] for r in body["results"]]
    assert served_p == pytest.approx(pipeline.predict_proba(rows)[:, 1].tolist(), abs=1e-12)
    calibration = card.raw["metrics"]["out_of_fold"]["calibration"]
    assert 0 < calibration["brier_score"] < card.raw["metrics"]["baseline"]["brier_score"]["mean"]
    assert sum(b["count"] for b in calibration["reliability"]) == len(rows)
    # the claim that justifies serving the plain logistic regression uncalibrated: slope near 1
    assert 0.8 < calibration["slope"] < 1.25 and abs(calibration["intercept"]) < 0.25


# --- recommendations ------------------------------------------------------------------------


@pytest.mark.parametrize("query", [{"user_id": 15, "k": 20}, {"liked_items": [1, 260, 1196], "k": 20},
                                   {"user_id": 2_000_000_000, "k": 5}])
def test_each_recommendation_says_why_from_its_score(client, query):
    model = joblib.load(SPECS["recommend"].artifact)
    body = client.post("/recommend", json=query).get_json()
    seeds = query.get("liked_items") or (model.liked_by(query["user_id"]).tolist() if model.has_user(query["user_id"]) else [])
    for item in body["items"]:
        why = item["reason"]
        assert why["similarity"] + why["popularity"] == pytest.approx(item["score"], abs=1e-12)
        column = model.similarity_[model._positions(seeds)][:, model._positions([item["id"]])]
        votes = column.toarray().astype(np.float64).ravel()
        assert why["similarity"] == pytest.approx(float(votes.sum()), abs=1e-9)
        if not votes.any():
            assert why == {**why, "code": "popular", "because_of": None, "text": "Popular with viewers"}
            continue
        assert why["because_of"] == min(s for s, v in zip(seeds, votes) if v == votes.max())
        assert model.title(why["because_of"]) in why["text"]
        dominant = "similar" if why["similarity"] >= why["popularity"] else "popular"
        assert why["code"].startswith(dominant)
    if "user_id" in query and not seeds:
        assert all(i["reason"]["code"] == "popular" for i in body["items"])


def test_recommend_filters_by_genre_and_exclusion(client):
    model = joblib.load(SPECS["recommend"].artifact)
    plain = client.post("/recommend", json={"user_id": 15, "k": 10}).get_json()["items"]
    excluded = [plain[0]["id"], plain[3]["id"]]
    query = {"user_id": 15, "k": 10, "genres": ["Comedy", "War"], "exclude_items": excluded}
    body = client.post("/recommend", json=query).get_json()
    ids = [i["id"] for i in body["items"]]
    assert len(ids) == 10 and not set(ids) & set(excluded)
    assert all({"Comedy", "War"} & set(model.genres(i)) for i in ids)
    want, _ = model.recommend_for_user(15, 10, genres=["Comedy", "War"], exclude=excluded)
    assert ids == want.tolist()
    assert client.post("/recommend", json={**query, "genres": ["Noir"]}).status_code == 422


# --- the documents --------------------------------------------------------------------------


def test_rendered_cards_describe_the_pinned_artifacts_and_are_linked():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    index = (ROOT / "docs" / "models.md").read_text(encoding="utf-8")
    assert "docs/models/" in readme
    for name, spec in SPECS.items():
        page = ROOT / "docs" / "models" / f"{name}.md"
        text = page.read_text(encoding="utf-8")
        model_file_digest = json.loads((spec.artifact_dir / "card.json").read_text())["artifact"]["sha256"]
        assert f"models/{name}.md" in index and model_file_digest in text  # bound to the pin through the card
        images = [line.split("](")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
        assert images and all((page.parent / image).is_file() for image in images)
    assert "Brier score" in (ROOT / "docs" / "models" / "diagnose.md").read_text(encoding="utf-8")
