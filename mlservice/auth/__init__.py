"""API-key authentication: one check before every request, scope by endpoint.

Health checks stay open (load balancers probe them); predictions need the
``predict`` scope; model metadata, ``/metrics`` and (when ``DOCS_SCOPE`` is set)
the API docs need ``admin``. Keys are never logged, echoed or stored in clear.
"""
from __future__ import annotations

from flask import Flask, g, request

from mlservice.auth.keys import KeyStore
from mlservice.errors import Forbidden, Unauthorized

PREDICT_BLUEPRINTS = {"risk", "diagnose", "recommend"}
ADMIN_ENDPOINTS = {"admin.Models", "admin.Model", "metrics"}
EXTENSION = "auth"


def init_app(app: Flask) -> None:
    """Load the keys (refusing to start on a malformed keys file) and guard every request."""
    if not app.config["AUTH_ENABLED"]:
        return
    app.extensions[EXTENSION] = KeyStore.load(app.config.get("API_KEYS_FILE"), app.config.get("API_KEYS"))
    app.before_request(_authenticate)


def required_scope(endpoint: str | None, blueprint: str | None, docs_scope: str | None) -> str | None:
    if blueprint in PREDICT_BLUEPRINTS:
        return "predict"
    if endpoint in ADMIN_ENDPOINTS:
        return "admin"
    if blueprint == "api-docs":
        return docs_scope
    return None


def _authenticate() -> None:
    from flask import current_app

    scope = required_scope(request.endpoint, request.blueprint, current_app.config.get("DOCS_SCOPE"))
    if scope is None:
        return
    key = current_app.extensions[EXTENSION].find(_presented_key())
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
