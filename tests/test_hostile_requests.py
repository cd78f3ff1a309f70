"""Malformed and hostile requests, sent raw to nginx and straight to a replica: every answer is the
one JSON error shape with a request id, no client holds a worker, and no log keeps what was sent."""
from __future__ import annotations

import json
import socket
import time
import uuid
from typing import Any

import pytest

from tests.stacks import running_stack, wait_until

pytestmark = pytest.mark.integration

CANARY = "zq8canary"
DIAGNOSE = json.dumps({"pregnancies": 6, "glucose": 148, "blood_pressure": 72, "skin_thickness": 35, "bmi": 33.6,
                       "pedigree": 0.627, "age": 50}).encode()
CLIENT_TIMEOUT = 2  # seconds a replica waits for a silent client (MLSERVICE_CLIENT_TIMEOUT)


def request(method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"",
            version: str = "HTTP/1.1") -> bytes:
    lines = [f"{method} {target} {version}", "Host: localhost", "Connection: close",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def post(target: str, body: bytes, **headers: str) -> bytes:
    return request("POST", target, {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers},
                   body)


def chunked(target: str, chunks: bytes) -> bytes:
    return request("POST", target, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}, chunks)


#: name -> (raw request, expected status through nginx, expected status straight to a replica)
MALFORMED = {
    "dot-dot path": (request("GET", "/../../etc/passwd"), 400, 404),
    "NUL in path": (request("GET", "/%00"), 400, 404),
    "OPTIONS *": (request("OPTIONS", "*"), 400, 404),
    "lowercase method": (request("get", "/healthz"), 400, 400),
    "5 KB path": (request("GET", "/" + "a" * 5000), 414, 414),
    "70 KB path": (request("GET", "/" + "a" * 70000), 414, 414),
    "20 KB header": (request("GET", "/healthz", {"X-Big": "a" * 20000}), 431, 431),
    "duplicated Content-Type": (request("POST", "/diagnose", {"Content-Type": "application/json",
                                                               "content-type": "application/json",
                                                               "Content-Length": str(len(DIAGNOSE))}, DIAGNOSE),
                                400, 400),
    "gzip, chunked": (request("POST", "/diagnose", {"Transfer-Encoding": "gzip, chunked"}, b"0\r\n\r\n"), 501, 415),
    "HTTP/2.0": (request("GET", "/healthz", version="HTTP/2.0"), 505, 400),
    "TRACE": (request("TRACE", "/healthz"), 405, 405),
    "bad chunk size": (chunked("/diagnose", b"zz\r\nabc\r\n0\r\n\r\n"), 400, 400),
    "chunked over the body limit": (chunked("/diagnose", b"%x\r\n" % (len(DIAGNOSE) + 1_200_000) + DIAGNOSE
                                            + b" " * 1_200_000 + b"\r\n0\r\n\r\n"), 413, 413),
    "SCRIPT_NAME header": (post("/diagnose", DIAGNOSE, SCRIPT_NAME="/x"), 200, 400),
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {"MLSERVICE_CLIENT_TIMEOUT": str(CLIENT_TIMEOUT)}
    with running_stack(tmp_path_factory.mktemp("hostile"), replicas=1, workers=2, env=env,
                       rate_per_second=1, burst=300) as running:
        yield running


def send(address: str, data: bytes, timeout: float = 15.0) -> tuple[int, dict[str, str], bytes]:
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines if ":" in line)}
    return int(status_line.split()[1]), headers, body


def assert_error_shape(status: int, headers: dict[str, str], body: bytes, expected: int) -> None:
    assert status == expected, body[:200]
    assert headers["content-type"] == "application/json" and headers["x-request-id"]
    if status != 200:
        answer = json.loads(body)
        assert set(answer) <= {"code", "status", "message", "errors"} and answer["code"] == status


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_every_malformed_request_is_answered_in_the_error_shape_by_nginx(stack, name):
    raw, through_nginx, _ = MALFORMED[name]
    assert_error_shape(*send(stack.nginx.settings.listen, raw), through_nginx)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_every_malformed_request_is_answered_in_the_error_shape_by_a_replica(stack, name):
    raw, _, direct = MALFORMED[name]
    assert_error_shape(*send(stack.replicas[0].address, raw), direct)


def test_a_client_that_stops_sending_frees_the_worker_in_seconds(stack):
    short = post("/diagnose", DIAGNOSE)[:-20]  # Content-Length promises 20 bytes more than arrive
    start = time.monotonic()
    status, headers, body = send(stack.replicas[0].address, short)
    assert time.monotonic() - start < CLIENT_TIMEOUT + 5
    assert 400 <= status < 500 and json.loads(body)["code"] == status


def test_no_log_keeps_what_clients_put_in_urls_and_headers(stack):
    listen = stack.nginx.settings.listen
    nasty = {"Referer": f"https://x/{CANARY}", f"X-{CANARY}": CANARY}
    for target in (f"/diagnose?email={CANARY}", f"/{CANARY}/diagnose", f"/models/{CANARY}"):
        send(listen, post(target, DIAGNOSE, **nasty))
        send(listen, post(target, b"{" * 10, **nasty))  # 400 from the app
        send(listen, request("GET", target, nasty))
    send(listen, request("GET", f"/{CANARY}/../../x?{CANARY}", nasty))  # nginx's own 400
    send(listen, request("GET", f"/{CANARY}" + "a" * 3000, nasty))  # nginx's own 414
    send(listen, post(f"/diagnose?{CANARY}", b" " * 1_100_000, **nasty))  # nginx's own 413
    send(stack.replicas[0].address, request("get", f"/{CANARY}?{CANARY}", nasty))  # gunicorn's own 400
    send(stack.replicas[0].address, request("GET", f"/{CANARY}" + "a" * 5000, nasty))  # gunicorn's own 414
    statuses = [send(listen, request("GET", f"/healthz?{CANARY}", nasty))[0] for _ in range(400)]
    assert 429 in statuses  # the rate limit answered too (nginx logs those)
    rid = f"last-{uuid.uuid4().hex}"
    time.sleep(1.1)
    send(listen, request("GET", "/healthz", {"X-Request-ID": rid}))
    wait_until(lambda: rid in stack.nginx.access_log.read_text(), timeout=5)
    logs = [stack.replicas[0].log_path, stack.nginx.access_log, stack.nginx.error_log]
    assert all(path.exists() for path in logs)
    assert [str(p) for p in logs if CANARY in p.read_text(errors="replace")] == []


def test_the_access_log_names_routes_not_paths(stack):
    rid = f"route-{uuid.uuid4().hex}"
    time.sleep(1.1)  # a token back from the rate limit
    send(stack.nginx.settings.listen, request("GET", f"/models/{CANARY}", {"X-Request-ID": rid}))
    wait_until(lambda: rid in stack.nginx.access_log.read_text(), timeout=5)
    line: dict[str, Any] = next(json.loads(x) for x in stack.nginx.access_log.read_text().splitlines() if rid in x)
    assert line["route"] == "/models/<string:name>" and line["status"] == 404
