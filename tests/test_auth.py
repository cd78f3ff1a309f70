"""API keys: 401 without a valid key, 403 without the scope, 200 with it; nothing stored in clear."""
from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from deploy.processes import ROOT
from mlservice.auth.keys import KeyStore, digest
from mlservice.cli import main
from tests.factories import PATIENT

PREDICT_KEY = "mls_predict-test-key-0123456789abcdefghijklmnop"
ADMIN_KEY = "mls_admin-test-key-0123456789abcdefghijklmnopqr"


@pytest.fixture()
def client(make_app, tiny_entry, tmp_path, monkeypatch) -> Any:
    keys = tmp_path / "keys.toml"
    keys.write_text(f'[[keys]]\nid = "frontend"\nsha256 = "{digest(PREDICT_KEY)}"\nscopes = ["predict"]\n')
    monkeypatch.setenv("MLSERVICE_AUTH_ENABLED", "true")
    monkeypatch.setenv("MLSERVICE_API_KEYS_FILE", str(keys))
    monkeypatch.setenv("MLSERVICE_API_KEYS", json.dumps([{"id": "ops", "key": ADMIN_KEY, "scopes": ["admin"]}]))
    return make_app({"diagnose": tiny_entry}).test_client()


OPERATIONS = [
    ("post", "/diagnose", PATIENT, "predict"),
    ("post", "/diagnose/batch", {"rows": [PATIENT]}, "predict"),
    ("post", "/risk", {}, "predict"),
    ("post", "/risk/batch", {"rows": []}, "predict"),
    ("post", "/recommend", {"user_id": 1}, "predict"),
    ("get", "/models", None, "admin"),
    ("get", "/models/diagnose", None, "admin"),
    ("get", "/metrics", None, "admin"),
]
KEYS = {"predict": PREDICT_KEY, "admin": ADMIN_KEY}


def test_every_use_case_route_needs_the_predict_scope(client):
    """Walks the app's own routes, so a new use case or endpoint cannot be left open."""
    from mlservice.app import USE_CASES

    blueprints = {u.blueprint.name for u in USE_CASES}
    routes = [r.rule for r in client.application.url_map.iter_rules() if r.endpoint.split(".")[0] in blueprints]
    assert len(routes) >= 6  # /risk, /diagnose, their /batch and /columns, /recommend
    for rule in routes:
        assert client.post(rule, json={}).status_code == 401, rule
        assert client.post(rule, json={}, headers={"X-API-Key": ADMIN_KEY}).status_code == 403, rule


