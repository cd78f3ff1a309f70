"""Domain exceptions and the one error shape every failure is answered in.

Every error, whether raised by our services, by webargs validation, by Werkzeug
routing or by a bug, leaves through :func:`error_response`, so clients parse one
shape: ``{"code", "status", "message", "errors"?}``. Nothing from the request
body is ever put into it.
"""
from __future__ import annotations

import logging
import re
import traceback
from http import HTTPStatus
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

#: Keys of error mappings are field names or list indexes; a key that is neither
#: could carry client data (an unknown field named after a patient), so it is masked.
_SAFE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
_MASKED_KEY = "<unknown field>"
#: Field messages an error answer lists; the rest are counted in its message, so any answer stays small.
MAX_FIELD_ERRORS = 50


class ServiceError(Exception):
    """Base of domain errors; subclasses fix the HTTP status."""

    status = HTTPStatus.INTERNAL_SERVER_ERROR
    headers: dict[str, str] = {}

    def __init__(self, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class NotFound(ServiceError):
    status = HTTPStatus.NOT_FOUND


class Unauthorized(ServiceError):
    """No key, or a key that matches none: the client should authenticate."""

    status = HTTPStatus.UNAUTHORIZED
    headers = {"WWW-Authenticate": 'Bearer realm="mlservice"'}


class Forbidden(ServiceError):
    """A valid key without the scope this endpoint needs."""

    status = HTTPStatus.FORBIDDEN


class ModelNotReady(ServiceError):
    """The model behind a use case is not loaded; the use case answers 503 until it is."""

    status = HTTPStatus.SERVICE_UNAVAILABLE


def error_response(
    status: int, message: str, errors: Any = None, headers: Any = None
) -> Response:
    """Build the one error shape."""
    body: dict[str, Any] = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if errors:
        budget = [MAX_FIELD_ERRORS]
        body["errors"] = _capped(errors, budget)
        if budget[0] < 0:
            body["message"] = f"{message} Only the first {MAX_FIELD_ERRORS} of {MAX_FIELD_ERRORS - budget[0]} field errors are listed."
    response = jsonify(body)
    response.status_code = status
    for name, value in headers or ():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _capped(errors: Any, budget: list[int]) -> Any:
    """``errors`` with unsafe keys masked and at most ``budget[0]`` messages; counts down past zero for the rest."""
    if isinstance(errors, dict):
        kept = {}
        for key, value in errors.items():
            capped = _capped(value, budget)
            if capped:
                kept.setdefault(_safe_key(key), capped)
        return kept
    if isinstance(errors, list) and not all(isinstance(e, str) for e in errors):
        return [x for x in (_capped(v, budget) for v in errors) if x]
    messages = errors if isinstance(errors, list) else [errors]
    kept = messages[: max(budget[0], 0)]
    budget[0] -= len(messages)
    return kept if isinstance(errors, list) else (kept[0] if kept else None)


def _safe_key(key: Any) -> Any:
    if isinstance(key, int) or (isinstance(key, str) and _SAFE_KEY.match(key)):
        return key
    return _MASKED_KEY


def handle_http_exception(error: HTTPException) -> Response:
    """Werkzeug and webargs errors; keeps headers such as ``Allow`` on a 405."""
    data = getattr(error, "data", None) or {}
    message = data.get("message") or _MESSAGES.get(error.code, error.description)
    errors = data.get("errors") or data.get("messages")
    headers = [(k, _sorted_methods(v) if k == "Allow" else v) for k, v in error.get_headers()]
    headers += list((data.get("headers") or {}).items())
    return error_response(error.code or 500, message, errors, headers)


def _sorted_methods(allow: str) -> str:
    """Werkzeug lists allowed methods from a set, in an order that differs per process: every replica
    answers the same ``Allow`` once they are sorted."""
    return ", ".join(sorted(m.strip() for m in allow.split(",")))


def handle_service_error(error: ServiceError) -> Response:
    return error_response(error.status, error.message, error.errors, error.headers.items())


def handle_unexpected(error: Exception) -> Response:
    """A bug: log its type and where it happened, never its message (it may hold data)."""
    frames = traceback.extract_tb(error.__traceback__)[-3:]
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    log.error("unhandled %s at %s", type(error).__name__, where)
    return error_response(500, "Internal server error.")


_MESSAGES = {
    400: "The request body is not valid JSON.",
    404: "No such resource.",
    405: "Method not allowed on this resource; see the Allow header.",
    408: "The request took too long to arrive.",
    413: "The request body is too large.",
    415: "The request body must be JSON (Content-Type: application/json).",
    422: "The input failed validation; see errors for each field.",
    500: "Internal server error.",
}


def register_error_handlers(app: Flask) -> None:
    """The one place where exceptions become responses."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ServiceError, handle_service_error)
    app.register_error_handler(Exception, handle_unexpected)
