"""API-key authentication: one check before every request, scope by endpoint.

Health checks stay open (load balancers probe them); predictions need
``predict:<use case>`` (``predict`` grants every use case); outcome reports need
``feedback``; model metadata,
``/metrics`` and (when ``DOCS_SCOPE`` is set) the API docs need ``admin``. Keys are
never logged, echoed or stored in clear; the keys file is reloaded when it
changes (``mlservice.auth.ring``). Refusals are counted by reason.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import NamedTuple

from flask import Flask, current_app, g, request

from mlservice.auth.keys import KeyStore, scopes_for
from mlservice.auth.ring import KeyRing
from mlservice.errors import Forbidden, Unauthorized
from mlservice.observability import metrics

ADMIN_ENDPOINTS = {"admin.Models", "admin.Model", "admin.Decision", "metrics"}
EXTENSION = "auth"


class Guard(NamedTuple):
    keys: KeyRing
    use_case_of: Mapping[str, str]  # blueprint name -> use case name


def init_app(app: Flask, use_case_of: Mapping[str, str]) -> None:
    """Load the keys (refusing to start on a malformed keys file) and guard every request.

    ``use_case_of``: every use case's blueprint, from the one registration list, so a
    new use case can never be left open by a list kept here.
    """
    if not app.config["AUTH_ENABLED"]:
        return
    keys_file = app.config.get("API_KEYS_FILE")
    load = partial(KeyStore.load, keys_file, app.config.get("API_KEYS"), scopes_for(use_case_of.values()))
    ring = KeyRing(load, keys_file, float(app.config["API_KEYS_POLL_SECONDS"]))
    app.extensions[EXTENSION] = Guard(ring, dict(use_case_of))
    app.before_request(_authenticate)


def required_scope(endpoint: str | None, blueprint: str | None, docs_scope: str | None,
                   use_case_of: Mapping[str, str], view_args: Mapping[str, str] | None = None) -> str | None:
    if blueprint in use_case_of:
        return f"predict:{use_case_of[blueprint]}"
    if blueprint == "outcomes":  # outcomes feed live quality: callers who predict need not report them
        return "feedback"
    if blueprint == "v2" and view_args and "name" in view_args:  # a model's metadata and inference
        name = view_args["name"]
        return f"predict:{name}" if name in use_case_of.values() else "predict"
    if endpoint in ADMIN_ENDPOINTS:
        return "admin"
    if blueprint == "api-docs":
        return docs_scope
    return None


def _authenticate() -> None:
    guard = current_app.extensions[EXTENSION]
    scope = required_scope(request.endpoint, request.blueprint, current_app.config.get("DOCS_SCOPE"),
                           guard.use_case_of, request.view_args)
    if scope is None:
        return
    presented = _presented_key()
    key = guard.keys.current().find(presented)
    if key is None:
        metrics.record_auth_failure("unknown" if presented else "missing")
        raise Unauthorized("A valid API key is required: Authorization: Bearer <key>.")
    if not key.grants(scope):
        metrics.record_auth_failure("scope")
        raise Forbidden(f"This API key lacks the {scope} scope (or predict, for every use case).")
    g.api_key_id = key.id


def key_status(app: Flask) -> dict[str, object] | None:
    """For ``/readyz``: how many keys are loaded and why the last reload was refused (None: auth off)."""
    guard = app.extensions.get(EXTENSION)
    if guard is None:
        return None
    return {"loaded": len(guard.keys.store), "rejected": guard.keys.rejected}


def _presented_key() -> str:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("X-API-Key", "")
