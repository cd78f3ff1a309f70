"""One JSON line per request with its id, through nginx; never a body, query or feature value."""
from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from mlservice.observability.logs import JsonFormatter
from tests.stacks import example, running_stack, wait_until

CANARY = "q7zx"  # in values, field names, query strings and ids below; must be in no log line


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("logging"), replicas=1, workers=1) as running:
        yield running


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def app_line(stack, rid: str) -> dict[str, Any]:
    """The app's log line for request ``rid``, waiting for it to be written."""
    found: list[dict[str, Any]] = []

    def written() -> bool:
        found[:] = [e for e in json_lines(stack.replicas[0].log_path) if e.get("request_id") == rid]
        return bool(found)

    wait_until(written, timeout=5)
    assert len(found) == 1
    return found[0]


@pytest.mark.integration
def test_a_client_request_id_comes_back_and_is_in_the_apps_log_line(stack):
    rid = f"client-{uuid.uuid4().hex}"
    response = requests.get(f"{stack.url}/models/no-such-model", headers={"X-Request-ID": rid}, timeout=5)
    assert response.status_code == 404 and response.headers["X-Request-ID"] == rid
    line = app_line(stack, rid)
    assert line["logger"] == "mlservice.access" and line["level"] == "INFO"
    assert (line["method"], line["endpoint"], line["status"]) == ("GET", "/models/<string:name>", 404)
    assert 0 < line["latency_ms"] < 5000
    assert line["remote_addr"] == "127.0.0.1"  # the client, through ProxyFix, not nginx's socket
    wait_until(lambda: rid in stack.nginx.access_log.read_text(), timeout=5)  # written after the answer


@pytest.mark.integration
def test_an_unsafe_request_id_is_replaced_everywhere(stack):
    unsafe = f"{CANARY} has spaces;and=more"
    response = requests.get(f"{stack.url}/healthz", headers={"X-Request-ID": unsafe}, timeout=5)
    rid = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert app_line(stack, rid)["endpoint"] == "/healthz"


@pytest.mark.integration
def test_other_app_records_are_json_too(stack):
    names = {e["logger"] for e in json_lines(stack.replicas[0].log_path)}
    assert "mlservice.registry.extension" in names  # loads and refusals at boot


@pytest.mark.integration
def test_a_prediction_line_names_the_model_and_nothing_it_was_sent(stack):
    spec = requests.get(f"{stack.url}/openapi.json", timeout=5).json()
    patient = {**example(spec, "/diagnose"), "glucose": 173.9171, "patient_id": f"p-{CANARY}"}
    rid = f"pred-{uuid.uuid4().hex}"
    response = requests.post(f"{stack.url}/diagnose/batch?note={CANARY}", json={"rows": [patient] * 2},
                             headers={"X-Request-ID": rid}, timeout=10)
    assert response.status_code == 200
    line = app_line(stack, rid)
    assert (line["model"], line["model_version"], line["rows"]) == ("diagnose", response.json()["model"]["version"], 2)
    assert "173.9171" not in json.dumps(line)


@pytest.mark.integration
def test_no_body_query_or_feature_value_reaches_any_log(stack):
    url = f"{stack.url}/diagnose"
    requests.post(f"{url}?{CANARY}=1", json={"glucose": f"{CANARY}-value", f"{CANARY}_field": 1}, timeout=5)
    requests.post(url, data=f'{{"{CANARY}": [1, 2'.encode(), headers={"Content-Type": "application/json"}, timeout=5)
    requests.post(url, data=f"glucose={CANARY}", headers={"Content-Type": "text/plain"}, timeout=5)
    requests.get(f"{stack.url}/healthz?x={CANARY}", timeout=5)
    rid = f"last-{uuid.uuid4().hex}"
    requests.get(f"{stack.url}/healthz", headers={"X-Request-ID": rid}, timeout=5)
    app_line(stack, rid)  # everything before it has been written
    logs = [stack.replicas[0].log_path, stack.nginx.access_log, stack.nginx.error_log]
    assert [str(p) for p in logs if CANARY in p.read_text()] == []


