"""The Open Inference Protocol (V2): the same answers as the domain endpoints, as tensors, for real V2 clients."""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from mlservice import create_app
from mlservice.v2.served import SERVED
from tests.factories import APPLICANTS, PATIENTS, committed_entry, copy_of, write_models_config

DATATYPE = {"integer": "INT64", "number": "FP64", "category": "BYTES"}
CANARY_VALUE = 123456.789  # out of range for glucose: refused, and never to be echoed


def named(use_case: str, rows: list[dict[str, Any]], fields: tuple[str, ...]) -> dict[str, Any]:
    """One tensor per model input, as a V2 client sends a table."""
    kinds = SERVED[use_case].kinds
    return {"inputs": [{"name": f, "shape": [len(rows)], "datatype": DATATYPE[kinds[f]], "data": [r.get(f) for r in rows]}
                       for f in fields]}


def matrix(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> dict[str, Any]:
    """One [N, F] FP64 tensor in the model's input order, as MLServer's scikit-learn clients send."""
    return {"inputs": [{"name": "input-0", "shape": [len(rows), len(fields)], "datatype": "FP64",
                        "data": [[float(r[f]) for f in fields] for r in rows]}]}


def outputs(answer: dict[str, Any]) -> dict[str, Any]:
    return {o["name"]: np.array(o["data"]).reshape(o["shape"]) if o["datatype"] != "BYTES" else o["data"]
            for o in answer["outputs"]}


@pytest.fixture(scope="module")
def v2(app):
    return app.test_client()


def fields_of(app, name: str) -> tuple[str, ...]:
    return app.extensions["model_registry"].deployments[name].default.input_fields


def test_health_server_and_model_metadata(app, v2):
    assert v2.get("/v2/health/live").get_json() == {"live": True}
    assert v2.get("/v2/health/ready").get_json() == {"ready": True}
    assert v2.get("/v2").get_json()["name"] == "mlservice"
    meta = v2.get("/v2/models/risk").get_json()
    spec = app.extensions["model_registry"].deployments["risk"].default.spec
    assert [i["name"] for i in meta["inputs"]] == list(fields_of(app, "risk"))
    assert {i["name"]: i["datatype"] for i in meta["inputs"]}["home"] == "BYTES"
    assert {i["name"]: i["datatype"] for i in meta["inputs"]}["income"] == "FP64"
    assert meta["versions"] == [spec.version] and meta["parameters"]["digest"] == spec.sha256
    assert {o["name"]: o["shape"] for o in meta["outputs"]}["contributions"] == [-1, len(fields_of(app, "risk"))]
    assert v2.get(f"/v2/models/risk/versions/{spec.version}").get_json() == meta
    assert v2.get(f"/v2/models/risk/versions/{spec.version}/ready").get_json() == {"name": "risk", "ready": True}


@pytest.mark.parametrize("path", ["/v2/models/risk/versions/0.0.9/ready", "/v2/models/risk/versions/0.0.9/infer",
                                  "/v2/models/recommend/ready", "/v2/models/nothing/infer"])
def test_what_is_not_configured_is_a_404_in_the_v2_shape(v2, path):
    tensor = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]}]}
    response = v2.post(path, json=tensor) if path.endswith("infer") else v2.get(path)
    assert response.status_code == 404 and set(response.get_json()) == {"error"}


@pytest.mark.parametrize("use_case, rows, domain", [("risk", APPLICANTS, "/risk"), ("diagnose", PATIENTS, "/diagnose")])
def test_named_tensors_answer_what_the_domain_endpoint_answers(app, v2, use_case, rows, domain):
    response = v2.post(f"/v2/models/{use_case}/infer", json={**named(use_case, rows, fields_of(app, use_case)), "id": "q-1"})
    assert response.status_code == 200
    answer = response.get_json()
    got = outputs(answer)
    expected = [v2.post(domain, json=r).get_json() for r in rows]
    probability, decision = ("probability_of_default", "decision") if use_case == "risk" else ("probability", "label")
    np.testing.assert_allclose(got[probability], [e[probability] for e in expected], rtol=0, atol=1e-12)
    assert got[decision] == [e[decision] for e in expected]
    assert got["contributions"].shape == (len(rows), len(fields_of(app, use_case)))
    assert answer["id"] == "q-1" and answer["model_name"] == use_case
    assert answer["model_version"] == expected[0]["model"]["version"]
    assert answer["parameters"]["digest"] == expected[0]["model"]["digest"]


