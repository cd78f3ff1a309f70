"""API-key authentication: one check before every request, scope by endpoint.

Health checks stay open (load balancers probe them); predictions need the
``predict`` scope; model metadata, ``/metrics`` and (when ``DOCS_SCOPE`` is set)
the API docs need ``admin``. Keys are never logged, echoed or stored in clear.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from flask import Flask, current_app, g, request

from mlservice.auth.keys import KeyStore
from mlservice.errors import Forbidden, Unauthorized

ADMIN_ENDPOINTS = {"admin.Models", "admin.Model", "metrics"}
EXTENSION = "auth"


class Guard(NamedTuple):
    keys: KeyStore
    predict_blueprints: frozenset[str]


def init_app(app: Flask, predict_blueprints: Iterable[str]) -> None:
    """Load the keys (refusing to start on a malformed keys file) and guard every request.

    ``predict_blueprints``: every use case's blueprint name, from the one registration
    list, so a new use case can never be left open by a list kept here.
    """
    if not app.config["AUTH_ENABLED"]:
        return
    keys = KeyStore.load(app.config.get("API_KEYS_FILE"), app.config.get("API_KEYS"))
    app.extensions[EXTENSION] = Guard(keys, frozenset(predict_blueprints))
    app.before_request(_authenticate)


def required_scope(endpoint: str | None, blueprint: str | None, docs_scope: str | None,
                   predict_blueprints: frozenset[str]) -> str | None:
    if blueprint in predict_blueprints:
        return "predict"
    if endpoint in ADMIN_ENDPOINTS:
        return "admin"
    if blueprint == "api-docs":
        return docs_scope
    return None


def _authenticate() -> None:
    guard = current_app.extensions[EXTENSION]
    scope = required_scope(request.endpoint, request.blueprint, current_app.config.get("DOCS_SCOPE"),
                           guard.predict_blueprints)
    if scope is None:
        return
    key = guard.keys.find(_presented_key())
    if key is None:
        raise Unauthorized("A valid API key is required: Authorization: Bearer <key>.")
    if scope not in key.scopes:
        raise Forbidden(f"This API key lacks the {scope} scope.")
    g.api_key_id = key.id


def _presented_key() -> str:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("X-API-Key", "")
