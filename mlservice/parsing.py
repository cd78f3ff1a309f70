"""Request-body parsing that cannot be tricked into a 500.

webargs' default JSON loader turns a wrong Content-Type into "missing data"
(422) and lets ``RecursionError`` (deep nesting) and ``ValueError`` (huge
integer literals) escape as 500s. orjson bounds nesting depth, rejects NaN,
Infinity and invalid UTF-8, and raises one decode error for all of them.

Views name schema *classes*; webargs would build a new instance of one on every
request (a deep copy of every field, about 100 µs, and no reuse of the compiled
pass of ``StrictSchema``). Instances hold no per-request state, so the parser
keeps one per class.
"""
from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
import orjson
from flask import Request
from webargs import core
from webargs.flaskparser import FlaskParser, abort
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, UnsupportedMediaType


class StrictJSONParser(FlaskParser):
    """415 for a non-JSON body, 400 for anything orjson will not decode."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "json": ma.RAISE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._instances: dict[type[ma.Schema], ma.Schema] = {}

    def _get_schema(self, argmap: Any, req: Request) -> ma.Schema:
        """One instance per schema class, built on first use; anything else as webargs does."""
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            schema = self._instances.get(argmap)
            if schema is None:
                schema = self._instances.setdefault(argmap, argmap())
            return schema
        return super()._get_schema(argmap, req)

    #: Media types taken as JSON besides ``application/json`` and ``*+json``.
    ALSO_JSON: frozenset[str] = frozenset()

    def _raw_load_json(self, req: Request) -> Any:
        if not core.is_json(req.mimetype) and req.mimetype not in self.ALSO_JSON:
            raise UnsupportedMediaType()
        body = read_body(req)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = self._lenient(body)
        if has_duplicate_keys(body, data):
            abort(400, message="The request body repeats a key within one object; each key may appear once.")
        return data

    def _lenient(self, body: bytes) -> Any:
        """A body orjson refused: a 400, unless the parser takes JSON's NaN extension (``ProtocolJSONParser``)."""
        abort(400, message="The request body is not valid JSON.")


class ProtocolJSONParser(StrictJSONParser):
    """For the V2 protocol, whose clients (tritonclient) send JSON with no Content-Type at all, and a
    NumPy NaN (a missing value) as the bare word ``NaN``; Infinity is still refused."""

    ALSO_JSON = frozenset({""})

    def _lenient(self, body: bytes) -> Any:
        try:
            return json.loads(body, parse_constant=_nan_only)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the stack
            abort(400, message="The request body is not valid JSON.")


def _nan_only(word: str) -> float:
    if word != "NaN":
        raise ValueError(word)
    return float("nan")


def read_body(req: Request) -> bytes:
    """The whole body, or a 4xx: over the limit (chunked bodies too), malformed chunks, a client that stalls.

    Werkzeug stops a chunked body at ``MAX_CONTENT_LENGTH`` without saying so, so
    the truncated text could still parse; one more byte on the server's stream
    tells a body that was cut from one that ended there. Errors of the server's
    body reader (gunicorn's ``InvalidChunkSize``, a socket timeout) are the
    client's, not bugs.
    """
    try:
        body = req.get_data(cache=True)
        limit = req.max_content_length
        if req.content_length is None and limit is not None and len(body) >= limit \
                and req.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()
    except HTTPException:
        raise
    except TimeoutError:
        abort(408, message="The request body took too long to arrive.")
    except Exception:  # noqa: BLE001 - the server's body reader raises its own types for malformed framing
        abort(400, message="The request body could not be read: malformed chunked encoding or length.")
    return body


def has_duplicate_keys(body: bytes, data: Any) -> bool:
    """Whether an object in the JSON text ``body`` (parsed as ``data``) names a key twice.

    orjson keeps the last value of a repeated key, so ``{"age": 30, "age": 90}``
    would be scored as 90 while a log or a proxy may have read 30. A repeat
    drops a key, and its colon, from what orjson kept: written back out, ``data``
    has fewer colons than ``body`` (strings keep theirs unless ``body`` spelt one
    as an escape, which sends it to the exact check). Only then is ``body``
    parsed again, pair by pair, to decide.
    """
    try:
        if b"\\u" not in body and body.count(b":") == orjson.dumps(data).count(b":"):
            return False
    except TypeError:  # nested deeper than orjson writes (255 levels): the exact check decides
        pass
    try:
        json.loads(body, object_pairs_hook=_refuse_repeats)
    except _RepeatedKey:
        return True
    except (RecursionError, ValueError):  # deeper or longer than any valid request: validation refuses it
        return False
    return False


class _RepeatedKey(Exception):
    pass


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _RepeatedKey
    return result
