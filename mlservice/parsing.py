"""Request-body parsing that cannot be tricked into a 500.

webargs' default JSON loader turns a wrong Content-Type into "missing data"
(422) and lets ``RecursionError`` (deep nesting) and ``ValueError`` (huge
integer literals) escape as 500s. orjson bounds nesting depth, rejects NaN,
Infinity and invalid UTF-8, and raises one decode error for all of them.
"""
from __future__ import annotations

from typing import Any

import marshmallow as ma
import orjson
from flask import Request
from webargs import core
from webargs.flaskparser import FlaskParser, abort
from werkzeug.exceptions import UnsupportedMediaType


class StrictJSONParser(FlaskParser):
    """415 for a non-JSON body, 400 for anything orjson will not decode."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "json": ma.RAISE}

    def _raw_load_json(self, req: Request) -> Any:
        if not core.is_json(req.mimetype):
            raise UnsupportedMediaType()
        body = req.get_data(cache=True)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            abort(400, message="The request body is not valid JSON.")
