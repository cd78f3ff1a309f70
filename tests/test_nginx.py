"""nginx's own answers (429, 403, 502, 504) in the error shape, and the rendered site file.

These run nginx alone in front of upstreams that fail on purpose: a port nobody
listens on, and a socket that accepts connections but never answers.
"""
from __future__ import annotations

import contextlib
import io
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from deploy import render, stack
from deploy.processes import Nginx, free_port
from tests.stacks import assert_nginx_error

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def nginx(run_dir: Path, upstream: str, **settings: Any) -> Iterator[Nginx]:
    server = Nginx(run_dir, render.NginxSettings(
        listen=f"127.0.0.1:{free_port()}", upstreams=(upstream,), client_max_body_size=1024,
        access_log=str(run_dir / "access.log"), error_log=str(run_dir / "error.log"), **settings))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def black_hole() -> Iterator[str]:
    """A listening socket that never accepts: connections open, answers never come."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield "127.0.0.1:%d" % sock.getsockname()[1]


def test_a_dead_upstream_is_a_json_502(tmp_path):
    with nginx(tmp_path, f"127.0.0.1:{free_port()}") as server:
        assert_nginx_error(requests.post(f"{server.url}/risk", json={}, timeout=10), 502)


def test_a_silent_upstream_is_a_json_504(tmp_path, black_hole):
    with nginx(tmp_path, black_hole, read_timeout=1) as server:
        assert_nginx_error(requests.get(f"{server.url}/healthz", timeout=10), 504)


def test_a_burst_over_the_rate_limit_is_a_json_429(tmp_path):
    with nginx(tmp_path, f"127.0.0.1:{free_port()}", rate_per_second=1, burst=2) as server:
        with requests.Session() as session:
            statuses = [session.get(f"{server.url}/healthz", timeout=5) for _ in range(10)]
    assert [r.status_code for r in statuses[:3]] == [502, 502, 502]  # 1 + burst went through
    limited = [r for r in statuses if r.status_code == 429]
    assert len(limited) >= 6
    assert assert_nginx_error(limited[0], 429)["status"] == "Too Many Requests"


def test_the_admin_surface_is_closed_to_other_addresses(tmp_path):
    with nginx(tmp_path, f"127.0.0.1:{free_port()}", admin_allow=("127.0.0.2",)) as server:
        for path in ("/metrics", "/models", "/models/risk", "/readyz"):
            assert_nginx_error(requests.get(server.url + path, timeout=5), 403)
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 502  # proxied, not denied
        assert requests.get(f"{server.url}/modelsx", timeout=5).status_code == 502


def test_the_rendered_site_file_carries_the_apps_body_limit_and_passes_nginx_t(tmp_path, monkeypatch):
    monkeypatch.setenv("MLSERVICE_MAX_CONTENT_LENGTH", "4096")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        stack.main(["render", "--upstream", "10.0.0.5:8000", "--upstream", "10.0.0.6:8000",
                    "--listen", f"127.0.0.1:{free_port()}", "--access-log", str(tmp_path / "a.log")])
    site = out.getvalue()
    assert "client_max_body_size 4096;" in site
    assert "server 10.0.0.5:8000 max_fails=1 fail_timeout=5s;" in site and "server 10.0.0.6:8000" in site
    (tmp_path / "mlservice.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(render.main_config(tmp_path))
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / sub).mkdir(parents=True)
    check = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                            "-e", str(tmp_path / "error.log")], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr


def test_a_template_name_without_a_value_is_an_error():
    with pytest.raises(KeyError):
        render.render("listen {{ port }};", {})


def test_each_api_key_has_its_own_rate_limit_and_overrides_apply(tmp_path):
    from mlservice.auth.keys import digest

    keys = {name: f"mls_{name}-0123456789abcdefghij" for name in ("a", "b", "fast")}
    settings = {"rate_per_second": 1000, "burst": 1000, "key_rate_per_second": 1, "key_burst": 2,
                "key_rates": ((digest(keys["fast"]), 5),)}  # fast: 5 r/s, burst 10
    with nginx(tmp_path, f"127.0.0.1:{free_port()}", **settings) as server:
        with requests.Session() as session:
            def burst(key: str, count: int, header: str = "Authorization") -> list[int]:
                value = f"Bearer {key}" if header == "Authorization" else key
                return [session.get(f"{server.url}/healthz", headers={header: value}, timeout=5).status_code
                        for _ in range(count)]

            a = burst(keys["a"], 8)
            b = burst(keys["b"], 3, header="X-API-Key")
            fast = burst(keys["fast"], 14)
            anonymous = burst("", 8, header="X-API-Key")
        limited = session.get(f"{server.url}/healthz", headers={"Authorization": f"Bearer {keys['a']}"}, timeout=5)
    assert a[:3] == [502] * 3 and a[3:] == [429] * 5  # 1 + burst, then refused
    assert b == [502] * 3  # another key, unaffected by a's limit
    assert fast.count(502) >= 11 and fast[-1] == 429  # its own zone: 1 + 10
    assert anonymous == [502] * 8  # no key: only the per-client limit
    assert_nginx_error(limited, 429)
    logs = (tmp_path / "access.log").read_text() + (tmp_path / "error.log").read_text()
    assert not any(key in logs or digest(key) in logs for key in keys.values())


def test_key_overrides_refuse_anything_but_a_digest():
    with pytest.raises(ValueError, match="64 hex"):
        render.key_overrides((("not-a-digest; evil", 5),))
