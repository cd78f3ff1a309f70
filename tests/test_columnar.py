"""Columnar endpoints answer exactly what the row endpoints answer, row by row.

Rows: the model cards' golden inputs, then seeded rows the API accepts (optional
fields omitted or null, values at bin edges, values outside the training range
that draw warnings and, for diagnose, abstentions). Each set goes to
``/<use case>/batch`` in 1,000-row requests and to ``/<use case>/columns`` in one.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from prometheus_client import REGISTRY

from mlservice.diagnose.schemas import PatientSchema
from mlservice.scoring.terms import StepTerm
from mlservice.registry.extension import EXTENSION
from mlservice.risk.schemas import ApplicantSchema

SCHEMAS = {"diagnose": PatientSchema, "risk": ApplicantSchema}
EXACT = 1e-12


def served(app: Any, name: str) -> Any:
    return app.extensions[EXTENSION].route(name)[0]


def as_columns(rows: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, Any]:
    """Rows as a columnar body; an optional field no row sends is left out."""
    return {"columns": {n: [row.get(n) for row in rows] for n in names if any(n in row for row in rows)}}


def golden_rows(model: Any) -> list[dict[str, Any]]:
    return [{n: v for n, v in zip(model.input_fields, g["input"]) if v is not None} for g in model.card.golden]


def seeded_rows(model: Any, n: int, seed: int) -> list[dict[str, Any]]:
    """Rows the API accepts: in range, at bin edges, near and far outside the training range, some missing."""
    rng = np.random.default_rng(seed)
    fields = SCHEMAS[model.spec.name]().fields
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for name, feature, term in zip(model.input_fields, model.card.features, model.runtime.scorer.form.terms):
        field = fields[name]
        values = _categories(field, rng, n) if feature.type == "categorical" else _numbers(field, feature, term, rng, n)
        for row, value, roll in zip(rows, values, rng.random(n)):
            if field.required or roll > 0.25:
                row[name] = None if not field.required and roll < 0.35 else value
            # else: omitted, as a row may omit an optional field
    return rows


def _categories(field: Any, rng: np.random.Generator, n: int) -> list[str]:
    choices = list(field.validators[0].choices)
    return [choices[i] for i in rng.integers(0, len(choices), n)]


def _numbers(field: Any, feature: Any, term: Any, rng: np.random.Generator, n: int) -> list[Any]:
    bounds = field.validators[0]
    spread = (feature.std or 1.0) * 3
    pools = [
        rng.uniform(feature.min, feature.max, n),  # inside the training range
        rng.uniform(bounds.min, bounds.max, n),  # anywhere the API accepts
        rng.uniform(feature.min - spread, feature.max + spread, n),  # just outside: warnings, some abstentions
    ]
    weights = [0.85, 0.05, 0.1]
    if isinstance(term, StepTerm) and len(term.edges):
        pools.append(rng.choice(term.edges, n))
        weights = [0.6, 0.05, 0.1, 0.25]
    x = np.choose(rng.choice(len(pools), n, p=weights), pools)
    integer = type(field).__name__ == "StrictInteger"
    x = np.clip(np.round(x) if integer else x, bounds.min, bounds.max)
    return [int(v) for v in x] if integer else [float(v) for v in x]


def row_answers(client: Any, name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = []
    for start in range(0, len(rows), 1000):
        response = client.post(f"/{name}/batch", json={"rows": rows[start:start + 1000]})
        assert response.status_code == 200, response.get_json()
        results += response.get_json()["results"]
    return results


def column_answer(client: Any, name: str, rows: list[dict[str, Any]], model: Any) -> dict[str, Any]:
    response = client.post(f"/{name}/columns", json=as_columns(rows, model.input_fields))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def warnings_by_row(answer: dict[str, Any], n: int) -> list[list[dict[str, str]]]:
    flags: list[list[dict[str, str]]] = [[] for _ in range(n)]
    for flag in answer["warnings"]:
        flags[flag["index"]].append({"field": flag["field"], "issue": flag["issue"]})
    return flags


def top_factors(parts: list[float], names: tuple[str, ...]) -> list[dict[str, Any]]:
    """The row endpoint's factors, read off all contributions: 3 largest |c|, ties in field order, zeros left out."""
    order = sorted(range(len(parts)), key=lambda j: abs(parts[j]), reverse=True)[:3]
    return [{"feature": names[j], "effect": "raises" if parts[j] > 0 else "lowers", "contribution": parts[j]}
            for j in order if parts[j] != 0]


