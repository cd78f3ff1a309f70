"""The OpenAPI document describes every operation, with examples and the error shape."""
from __future__ import annotations

import pytest

OPERATIONS = {
    ("/risk", "post"), ("/risk/batch", "post"), ("/risk/columns", "post"), ("/diagnose", "post"),
    ("/diagnose/batch", "post"), ("/diagnose/columns", "post"),
    ("/recommend", "post"), ("/models", "get"), ("/models/{name}", "get"), ("/healthz", "get"), ("/readyz", "get"),
    ("/decisions/{request_id}", "get"), ("/{use_case}/outcomes", "post"),
    ("/v2", "get"), ("/v2/health/live", "get"), ("/v2/health/ready", "get"),
    *((f"/v2/models/{{name}}{version}{leaf}", "post" if leaf == "/infer" else "get")
      for version in ("", "/versions/{version}") for leaf in ("", "/ready", "/infer")),
}


@pytest.fixture()
def spec(make_app, tiny_entry):
    return make_app({"diagnose": tiny_entry}).test_client().get("/openapi.json").get_json()


def test_every_operation_is_documented(spec):
    found = {(path, method) for path, item in spec["paths"].items() for method in item if method != "parameters"}
    assert found == OPERATIONS
    assert all(op.get("summary") for item in spec["paths"].values() for m, op in item.items() if m != "parameters")


def test_every_request_body_has_a_valid_example(spec, make_app, tiny_entry):
    client = make_app({"diagnose": tiny_entry}).test_client()
    for path, item in spec["paths"].items():
        if "post" not in item:
            continue
        example = item["post"]["requestBody"]["content"]["application/json"]["example"]
        path = path.replace("{name}", "diagnose").replace("{version}", tiny_entry["version"])  # V2's paths
        path = path.replace("{use_case}", "diagnose")
        response = client.post(path, json=example)
        assert response.status_code in (200, 503), (path, response.get_json())


def test_prediction_errors_are_documented_in_the_error_shape(spec):
    for path in ("/risk", "/diagnose/batch", "/recommend"):
        responses = spec["paths"][path]["post"]["responses"]
        assert {"400", "413", "415", "422", "503"} <= responses.keys()
        assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_bounds_are_in_the_spec(spec):
    patient = spec["components"]["schemas"]["Patient"]
    assert patient["additionalProperties"] is False
    assert patient["properties"]["glucose"]["minimum"] == 20
    assert patient["properties"]["glucose"]["maximum"] == 600
    assert spec["components"]["schemas"]["PatientBatch"]["properties"]["rows"]["maxItems"] == 1000


def test_swagger_ui_is_served(make_app, tiny_entry):
    response = make_app({"diagnose": tiny_entry}).test_client().get("/docs")
    assert response.status_code == 200
    assert b"swagger-ui" in response.data and b"openapi.json" in response.data


def test_docs_with_a_trailing_slash_redirects_to_the_page(make_app, tiny_entry):
    client = make_app({"diagnose": tiny_entry}).test_client()
    response = client.get("/docs/")
    assert response.status_code == 308 and response.headers["Location"] == "/docs"
    assert b"swagger-ui" in client.get("/docs/", follow_redirects=True).data


def test_docs_disabled_answers_404_for_both_spellings(make_app, tiny_entry):
    client = make_app({"diagnose": tiny_entry}, DOCS_ENABLED=False).test_client()
    assert [client.get(path).status_code for path in ("/docs", "/docs/", "/openapi.json")] == [404, 404, 404]
