"""Response headers every answer carries, whatever produced it."""
from __future__ import annotations

from flask import Flask, Response, request


def init_app(app: Flask) -> None:
    app.after_request(_headers)


def _headers(response: Response) -> Response:
    """No MIME sniffing; predictions hold personal data, so no cache may keep them."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.method == "POST":
        response.headers["Cache-Control"] = "no-store"
    return response