def assert_same_diagnoses(rows_said: list[dict[str, Any]], columns_said: dict[str, Any], names: tuple[str, ...]) -> None:
    flags = warnings_by_row(columns_said, len(rows_said))
    for i, want in enumerate(rows_said):
        p = columns_said["probability"][i]
        assert (p is None) == (want["probability"] is None), i
        assert p is None or abs(p - want["probability"]) <= EXACT, i
        for key in ("label", "abstained", "abstain_reason"):
            assert columns_said[key][i] == want[key], (i, key)
        assert flags[i] == want["warnings"], i
        parts = [columns_said["contributions"][n][i] for n in names]
        if want["abstained"]:
            assert parts == [None] * len(names) and want["factors"] == []
            continue
        got = top_factors(parts, names)
        assert [(f["feature"], f["effect"]) for f in got] == [(f["feature"], f["effect"]) for f in want["factors"]], i
        assert [f["contribution"] for f in got] == pytest.approx([f["contribution"] for f in want["factors"]], abs=EXACT)


def assert_same_assessments(rows_said: list[dict[str, Any]], columns_said: dict[str, Any]) -> None:
    flags = warnings_by_row(columns_said, len(rows_said))
    for i, want in enumerate(rows_said):
        assert abs(columns_said["probability_of_default"][i] - want["probability_of_default"]) <= EXACT, i
        assert columns_said["decision"][i] == want["decision"], i
        got = columns_said["reasons"][i]
        assert [(r["feature"], r["reason"]) for r in got] == [(r["feature"], r["reason"]) for r in want["reasons"]], i
        assert [r["contribution"] for r in got] == pytest.approx([r["contribution"] for r in want["reasons"]], abs=EXACT)
        assert flags[i] == want["warnings"], i


# -- the same answers -----------------------------------------------------------------------


def test_diagnose_columns_answer_as_the_row_endpoint(app, client):
    model = served(app, "diagnose")
    rows = golden_rows(model) + seeded_rows(model, 2500, seed=11)
    said = column_answer(client, "diagnose", rows, model)
    assert_same_diagnoses(row_answers(client, "diagnose", rows), said, model.input_fields)
    assert 0 < sum(said["abstained"]) < len(rows) and said["warnings"]  # the rows did reach those branches
    assert set(said["contributions"]) == set(model.input_fields)


def test_risk_columns_answer_as_the_row_endpoint(app, client):
    model = served(app, "risk")
    rows = golden_rows(model) + seeded_rows(model, 2500, seed=12)
    said = column_answer(client, "risk", rows, model)
    assert_same_assessments(row_answers(client, "risk", rows), said)
    assert {"approve", "review", "decline"} <= set(said["decision"]) and said["warnings"]
    assert any(None in said["contributions"][n] for n in model.input_fields) is False


@pytest.mark.parametrize("name", ["diagnose", "risk"])
def test_contributions_add_up_to_the_probability(app, client, name):
    model = served(app, name)
    rows = seeded_rows(model, 300, seed=13)
    said = column_answer(client, name, rows, model)
    form = model.runtime.scorer.form
    p = said["probability" if name == "diagnose" else "probability_of_default"]
    for i in range(len(rows)):
        parts = [said["contributions"][n][i] for n in model.input_fields]
        if p[i] is not None:
            assert 1 / (1 + math.exp(-form.add_up(parts))) == pytest.approx(p[i], abs=1e-12)


@pytest.mark.parametrize("name", ["diagnose", "risk"])
def test_one_row_answers_as_the_single_row_endpoint(app, client, name):
    model = served(app, name)
    for row in golden_rows(model)[:4] + seeded_rows(model, 20, seed=14):
        one = client.post(f"/{name}", json=row).get_json()
        said = column_answer(client, name, [row], model)
        if name == "diagnose":
            assert_same_diagnoses([one], said, model.input_fields)
        else:
            assert_same_assessments([one], said)
        assert said["model"] == one["model"]


