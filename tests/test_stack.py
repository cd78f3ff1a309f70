"""nginx in front of two gunicorn replicas, for real on 127.0.0.1: parity, limits, failures."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from deploy.processes import ROOT, children, free_port, stop_process, wait_for
from deploy.render import app_setting
from tests.figures import record
from tests.load import Load
from tests.stacks import assert_nginx_error, example, running_stack, wait_until

pytestmark = pytest.mark.integration
LIMIT = app_setting("MAX_CONTENT_LENGTH")
#: Per-process facts (when each worker loaded its model) that legitimately differ between answers.
VOLATILE = {"loaded_at", "at"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("stack"), replicas=2, workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def spec(stack) -> dict[str, Any]:
    return requests.get(f"{stack.replicas[0].url}/openapi.json", timeout=5).json()


def samples(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """One request per documented operation, plus error cases and the undocumented routes."""
    found = []
    for path, item in spec["paths"].items():
        for method in item.keys() - {"parameters"}:
            kwargs = {"json": example(spec, path)} if method == "post" else {}
            found.append((method.upper(), path.replace("{name}", "risk"), kwargs))
    return found + [
        ("GET", "/models/no-such-model", {}),
        ("GET", "/no/such/path", {}),
        ("PUT", "/risk", {"json": {}}),
        ("POST", "/diagnose", {"data": b'{"glucose": 1', "headers": {"Content-Type": "application/json"}}),
        ("POST", "/diagnose", {"data": b"{}", "headers": {"Content-Type": "text/plain"}}),
        ("POST", "/diagnose", {"json": {"glucose": "high", "unknown": 1}}),
        ("GET", "/openapi.json", {}),
        ("GET", "/docs", {}),
        ("GET", "/docs/assets/swagger-ui-bundle.js", {}),
    ]


def comparable(response: requests.Response) -> Any:
    if response.headers.get("Content-Type", "").startswith("application/json"):
        return _strip(response.json())
    return response.content


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    return [_strip(v) for v in value] if isinstance(value, list) else value


def test_every_endpoint_answers_through_nginx_as_directly(stack, spec):
    requests_sent = samples(spec)
    assert len(requests_sent) >= 9 + 9
    statuses = set()
    for method, path, kwargs in requests_sent:
        direct = requests.request(method, stack.replicas[0].url + path, timeout=10, **kwargs)
        proxied = requests.request(method, stack.url + path, timeout=10, **kwargs)
        assert (proxied.status_code, comparable(proxied)) == (direct.status_code, comparable(direct)), (method, path)
        assert proxied.headers["Content-Type"] == direct.headers["Content-Type"]
        assert proxied.headers.get("Allow") == direct.headers.get("Allow")
        statuses.add(direct.status_code)
    assert {400, 404, 405, 415, 422} <= statuses


def test_metrics_answer_through_nginx_from_loopback(stack):
    direct = requests.get(f"{stack.replicas[0].url}/metrics", timeout=5)
    proxied = requests.get(f"{stack.url}/metrics", timeout=5)
    assert proxied.status_code == direct.status_code == 200
    assert proxied.headers["Content-Type"] == direct.headers["Content-Type"]
    assert "mlservice_http_requests_total{" in proxied.text


def test_a_body_over_the_limit_is_refused_by_nginx_in_the_error_shape(stack):
    rid = "too-large-1"
    body = b"{" + b" " * (LIMIT - 2) + b"}"
    assert len(body) == LIMIT
    response = requests.post(f"{stack.url}/diagnose/batch", data=body + b" ",
                             headers={"Content-Type": "application/json", "X-Request-ID": rid}, timeout=10)
    assert assert_nginx_error(response, 413)["status"] == "Request Entity Too Large"
    assert response.headers["X-Request-ID"] == rid
    assert all(rid not in r.log_path.read_text() for r in stack.replicas), "the app saw it"
    at_limit = requests.post(f"{stack.url}/diagnose/batch", data=body,
                             headers={"Content-Type": "application/json"}, timeout=10)
    assert at_limit.status_code == 422, "a body of exactly MAX_CONTENT_LENGTH must reach the app"


def diagnose(stack, spec):
    body = example(spec, "/diagnose")
    return lambda session: session.post(f"{stack.url}/diagnose", json=body, timeout=20)


def test_a_killed_worker_costs_at_most_the_requests_in_flight_and_comes_back(stack, spec):
    replica = stack.replicas[0]
    before = replica.worker_pids()
    assert len(before) == 2
    with Load(diagnose(stack, spec), threads=4, seconds=5) as load:
        time.sleep(1.5)
        os.kill(before[0], signal.SIGKILL)
        killed_at = time.monotonic()
        respawn = wait_until(lambda: len(set(replica.worker_pids()) - set(before)) == 1
                             and len(replica.worker_pids()) == 2, timeout=15)
    record("stack: worker SIGKILL under load", f"{load.failed()} failed of {load.total}, respawned in {respawn:.2f} s")
    assert load.total > 100 and load.failed() <= 4
    wait_until(lambda: requests.get(f"{replica.url}/healthz", timeout=5).ok, timeout=15)
    assert time.monotonic() - killed_at < 15


def test_one_replica_killed_under_load_fails_no_request(stack, spec):
    replica = stack.replicas[0]
    with Load(diagnose(stack, spec), threads=4, seconds=5) as load:
        time.sleep(1.5)
        replica.kill()
    record("stack: replica killed under load", f"{load.failed()} failed of {load.total}")
    assert load.total > 100 and load.failed() == 0
    replica.start()
    replica.wait_healthy()


def send_in_halves(address: str, path: str, body: bytes) -> tuple[socket.socket, bytes]:
    """Open a request and send its headers and half its body; return the socket and the rest."""
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=20)
    head = (f"POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    half = len(body) // 2
    sock.sendall(head + body[:half])
    return sock, body[half:]


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    raw = b"".join(chunks)
    return int(raw.split(b" ", 2)[1]), raw.split(b"\r\n\r\n", 1)[1]


def test_sigterm_lets_a_request_in_flight_finish(stack, spec):
    replica = stack.replicas[1]
    rows = {"rows": [example(spec, "/diagnose")] * 500}
    sock, rest = send_in_halves(replica.address, "/diagnose/batch", json.dumps(rows).encode())
    time.sleep(0.3)  # a worker has accepted it and is reading the body
    replica.terminate()
    time.sleep(0.5)  # the master has told every worker to stop
    assert replica.proc.poll() is None, "the replica left before its request was done"
    sock.sendall(rest)
    status, body = read_response(sock)
    sock.close()
    assert status == 200 and len(json.loads(body)["results"]) == 500
    assert replica.proc.wait(10) == 0
    replica.start()
    replica.wait_healthy()


def _gunicorn_masters(parent: int) -> dict[int, str]:
    """The runner's gunicorn children, each with the address it binds."""
    masters = {}
    for pid in children(parent):
        with contextlib.suppress(OSError):
            if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
                env = dict(v.split(b"=", 1) for v in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if b"=" in v)
                masters[pid] = env[b"MLSERVICE_BIND"].decode()
    return masters


@pytest.mark.integration
def test_make_stack_restarts_a_replica_that_exits_and_says_so(tmp_path):
    """``deploy/stack.py`` as ``make stack`` runs it: one replica killed, restarted on its address."""
    port, log = free_port(), tmp_path / "stderr.log"
    command = [sys.executable, str(ROOT / "deploy" / "stack.py"), "--port", str(port), "--run-dir", str(tmp_path / "run"),
               "--workers", "1"]
    with open(log, "wb") as stderr:
        runner = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", 120)
        masters = _gunicorn_masters(runner.pid)
        assert len(masters) == 2
        killed, address = next(iter(masters.items()))
        os.killpg(killed, signal.SIGKILL)
        wait_until(lambda: "restarted it" in log.read_text(), 30)
        wait_for(f"http://{address}/healthz", 90)
        assert sorted(_gunicorn_masters(runner.pid).values()) == sorted(masters.values())
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        stop_process(runner, signal.SIGTERM, 60)
    assert runner.returncode == 0
    assert f"({address}) exited with status -9; restarted it" in log.read_text()