def test_one_matrix_tensor_answers_as_the_named_tensors_do(app, v2):
    fields = fields_of(app, "diagnose")
    by_name = outputs(v2.post("/v2/models/diagnose/infer", json=named("diagnose", PATIENTS, fields)).get_json())
    by_matrix = outputs(v2.post("/v2/models/diagnose/infer", json=matrix(PATIENTS, fields)).get_json())
    np.testing.assert_array_equal(by_matrix["probability"], by_name["probability"])
    np.testing.assert_array_equal(by_matrix["contributions"], by_name["contributions"])
    refused = v2.post("/v2/models/risk/infer", json=matrix([{f: 1 for f in fields_of(app, "risk")}], fields_of(app, "risk")))
    assert refused.status_code == 400 and "one tensor per input" in refused.get_json()["error"]


def test_requested_outputs_only(app, v2):
    body = {**named("diagnose", PATIENTS, fields_of(app, "diagnose")), "outputs": [{"name": "label"}]}
    assert [o["name"] for o in v2.post("/v2/models/diagnose/infer", json=body).get_json()["outputs"]] == ["label"]
    body["outputs"] = [{"name": "secret"}]
    assert v2.post("/v2/models/diagnose/infer", json=body).status_code == 400


def bad(app, change) -> dict[str, Any]:
    body = named("diagnose", PATIENTS, fields_of(app, "diagnose"))
    change(body["inputs"])
    return body


@pytest.mark.parametrize("change, says", [
    (lambda t: t[1]["data"].__setitem__(1, CANARY_VALUE), "glucose, row 1"),
    (lambda t: t[4]["data"].__setitem__(0, str(CANARY_VALUE)), "bmi, row 0"),
    (lambda t: t[1].__setitem__("datatype", "BYTES"), "glucose is a number"),
    (lambda t: t[1].__setitem__("shape", [7]), "glucose must have shape"),
    (lambda t: t.pop(), "age: Missing data"),
    (lambda t: t.append(dict(t[0])), "sent twice"),
    (lambda t: t[0].__setitem__("data", [[1, [2]]]), "flat list or a list of rows"),
])
def test_bad_input_is_a_400_naming_the_input_and_row_never_the_value(app, v2, change, says):
    response = v2.post("/v2/models/diagnose/infer", json=bad(app, change))
    assert response.status_code == 400
    assert set(response.get_json()) == {"error"} and says in response.get_json()["error"]
    assert str(CANARY_VALUE) not in response.get_data(as_text=True)


def test_the_binary_extension_is_refused_in_words(v2):
    response = v2.post("/v2/models/diagnose/infer", data=b'{"inputs":[]}\x00\x01',
                       headers={"Inference-Header-Content-Length": "13", "Content-Type": "application/octet-stream"})
    assert response.status_code == 400 and "JSON only" in response.get_json()["error"]


def test_a_version_is_reached_by_its_path_with_its_role_and_a_record(tmp_path):
    canary = copy_of("diagnose", tmp_path / "artifacts", version="9.0.0")
    config = write_models_config(tmp_path / "models.toml", {
        "diagnose": {**committed_entry("diagnose"), "canary": {**{k: v for k, v in canary.items() if k != "settings"},
                                                                          "share": 0.0}}})
    app = create_app({"TESTING": True, "MODELS_POLL_SECONDS": 0, "MODELS_CONFIG": str(config), "DECISIONS_ENABLED": True,
                      "DECISIONS_URL": f"sqlite:///{tmp_path / 'r.db'}", "DECISIONS_SPOOL_DIR": str(tmp_path / "spool")})
    client = app.test_client()
    body = named("diagnose", PATIENTS[:1], fields_of(app, "diagnose"))
    default = client.post("/v2/models/diagnose/infer", json=body, headers={"X-Request-ID": "v-default"}).get_json()
    pinned = client.post("/v2/models/diagnose/versions/9.0.0/infer", json=body, headers={"X-Request-ID": "v-canary"})
    assert default["model_version"] != "9.0.0" and pinned.get_json()["model_version"] == "9.0.0"
    assert client.get("/v2/models/diagnose/versions/9.0.0").get_json()["parameters"]["role"] == "canary"
    log = app.extensions["decisions"]
    log.writer.flush()
    assert [(r["request_id"], r["role"], r["version"]) for r in log.store.export()] == [
        ("v-default", "default", default["model_version"]), ("v-canary", "canary", "9.0.0")]


