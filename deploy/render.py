"""Render the nginx configs from the templates beside this file.

Values that must agree with the app are taken from the app: the body limit is the
app's ``MAX_CONTENT_LENGTH`` as its own config layering computes it, and nginx's
error bodies use the same ``{"code", "status", "message"}`` shape as ``mlservice.errors``.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from unittest import mock

TEMPLATES = Path(__file__).resolve().parent / "nginx"
_PLACEHOLDER = re.compile(r"\{\{ *(\w+) *\}\}")

#: Statuses nginx answers itself, and what each tells the client.
NGINX_ERRORS = {
    400: "The request is malformed.",
    403: "Not allowed from this address.",
    405: "Method not allowed; see the Allow header.",
    408: "The request took too long to arrive.",
    413: "The request body is too large.",
    414: "The request URI is too long.",
    429: "Too many requests; slow down and retry later.",
    500: "Internal server error.",
    502: "No replica could answer; retry shortly.",
    503: "The service is unavailable; retry shortly.",
    504: "A replica took too long to answer.",
}


@dataclass(frozen=True)
class NginxSettings:
    """What differs between deployments; the rest is fixed in the templates."""

    listen: str
    upstreams: tuple[str, ...]
    client_max_body_size: int | None
    rate_per_second: int = 50
    burst: int = 100
    read_timeout: int = 15
    admin_allow: tuple[str, ...] = ("127.0.0.1", "::1")
    server_name: str = "_"
    access_log: str = "/var/log/nginx/mlservice.access.log"


def render(template: str, values: Mapping[str, Any]) -> str:
    """Replace every ``{{ name }}``; a name without a value is an error, not an empty string."""

    def value(match: re.Match[str]) -> str:
        return str(values[match.group(1)])

    return _PLACEHOLDER.sub(value, template)


def site_config(settings: NginxSettings) -> str:
    """The http-level site file (``mlservice.conf``)."""
    values = {
        "listen": settings.listen,
        "server_name": settings.server_name,
        "access_log": settings.access_log,
        "client_max_body_size": settings.client_max_body_size or 0,  # Flask's None and nginx's 0: no limit
        "rate_per_second": settings.rate_per_second,
        "burst": settings.burst,
        "read_timeout": settings.read_timeout,
        "upstream_servers": "\n".join(f"    server {u} max_fails=1 fail_timeout=5s;" for u in settings.upstreams),
        "admin_allow": "\n".join(f"        allow {a};" for a in settings.admin_allow),
        "error_pages": error_pages(),
    }
    return render((TEMPLATES / "mlservice.conf.template").read_text(), values)


def main_config(run_dir: Path, worker_processes: int = 1) -> str:
    """An ``nginx.conf`` whose pid, logs and temp files all live in ``run_dir``."""
    user = "user root;" if os.geteuid() == 0 else ""
    values = {"run_dir": run_dir, "worker_processes": worker_processes, "user_directive": user}
    return render((TEMPLATES / "nginx.conf.template").read_text(), values)


def error_pages() -> str:
    """``error_page`` + a named location per status, answering JSON in the service's shape."""
    lines = []
    for code, message in NGINX_ERRORS.items():
        body = json.dumps({"code": code, "status": HTTPStatus(code).phrase, "message": message},
                          separators=(",", ":"))
        if set("$'\\") & set(body):
            raise ValueError(f"nginx would interpret characters in {body}")
        # nginx answers 405 itself only for methods it refuses outright (TRACE):
        # no resource allows those, so the union of our methods is an honest Allow.
        allow = ' add_header Allow "GET, HEAD, OPTIONS, POST" always;' if code == 405 else ""
        lines += [f"    error_page {code} @error_{code};",
                  f"    location @error_{code} {{ default_type application/json;{allow} return {code} '{body}'; }}"]
    return "\n".join(lines)


def app_setting(name: str, env: Mapping[str, str] | None = None) -> Any:
    """A setting as the app sees it under ``env``: its own layering, not a copy of it."""
    from flask import Flask

    from mlservice.config import load_config

    with mock.patch.dict(os.environ, env or {}):
        app = Flask("mlservice-settings")
        load_config(app)
        return app.config[name]