def call(client: Any, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return getattr(client, method)(path, json=body, headers=headers) if body is not None else getattr(client, method)(path, headers=headers)


@pytest.mark.parametrize(("method", "path", "body", "scope"), OPERATIONS)
def test_every_guarded_operation(client, method, path, body, scope):
    for headers in ({}, {"Authorization": "Bearer mls_wrong"}, {"X-API-Key": PREDICT_KEY[:-1]}):
        response = call(client, method, path, body, headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json["code"] == 401 and "mls_" not in response.get_data(as_text=True)
    other = KEYS["admin" if scope == "predict" else "predict"]
    assert call(client, method, path, body, {"Authorization": f"Bearer {other}"}).status_code == 403
    allowed = call(client, method, path, body, {"X-API-Key": KEYS[scope]})
    assert allowed.status_code not in (401, 403)
    if path in ("/diagnose", "/models/diagnose", "/metrics"):
        assert allowed.status_code == 200


def test_health_checks_stay_open(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)


def test_constant_time_lookup_finds_the_right_key():
    store = KeyStore.load(None, json.dumps([{"id": "a", "key": "k1", "scopes": ["predict"]},
                                            {"id": "b", "key": "k2", "scopes": ["admin"]}]))
    assert store.find("k2").id == "b" and store.find("k1").id == "a" and store.find("k3") is None


def test_malformed_keys_file_stops_start_up(make_app, tiny_entry, tmp_path, monkeypatch):
    from mlservice.auth.keys import KeyConfigError

    keys = tmp_path / "keys.toml"
    keys.write_text('[[keys]]\nid = "x"\nsha256 = "abc"\nscopes = ["everything"]\n')
    monkeypatch.setenv("MLSERVICE_AUTH_ENABLED", "true")
    monkeypatch.setenv("MLSERVICE_API_KEYS_FILE", str(keys))
    with pytest.raises(KeyConfigError, match="needs scopes"):
        make_app({"diagnose": tiny_entry})


def test_keys_new_prints_the_key_once_and_stores_only_its_digest(tmp_path):
    result = CliRunner().invoke(main, ["keys", "new", "--id", "frontend", "--scope", "predict"])
    assert result.exit_code == 0
    key = result.output.split(": ", 1)[1].split()[0]
    entry = result.output.split("\n\n", 1)[1]
    assert key not in entry and digest(key) in entry
    keys = tmp_path / "keys.toml"
    keys.write_text(entry)
    assert KeyStore.load(str(keys), None).find(key).scopes == {"predict"}


def test_committed_keys_files_hold_no_plaintext_key():
    for path in ROOT.glob("configs/*.toml"):
        assert "mls_" not in path.read_text().replace("mls_…", "")


def test_production_config_turns_auth_on_and_docs_off(monkeypatch, tmp_path):
    from mlservice import create_app

    monkeypatch.setenv("MLSERVICE_CONFIG", str(ROOT / "configs" / "production.toml"))
    app = create_app({"TESTING": True, "MODELS_STATE_DIR": str(tmp_path)})
    client = app.test_client()
    assert client.post("/diagnose", json=PATIENT).status_code == 401
    assert client.get("/openapi.json").status_code == 404
    assert client.get("/healthz").status_code == 200


# -- Least privilege: one scope per use case ----------------------------------------------

def keys_file(path, entries: dict[str, list[str]]) -> None:
    path.write_text("".join(f'[[keys]]\nid = "{who}"\nsha256 = "{digest(f"mls_{who}-0123456789abcdef")}"\n'
                            f"scopes = {json.dumps(scopes)}\n" for who, scopes in entries.items()))


def key_of(who: str) -> dict[str, str]:
    return {"X-API-Key": f"mls_{who}-0123456789abcdef"}


@pytest.fixture()
def scoped(make_app, tmp_path, monkeypatch):
    from tests.factories import committed_entry

    path = tmp_path / "scoped-keys.toml"
    keys_file(path, {"movies": ["predict:recommend"], "clinic": ["predict:diagnose"], "all": ["predict"]})
    monkeypatch.setenv("MLSERVICE_AUTH_ENABLED", "true")
    monkeypatch.setenv("MLSERVICE_API_KEYS_FILE", str(path))
    app = make_app({n: committed_entry(n) for n in ("risk", "diagnose", "recommend")}, API_KEYS_POLL_SECONDS=0.01)
    app.keys_path = path
    return app


def auth_failures(reason: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("mlservice_auth_failures_total", {"reason": reason}) or 0.0


def test_a_use_case_key_calls_only_its_use_case(scoped):
    client = scoped.test_client()
    before = auth_failures("scope")
    assert client.post("/recommend", json={"user_id": 15, "k": 1}, headers=key_of("movies")).status_code == 200
    refused = client.post("/diagnose", json=PATIENT, headers=key_of("movies"))
    assert refused.status_code == 403 and "predict:diagnose" in refused.json["message"]
    assert client.post("/diagnose/batch", json={"rows": [PATIENT]}, headers=key_of("movies")).status_code == 403
    assert client.post("/diagnose", json=PATIENT, headers=key_of("clinic")).status_code == 200
    assert client.post("/risk", json={}, headers=key_of("clinic")).status_code == 403
    for path, body in (("/diagnose", PATIENT), ("/recommend", {"user_id": 15, "k": 1})):
        assert client.post(path, json=body, headers=key_of("all")).status_code == 200  # predict: every use case
    assert auth_failures("scope") - before == 3


def test_auth_failures_are_counted_by_reason_never_by_key(scoped):
    client = scoped.test_client()
    before = {r: auth_failures(r) for r in ("missing", "unknown")}
    client.post("/diagnose", json=PATIENT)
    client.post("/diagnose", json=PATIENT, headers={"X-API-Key": "mls_stolen-guess"})
    assert auth_failures("missing") - before["missing"] == 1 and auth_failures("unknown") - before["unknown"] == 1
    from prometheus_client import REGISTRY, generate_latest

    assert "mls_" not in generate_latest(REGISTRY).decode()


def test_a_revoked_key_is_refused_within_the_poll_interval(scoped):
    import time

    client = scoped.test_client()
    assert client.post("/diagnose", json=PATIENT, headers=key_of("clinic")).status_code == 200
    keys_file(scoped.keys_path, {"movies": ["predict:recommend"], "all": ["predict"]})  # clinic revoked
    time.sleep(0.02)
    assert client.post("/diagnose", json=PATIENT, headers=key_of("clinic")).status_code == 401
    assert client.post("/diagnose", json=PATIENT, headers=key_of("all")).status_code == 200
    assert client.get("/readyz").json["api_keys"] == {"loaded": 2, "rejected": None}


def test_a_broken_keys_file_keeps_the_last_good_keys_and_says_why(scoped):
    import time

    client = scoped.test_client()
    scoped.keys_path.write_text('[[keys]]\nid = "x"\nsha256 = "abc"\nscopes = ["everything"]\n')
    time.sleep(0.02)
    assert client.post("/diagnose", json=PATIENT, headers=key_of("clinic")).status_code == 200
    assert client.post("/diagnose", json=PATIENT).status_code == 401  # never opened
    status = client.get("/readyz").json["api_keys"]
    assert status["loaded"] == 3 and "needs scopes" in status["rejected"] and "mls_" not in status["rejected"]


def test_openapi_names_the_scope_of_each_operation(scoped, monkeypatch):
    spec = scoped.test_client().get("/openapi.json").json
    assert set(spec["components"]["securitySchemes"]) == {"bearerAuth", "apiKeyHeader"}
    assert spec["paths"]["/risk/batch"]["post"]["x-required-scope"] == "predict:risk"
    assert spec["paths"]["/recommend"]["post"]["security"] == [{"bearerAuth": []}, {"apiKeyHeader": []}]
    assert spec["paths"]["/models"]["get"]["x-required-scope"] == "admin"
    assert "security" not in spec["paths"]["/healthz"]["get"]


def test_keys_new_offers_use_case_scopes_and_a_rate(tmp_path):
    result = CliRunner().invoke(main, ["keys", "new", "--id", "movies", "--scope", "predict:recommend", "--rate", "5"])
    assert result.exit_code == 0, result.output
    entry = result.output.split("\n\n", 1)[1]
    assert 'scopes = ["predict:recommend"]' in entry and "rate_per_second = 5" in entry
    keys = tmp_path / "keys.toml"
    keys.write_text(entry)
    from mlservice.auth.keys import scopes_for

    loaded = KeyStore.load(str(keys), None, scopes_for(["risk", "diagnose", "recommend"])).keys[0]
    assert loaded.scopes == {"predict:recommend"} and loaded.rate_per_second == 5
