"""Operating the service: request ids, JSON logs, Prometheus metrics, proxy headers.

``init_app`` adds two request hooks and the ``/metrics`` route. ``/metrics`` is
left out of the OpenAPI document: it is for the operator's scraper, not for
clients, and nginx only lets the admin addresses reach it.
"""
from __future__ import annotations

from flask import Flask
from mlservice.observability import access, logs, metrics
from mlservice.observability.proxy import TrustedProxyFix


def init_app(app: Flask) -> None:
    """Wire logging, the request hooks, ``/metrics`` and (behind nginx) ``TrustedProxyFix``."""
    logs.configure(app.config["LOG_LEVEL"])
    if app.config["BEHIND_PROXY"]:
        # Exactly one proxy (nginx) sets X-Forwarded-For/Proto/Host, and only its address is
        # believed: trusting more would let a client forge its address in logs and rate limits.
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, app.config["PROXY_ADDRESSES"])  # type: ignore[method-assign]
    app.before_request(access.start)
    app.after_request(access.finish)
    app.add_url_rule("/metrics", "metrics", metrics.view, methods=["GET"])