def test_scopes_apply_to_v2_as_to_the_domain_endpoints(tmp_path):
    keys = [{"id": "d", "key": "k-diagnose-only-0123456789abcdef", "scopes": ["predict:diagnose"]}]
    app = create_app({"TESTING": True, "MODELS_POLL_SECONDS": 0, "AUTH_ENABLED": True, "API_KEYS": json.dumps(keys)})
    client = app.test_client()
    bearer = {"Authorization": "Bearer k-diagnose-only-0123456789abcdef"}
    assert client.get("/v2/health/ready").status_code == 200  # probes stay open
    assert client.get("/v2/models/diagnose").status_code == 401
    assert client.post("/v2/models/diagnose/infer", json=named("diagnose", PATIENTS, fields_of(app, "diagnose")),
                       headers=bearer).status_code == 200
    assert client.post("/v2/models/risk/infer", json=named("risk", APPLICANTS, fields_of(app, "risk")),
                       headers=bearer).status_code == 403


def test_openapi_documents_the_v2_paths(v2):
    paths = v2.get("/openapi.json").get_json()["paths"]
    assert {"/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer", "/v2/health/ready"} <= set(paths)


@pytest.mark.integration
def test_tritonclient_against_gunicorn_answers_as_the_domain_endpoints(tmp_path):
    """Triton's own HTTP client (tritonclient[http]) on a real gunicorn: live, ready, metadata, infer."""
    import requests
    import tritonclient.http as triton
    from tritonclient.utils import InferenceServerException

    from deploy.processes import Replica

    replica = Replica(0, tmp_path, workers=2, env={"MLSERVICE_MODELS_STATE_DIR": str(tmp_path / "state")})
    try:
        replica.start()
        replica.wait_healthy()
        client = triton.InferenceServerClient(url=replica.address)
        assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("diagnose")
        meta = client.get_model_metadata("risk")
        fields = [i["name"] for i in meta["inputs"]]
        kinds = {i["name"]: i["datatype"] for i in meta["inputs"]}

        inputs = []
        for field in fields:
            if kinds[field] == "BYTES":  # a missing category as "", a missing number as NaN: what NumPy can hold
                array = np.array([a.get(field, "") for a in APPLICANTS], dtype=object)
            else:
                array = np.array([a.get(field, np.nan) for a in APPLICANTS], dtype=np.float64 if kinds[field] == "FP64" else np.int64)
            tensor = triton.InferInput(field, [len(array)], kinds[field])
            tensor.set_data_from_numpy(array, binary_data=False)
            inputs.append(tensor)
        wanted = [triton.InferRequestedOutput(name, binary_data=False) for name in ("probability_of_default", "decision")]
        risk = client.infer("risk", inputs, outputs=wanted)
        domain = [requests.post(f"{replica.url}/risk", json=a, timeout=10).json() for a in APPLICANTS]
        np.testing.assert_allclose(risk.as_numpy("probability_of_default"), [d["probability_of_default"] for d in domain],
                                   rtol=0, atol=1e-12)
        assert [d.decode() if isinstance(d, bytes) else d for d in risk.as_numpy("decision")] == [d["decision"] for d in domain]

        order = client.get_model_metadata("diagnose")["parameters"]["input_order"]
        rows = np.array([[p[f] for f in order] for p in PATIENTS], dtype=np.float64)
        tensor = triton.InferInput("input-0", list(rows.shape), "FP64")
        tensor.set_data_from_numpy(rows, binary_data=False)
        diagnose = client.infer("diagnose", [tensor], outputs=[triton.InferRequestedOutput("probability", binary_data=False)])
        expected = [requests.post(f"{replica.url}/diagnose", json=p, timeout=10).json()["probability"] for p in PATIENTS]
        np.testing.assert_allclose(diagnose.as_numpy("probability"), expected, rtol=0, atol=1e-12)

        tensor.set_data_from_numpy(rows, binary_data=True)  # Triton's binary extension: refused, and said so
        with pytest.raises(InferenceServerException, match="JSON only"):
            client.infer("diagnose", [tensor])
    finally:
        replica.stop()


