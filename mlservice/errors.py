"""Domain exceptions and the one error shape every failure is answered in.

Every error, whether raised by our services, by webargs validation, by Werkzeug
routing or by a bug, leaves through :func:`error_response`, so clients parse one
shape: ``{"code", "status", "message", "errors"?}``; under ``/v2/`` the Open
Inference Protocol's own ``{"error": "..."}``, the field errors worded into it, and
invalid input is a 400 as V2 clients expect. Nothing from the request body is ever
put into either.
"""
from __future__ import annotations

import logging
import re
import traceback
from http import HTTPStatus
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
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


class InvalidInput(ServiceError):
    """A request the protocol cannot take (a V2 tensor of the wrong shape or type)."""

    status = HTTPStatus.BAD_REQUEST


class ModelNotReady(ServiceError):
    """The model behind a use case is not loaded; the use case answers 503 until it is."""

    status = HTTPStatus.SERVICE_UNAVAILABLE


def error_response(
    status: int, message: str, errors: Any = None, headers: Any = None
) -> Response:
    """Build the one error shape."""
    if request and request.path.startswith(V2_PREFIX):
        return _v2_response(400 if status == 422 else status, message, errors, headers)
    body: dict[str, Any] = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if errors:
        budget = [MAX_FIELD_ERRORS]
        body["errors"] = _capped(errors, budget)
        if budget[0] < 0:
            body["message"] = f"{message} Only the first {MAX_FIELD_ERRORS} of {MAX_FIELD_ERRORS - budget[0]} field errors are listed."
    return _response(body, status, headers)


def _response(body: dict[str, Any], status: int, headers: Any) -> Response:
    response = jsonify(body)
    response.status_code = status
    for name, value in headers or ():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


V2_PREFIX = "/v2/"
#: Field errors a V2 error message words out; the rest are counted.
V2_FIELD_ERRORS = 5


def _v2_response(status: int, message: str, errors: Any, headers: Any) -> Response:
    """``{"error": "..."}``: the message, then each field error as "<input>, row <i>: <what is wrong>"."""
    found = list(_paths(_capped(errors, [MAX_FIELD_ERRORS]) if errors else {}, ()))
    message = message.replace("; see errors for each field.", ":")  # V2 has no errors field: they follow
    worded = [f"{', row '.join(p) if len(p) == 2 else ' '.join(p)}: {m}" for p, m in found[:V2_FIELD_ERRORS]]
    if len(found) > V2_FIELD_ERRORS:
        worded.append(f"and {len(found) - V2_FIELD_ERRORS} more")
    return _response({"error": " ".join([message, *worded]) if worded else message}, status, headers)


def _paths(errors: Any, path: tuple[str, ...]) -> Any:
    """(path, message) for every message; the envelope's own keys (json, columns) left out of the path."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            yield from _paths(value, path if key in ("json", "columns") else (*path, str(key)))
    elif isinstance(errors, list):
        for value in errors:
            yield from _paths(value, path)
    elif errors:
        yield path or ("request",), errors


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
    errors = data.get("errors") or data.get("messages")
    message = data.get("message") or _MESSAGES.get(422 if errors else error.code, error.description)
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
