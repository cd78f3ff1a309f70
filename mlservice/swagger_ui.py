"""Swagger UI's files served by the service itself, so ``/docs`` needs no CDN.

The files come from the ``swagger-ui-bundle-v2`` wheel, pinned like any other
dependency; a browser that can reach the service can render its docs, and no
third-party script runs on our origin.
"""
from __future__ import annotations

from flask import Blueprint, Response, redirect, send_from_directory, url_for
from werkzeug.exceptions import NotFound

#: The only files the page flask-smorest renders asks for.
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-16x16.png", "favicon-32x32.png"})
MAX_AGE = 24 * 3600


def add_assets_rule(blueprint: Blueprint, url: str | None) -> None:
    """Serve the assets at ``url`` (``OPENAPI_SWAGGER_UI_URL``) when it is a local path."""
    if url and url.startswith("/"):
        blueprint.add_url_rule(f"{url.rstrip('/')}/<string:filename>", "swagger_ui_assets", asset)


def add_trailing_slash_redirect(blueprint: Blueprint, path: str) -> None:
    """``/docs/`` (as people type it) redirects to the page at ``/docs`` instead of a 404."""
    blueprint.add_url_rule(f"/{path.strip('/')}/", "swagger_ui_slash", to_page)


def to_page() -> Response:
    return redirect(url_for(".openapi_swagger_ui"), 308)


def asset(filename: str) -> Response:
    if filename not in ASSETS:
        raise NotFound()
    from swagger_ui_bundle import swagger_ui_path  # a path lookup, imported when first asked for

    return send_from_directory(str(swagger_ui_path), filename, max_age=MAX_AGE)
