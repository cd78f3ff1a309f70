"""Render the nginx configs from the templates beside this file.

Values that must agree with the app are taken from the app: the body limit is the
app's ``MAX_CONTENT_LENGTH`` as its own config layering computes it, and nginx's
error bodies use the same ``{"code", "status", "message"}`` shape as ``mlservice.errors``.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from unittest import mock

TEMPLATES = Path(__file__).resolve().parent / "nginx"
#: Debian's njs module (libnginx-mod-http-js), which the per-key rate limit needs.
JS_MODULE_SO = "/usr/lib/nginx/modules/ngx_http_js_module.so"
_PLACEHOLDER = re.compile(r"\{\{ *(\w+) *\}\}")

#: Statuses nginx answers itself, and what each tells the client.
NGINX_ERRORS = {
    400: "The request is malformed.",
    403: "Not allowed from this address.",
    404: "No such resource.",
    405: "Method not allowed; see the Allow header.",
    408: "The request took too long to arrive.",
    411: "The request needs a Content-Length or chunked body.",
    413: "The request body is too large.",
    414: "The request URI is too long.",
    429: "Too many requests; slow down and retry later.",
    431: "The request has too many or too large headers.",
    500: "Internal server error.",
    501: "This Transfer-Encoding or method is not supported.",
    502: "No replica could answer; retry shortly.",
    503: "The service is unavailable; retry shortly.",
    504: "A replica took too long to answer.",
    505: "Only HTTP/1.0 and HTTP/1.1 are supported.",
}
#: nginx's own non-standard statuses, answered as the standard one a client understands.
NGINX_ALIASES = {494: 431}


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
    error_log: str = "/var/log/nginx/mlservice.error.log"
    key_rate_per_second: int | None = None  # per API key; None: the per-client rate
    key_burst: int | None = None
    key_rates: tuple[tuple[str, int], ...] = ()  # (key digest, its own rate) from the keys file
    js_module: str = str(TEMPLATES / "mlservice.js")


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
        "error_log": settings.error_log,
        "logged_routes": logged_routes(),
        "client_max_body_size": settings.client_max_body_size or 0,  # Flask's None and nginx's 0: no limit
        "rate_per_second": settings.rate_per_second,
        "burst": settings.burst,
        "read_timeout": settings.read_timeout,
        "upstream_servers": "\n".join(f"    server {u} max_fails=1 fail_timeout=5s;" for u in settings.upstreams),
        "admin_allow": "\n".join(f"        allow {a};" for a in settings.admin_allow),
        "error_pages": error_pages(),
        "js_module": settings.js_module,
        "key_rate_per_second": settings.key_rate_per_second or settings.rate_per_second,
        "key_burst": settings.key_burst or settings.burst,
        **key_overrides(settings.key_rates),
    }
    return render((TEMPLATES / "mlservice.conf.template").read_text(), values)


def key_overrides(key_rates: tuple[tuple[str, int], ...]) -> dict[str, str]:
    """Template values for keys with their own rate: one zone per distinct rate, keyed on the digest."""
    if any(not re.fullmatch(r"[0-9a-f]{64}", digest) for digest, _ in key_rates):
        raise ValueError("a key digest is not 64 hex digits")
    rates = sorted({rate for _, rate in key_rates})
    zones, limits = [], []
    for rate in rates:
        digests = "\n".join(f"    {d} $mlservice_key_digest;" for d, r in key_rates if r == rate)
        zones.append(f"map $mlservice_key_digest $mlservice_key_rate_{rate} {{\n{digests}\n    default \"\";\n}}\n"
                     f"limit_req_zone $mlservice_key_rate_{rate} zone=mlservice_key_rate_{rate}:1m rate={rate}r/s;")
        limits.append(f"    limit_req zone=mlservice_key_rate_{rate} burst={max(1, 2 * rate)} nodelay;")
    return {"key_default_map": "\n".join(f'    {d} "";' for d, _ in key_rates),
            "key_override_zones": "\n".join(zones), "key_override_limits": "\n".join(limits)}


def key_rates_of(env: Mapping[str, str] | None = None) -> tuple[tuple[str, int], ...]:
    """``(digest, rate)`` of every API key with its own ``rate_per_second``, as the app would load them."""
    from mlservice.auth.keys import KeyStore, scopes_for
    from mlservice.config import Defaults

    keys = KeyStore.load(app_setting("API_KEYS_FILE", env), app_setting("API_KEYS", env), scopes_for(Defaults.USE_CASES))
    return tuple((k.sha256, k.rate_per_second) for k in keys.keys if k.rate_per_second)


def main_config(run_dir: Path, worker_processes: int = 1) -> str:
    """An ``nginx.conf`` whose pid, logs and temp files all live in ``run_dir``."""
    user = "user root;" if os.geteuid() == 0 else ""
    values = {"run_dir": run_dir, "worker_processes": worker_processes, "user_directive": user,
              "js_module_so": JS_MODULE_SO}
    return render((TEMPLATES / "nginx.conf.template").read_text(), values)


def error_pages() -> str:
    """``error_page`` + an internal location per status, answering JSON in the service's shape.

    The pages are URIs, not named locations: nginx cannot redirect to a named
    location before it has parsed the request line, and then answered its own
    HTML 500 for ``../`` scans, ``%00``, ``OPTIONS *`` or lowercase methods. A
    location with its own ``add_header`` inherits none, so each repeats the id.
    """
    lines = []
    for code, message in NGINX_ERRORS.items():
        body = json.dumps({"code": code, "status": HTTPStatus(code).phrase, "message": message},
                          separators=(",", ":"))
        if set("$'\\") & set(body):
            raise ValueError(f"nginx would interpret characters in {body}")
        # nginx answers 405 itself only for methods it refuses outright (TRACE):
        # no resource allows those, so the union of our methods is an honest Allow.
        allow = ' add_header Allow "GET, HEAD, OPTIONS, POST" always;' if code == 405 else ""
        lines += [f"    error_page {code} /_errors/{code}.json;",
                  f"    location = /_errors/{code}.json {{ internal; default_type application/json;"
                  f" add_header X-Request-ID $mlservice_request_id always;{allow} return {code} '{body}'; }}"]
    lines += [f"    error_page {alias} ={code} /_errors/{code}.json;" for alias, code in NGINX_ALIASES.items()]
    return "\n".join(lines)


def logged_routes() -> str:
    """``map`` lines from a request path to the app's route that serves it, as the app's own log names it.

    nginx's access log then shows ``/models/<name>``, never a path a client made up
    (which can carry a name or an email); any other path is logged as unmatched.
    Matched on the request line's URI, which nginx's own error pages do not rewrite.
    Built from the app's URL map, so a new route needs no edit here.
    """
    from mlservice import create_app

    with tempfile.TemporaryDirectory() as state:
        app = create_app({"MODELS_CONFIG": os.devnull, "MODELS_POLL_SECONDS": 0, "MODELS_STATE_DIR": state,
                          "LOG_LEVEL": "CRITICAL"})  # routes only: no models, and no noise about them
    lines = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        pattern = "".join(_segment(part) for part in re.split(r"(<[^>]+>)", rule.rule))
        if set("\"$'") & set(rule.rule):
            raise ValueError(f"nginx would interpret characters in {rule.rule}")
        lines.append(f'    "~^{pattern}(\\?|$)" "{rule.rule}";')
    return "\n".join(lines)


def _segment(part: str) -> str:
    """A route's part as a regex: a converter matches what it would, static text itself."""
    if part.startswith("<"):
        return "[^?]+" if part.startswith("<path:") else "[^/?]+"
    return re.escape(part)


def app_setting(name: str, env: Mapping[str, str] | None = None) -> Any:
    """A setting as the app sees it under ``env``: its own layering, not a copy of it."""
    from flask import Flask

    from mlservice.config import load_config

    with mock.patch.dict(os.environ, env or {}):
        app = Flask("mlservice-settings")
        load_config(app)
        return app.config[name]