@pytest.mark.parametrize("name", ["diagnose", "risk"])
def test_without_a_fast_path_the_pipeline_answers_for_columns_too(app, client, name, monkeypatch):
    model = served(app, name)
    rows = golden_rows(model) + seeded_rows(model, 200, seed=15)
    fast = column_answer(client, name, rows, model)
    registry = app.extensions[EXTENSION]
    scorer = replace(model.runtime.scorer, form_serves=False)
    pathless = replace(registry.deployments[name], default=replace(model, runtime=replace(model.runtime, scorer=scorer)))
    monkeypatch.setattr(registry, "deployments", {**registry.deployments, name: pathless})
    calls = []
    predict_proba = type(model.estimator).predict_proba
    monkeypatch.setattr(type(model.estimator), "predict_proba", lambda self, X: calls.append(len(X)) or predict_proba(self, X))
    slow = column_answer(client, name, rows, model)
    batch = row_answers(client, name, rows)
    assert calls and calls[0] == len(rows)  # the pipeline did answer
    key = "probability" if name == "diagnose" else "probability_of_default"
    assert [r[key] for r in batch] == slow[key]
    assert np.allclose(np.array(slow[key], dtype=float), np.array(fast[key], dtype=float), rtol=0, atol=1e-9, equal_nan=True)
    if name == "diagnose":
        assert_same_diagnoses(batch, slow, model.input_fields)
    else:
        assert_same_assessments(batch, slow)


def test_an_optional_column_may_be_left_out_or_hold_nulls(app, client):
    model = served(app, "risk")
    rows = seeded_rows(model, 50, seed=16)
    body = as_columns(rows, model.input_fields)
    body["columns"].pop("income")
    left_out = client.post("/risk/columns", json=body).get_json()
    nulls = client.post("/risk/columns", json={"columns": {**body["columns"], "income": [None] * 50}}).get_json()
    assert left_out == nulls
    assert left_out["probability_of_default"] == pytest.approx(
        [r["probability_of_default"] for r in row_answers(client, "risk", [{**r, "income": None} for r in rows])], abs=EXACT)


# -- what a request leaves behind -----------------------------------------------------------


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_count_every_row_and_every_warning(app, client):
    model = served(app, "diagnose")
    rows = seeded_rows(model, 40, seed=17)
    labels = {"model": "diagnose", "version": model.spec.version}
    before = sample("mlservice_predictions_total", labels)
    flags_before = {n: sample("mlservice_ood_warnings_total", {"model": "diagnose", "field": n}) for n in model.input_fields}
    said = column_answer(client, "diagnose", rows, model)
    assert sample("mlservice_predictions_total", labels) - before == 40
    for n in model.input_fields:
        counted = sample("mlservice_ood_warnings_total", {"model": "diagnose", "field": n}) - flags_before[n]
        assert counted == sum(w["field"] == n for w in said["warnings"])


def test_a_shadow_sees_each_columnar_batch_once_and_never_answers(make_app, tmp_path):
    from tests.factories import PATIENT, tiny_diagnose_model, write_artifact

    root = tmp_path / "artifacts"
    served_entry = {**write_artifact(root, tiny_diagnose_model(0), version="0.1.0"), "settings": {"threshold": 0.5}}
    shadow_entry = write_artifact(root, tiny_diagnose_model(1), version="0.2.0")
    client = make_app({"diagnose": {**served_entry, "shadow": shadow_entry}}).test_client()
    mirrored = {outcome: {"model": "diagnose", "version": "0.2.0", "outcome": outcome} for outcome in ("agree", "disagree", "error")}
    before = {k: sample("mlservice_shadow_predictions_total", v) for k, v in mirrored.items()}
    body = {"columns": {k: [v, v] for k, v in PATIENT.items()}}
    for _ in range(3):
        response = client.post("/diagnose/columns", json=body)
        assert response.status_code == 200 and response.get_json()["model"]["version"] == "0.1.0"
    after = {k: sample("mlservice_shadow_predictions_total", v) for k, v in mirrored.items()}
    assert after["agree"] + after["disagree"] - before["agree"] - before["disagree"] == 3
    assert after["error"] == before["error"]