def test_exceptions_are_logged_by_type_only():
    record = logging.LogRecord("mlservice.x", logging.ERROR, __file__, 1, "failed", None, None)
    try:
        raise ValueError(f"patient {CANARY} glucose 173")
    except ValueError:
        record.exc_info = sys.exc_info()
    record.fields = {"request_id": "r1"}
    entry = json.loads(JsonFormatter().format(record))
    assert entry["exc_type"] == "ValueError" and entry["request_id"] == "r1" and entry["message"] == "failed"
    assert CANARY not in json.dumps(entry)


def test_the_caller_is_the_keys_id_never_the_key(tmp_path, caplog):
    from mlservice import create_app

    key = f"mls_{CANARY}-secret"
    app = create_app({"TESTING": True, "MODELS_CONFIG": str(tmp_path / "none.toml"),
                      "MODELS_STATE_DIR": str(tmp_path / "state"), "AUTH_ENABLED": True,
                      "API_KEYS": [{"id": "frontend", "key": key, "scopes": ["admin"]}]})
    caplog.set_level(logging.INFO, logger="mlservice.access")
    assert app.test_client().get("/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    [record] = [r for r in caplog.records if r.name == "mlservice.access"]
    assert record.fields["caller"] == "frontend" and record.fields["endpoint"] == "/models"
    assert CANARY not in JsonFormatter().format(record)


def test_the_direct_access_line_is_the_one_logging_would_write(capsys, monkeypatch):
    from mlservice.observability import logs

    logs.configure("INFO")
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # pytest's own capture handlers leave the root
    assert isinstance(logs._sole_handler(logs.ACCESS), logs.StderrHandler)
    fields = {"request_id": "r2", "endpoint": "/risk", "status": 200, "latency_ms": 1.5, "rows": 3}
    logs.access(**fields)  # our stderr handler alone: written directly
    other = logging.StreamHandler(sys.stderr)
    other.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(other)
    try:
        logs.access(**fields)  # another handler: through logging, written by both handlers
    finally:
        logging.getLogger().removeHandler(other)
    direct, *through = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(through) == 2 and all(list(entry) == list(direct) for entry in through)
    assert all({**entry, "ts": None} == {**direct, "ts": None} for entry in through)
    assert direct["logger"] == "mlservice.access" and direct["rows"] == 3


def test_the_direct_access_line_respects_the_handlers_level(capsys, monkeypatch):
    from mlservice.observability import logs

    logs.configure("INFO")
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # our handler alone: the direct path
    [handler] = [h for h in logging.getLogger(logs.ROOT_LOGGER).handlers if isinstance(h, logs.StderrHandler)]
    handler.setLevel(logging.WARNING)
    try:
        logs.access(request_id="r3", endpoint="/risk", status=200)
    finally:
        handler.setLevel(logging.NOTSET)
    assert "r3" not in capsys.readouterr().err


@pytest.mark.parametrize(("peer", "logged"), [("127.0.0.1", "203.0.113.9"), ("10.1.2.3", "10.1.2.3")])
def test_forwarded_for_is_believed_only_from_the_proxy(peer, logged, caplog):
    from mlservice import create_app

    app = create_app({"TESTING": True, "BEHIND_PROXY": True, "USE_CASES": []})
    caplog.set_level(logging.INFO, logger="mlservice.access")
    app.test_client().get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"}, environ_base={"REMOTE_ADDR": peer})
    lines = [r for r in caplog.records if r.name == "mlservice.access"]
    assert lines[-1].fields["remote_addr"] == logged


def test_proxy_addresses_read_as_a_list_or_a_comma_separated_value():
    from mlservice.observability.proxy import addresses

    assert addresses(["10.0.0.5", "::1"]) == addresses("10.0.0.5, ::1") == {"10.0.0.5", "::1"}