def test_nan_means_missing_as_numpy_clients_send_it_and_infinity_or_deep_nesting_is_a_400(app, v2):
    applicant = APPLICANTS[0]
    body = json.dumps(named("risk", [applicant], fields_of(app, "risk"))).replace(f'[{json.dumps(applicant["income"])}]', "[NaN]")
    assert "NaN" in body
    answer = outputs(v2.post("/v2/models/risk/infer", data=body).get_json())
    without_income = v2.post("/risk", json={k: v for k, v in applicant.items() if k != "income"}).get_json()
    assert answer["probability_of_default"][0] == pytest.approx(without_income["probability_of_default"], abs=1e-12)
    for hostile in (body.replace("[NaN]", "[Infinity]"), '{"inputs": ' + "[" * 100_000 + "]" * 100_000 + "}"):
        response = v2.post("/v2/models/risk/infer", data=hostile)
        assert response.status_code == 400 and "not valid JSON" in response.get_json()["error"]


def test_mlservers_request_for_predict_proba_is_answered_as_mlserver_answers_it(app, v2):
    """MLServer's scikit-learn runtime answers ``predict_proba`` as [P(0), P(1)] per row: its clients work unchanged."""
    body = {**matrix(PATIENTS, fields_of(app, "diagnose")), "outputs": [{"name": "predict_proba"}]}
    [proba] = v2.post("/v2/models/diagnose/infer", json=body).get_json()["outputs"]
    assert proba["shape"] == [len(PATIENTS), 2]
    expected = [v2.post("/diagnose", json=p).get_json()["probability"] for p in PATIENTS]
    np.testing.assert_allclose(np.array(proba["data"]).reshape(-1, 2)[:, 1], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.array(proba["data"]).reshape(-1, 2).sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_mlservers_own_types_and_codecs_build_the_request_and_read_the_answer(app, v2):
    """MLServer's client-side types (``mlserver.types``, ``mlserver.codecs``), as its users build requests."""
    from mlserver.codecs import NumpyCodec, StringCodec
    from mlserver.types import InferenceRequest, InferenceResponse, RequestOutput

    kinds = SERVED["risk"].kinds
    inputs = []
    for field in fields_of(app, "risk"):
        if kinds[field] == "category":
            inputs.append(StringCodec.encode_input(field, [a.get(field, "") for a in APPLICANTS]))
        else:
            values = np.array([a.get(field, np.nan) for a in APPLICANTS],
                              dtype=np.int64 if kinds[field] == "integer" else np.float64)
            inputs.append(NumpyCodec.encode_input(field, values))
    request = InferenceRequest(id="mlserver-1", inputs=inputs, outputs=[RequestOutput(name="probability_of_default"),
                                                                         RequestOutput(name="decision")])
    body = request.model_dump_json(exclude_none=True)  # a missing number: pydantic writes NumPy's NaN as null
    assert '"data":[null' in body or ',null' in body
    response = InferenceResponse.model_validate_json(v2.post("/v2/models/risk/infer", data=body,
                                                             content_type="application/json").get_data())
    [probability, decision] = response.outputs
    expected = [v2.post("/risk", json=a).get_json() for a in APPLICANTS]
    np.testing.assert_allclose(NumpyCodec.decode_output(probability), [e["probability_of_default"] for e in expected],
                               rtol=0, atol=1e-12)
    assert StringCodec.decode_output(decision) == [e["decision"] for e in expected]
    assert response.id == "mlserver-1" and response.model_version == expected[0]["model"]["version"]
