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
