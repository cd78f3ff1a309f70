"""Every error status, in the one shape, never echoing what the client sent."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import PATIENT

SHAPE = {"code", "status", "message"}


@pytest.fixture()
def client(make_app, tiny_entry) -> Any:
    return make_app({"diagnose": tiny_entry}).test_client()


def assert_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert SHAPE <= body.keys() <= SHAPE | {"errors"}
    assert body["code"] == status and body["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"glucose": 1', "application/json", 400),
        (b"", "application/json", 400),
        (b"\xff\xfe\xfa", "application/json", 400),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400),
        (b'{"age": ' + b"9" * 5000 + b"}", "application/json", 400),
        (b'{"glucose": NaN}', "application/json", 400),
        (json.dumps(PATIENT).encode(), "text/plain", 415),
        (json.dumps(PATIENT).encode(), "application/x-www-form-urlencoded", 415),
    ],
)
def test_unparseable_bodies(client, body, content_type, status):
    response = client.post("/diagnose", data=body, content_type=content_type)
    assert_error(response, status)


def test_too_large_is_413(make_app, tiny_entry):
    app = make_app({"diagnose": tiny_entry})
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = app.test_client().post("/diagnose/batch", json={"rows": [PATIENT] * 50})
    assert_error(response, 413)


def test_unknown_path_is_404(client):
    assert_error(client.get("/no/such/thing"), 404)


def test_unknown_model_is_404_without_echoing_the_name(client):
    body = assert_error(client.get("/models/CANARY_model_name"), 404)
    assert "CANARY" not in json.dumps(body)


@pytest.mark.parametrize(("method", "path", "allowed"), [("get", "/diagnose", "POST"), ("delete", "/models", "GET"), ("put", "/risk/batch", "POST")])
def test_wrong_method_is_405_with_allow(client, method, path, allowed):
    response = getattr(client, method)(path)
    assert_error(response, 405)
    assert allowed in response.headers["Allow"]
    methods = response.headers["Allow"].split(", ")
    assert methods == sorted(methods)  # the same on every replica (werkzeug's order differs per process)


CANARY = "CANARY-8c41"
INVALID = [
    {**PATIENT, "glucose": CANARY},
    {**PATIENT, "glucose": 987654.321},
    {**PATIENT, "pregnancies": 30.7},
    {**PATIENT, "pregnancies": "3"},
    {**PATIENT, "age": True},
    {**PATIENT, "bmi": None},
    {k: v for k, v in PATIENT.items() if k != "bmi"},
    {**PATIENT, "surname_CANARY": "x"},
    {**PATIENT, f"name: {CANARY}": 1},
    [PATIENT],
    "CANARY-8c41",
]


@pytest.mark.parametrize("body", INVALID)
def test_validation_is_422_field_level_and_never_echoes(client, body):
    response = client.post("/diagnose", json=body)
    payload = assert_error(response, 422)
    assert payload["errors"]["json"]
    text = response.get_data(as_text=True)
    for value in (CANARY, "987654", "30.7"):
        assert value not in text


def test_batch_errors_name_the_row_and_field(client):
    rows = [PATIENT, PATIENT, {**PATIENT, "blood_pressure": "high"}]
    payload = assert_error(client.post("/diagnose/batch", json={"rows": rows}), 422)
    assert payload["errors"]["json"]["rows"] == {"2": {"blood_pressure": ["Not a valid number."]}}


def test_batch_size_is_bounded(client):
    assert_error(client.post("/diagnose/batch", json={"rows": [PATIENT] * 1001}), 422)
    assert_error(client.post("/diagnose/batch", json={"rows": []}), 422)


def test_model_not_loaded_is_503(client):
    body = assert_error(client.post("/risk", json={"seniority": 1}), 422)
    assert "seniority" not in body["errors"]["json"]
    applicant = {"seniority": 9, "time": 60, "age": 30, "records": "no", "expenses": 73, "amount": 800, "price": 846}
    assert_error(client.post("/risk", json=applicant), 503)


def test_a_bug_is_a_generic_500(make_app, tiny_entry, monkeypatch, caplog):
    from mlservice.classifier_service import ClassifierService

    def broken(*args: Any) -> None:
        raise RuntimeError(f"secret internals {CANARY}")

    monkeypatch.setattr(ClassifierService, "rows", broken)
    response = make_app({"diagnose": tiny_entry}).test_client().post("/diagnose", json=PATIENT)
    body = assert_error(response, 500)
    assert body["message"] == "Internal server error."
    assert CANARY not in response.get_data(as_text=True)
    assert CANARY not in caplog.text and "RuntimeError" in caplog.text


@pytest.mark.parametrize(("method", "path"), [("get", "/healthz"), ("post", "/diagnose"), ("get", "/nowhere"), ("get", "/docs")])
def test_headers_on_every_answer(client, method, path):
    response = getattr(client, method)(path, json=PATIENT) if method == "post" else getattr(client, method)(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Server" not in response.headers or "/" not in response.headers["Server"]
    if method == "post":
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("body", [
    b'{"glucose": 148, "glucose": 90}',
    b'{"rows": [{"age": 1}, {"age": 2, "age": 3}]}',
    b'{"a": {"b": 1, "b": 2}}',
    b'{"note": "a:b", "x": 1, "x": 2}',  # a colon in a string sends it to the exact check
])
def test_a_repeated_key_is_refused(client, body):
    response = client.post("/diagnose", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "repeats a key" in response.json["message"]
    assert b"148" not in response.data and b"glucose" not in response.data


@pytest.mark.parametrize("body", [
    b'{"pregnancies": 6, "glucose": 148, "blood_pressure": 72, "skin_thickness": 35, "bmi": 33.6, "pedigree": 0.627, '
    b'"age": 50}',
    b'{"patient_id": "p:1", "pregnancies": 6, "glucose": 148, "blood_pressure": 72, "skin_thickness": 35, "bmi": 33.6, '
    b'"pedigree": 0.627, "age": 50}',
])
def test_distinct_keys_pass_the_repeat_check(client, body):
    response = client.post("/diagnose", data=body, content_type="application/json")
    assert response.status_code == 200 and 0 <= response.json["probability"] <= 1


def test_colons_inside_strings_do_not_count_as_repeats():
    from mlservice.parsing import has_duplicate_keys

    body = b'{"applicant_id": "a:1:2", "rows": [{"k": "x:y"}, [1, {"a": 1}]]}'
    import orjson

    assert has_duplicate_keys(body, orjson.loads(body)) is False
    deep = b'{"a":' * 1000 + b"1" + b"}" * 1000
    assert has_duplicate_keys(deep, orjson.loads(deep)) is False
