"""Trust ``X-Forwarded-*`` only from the proxy's own address.

``ProxyFix`` believes whoever connects. A replica is also reachable without nginx
(probes, a misrouted client, a neighbour on the pod network); such a peer could
then write any client address into the logs. Requests from ``PROXY_ADDRESSES``
go through ``ProxyFix``; any other peer is taken as the client it is.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix


def addresses(proxies: Iterable[str] | str) -> frozenset[str]:
    """``PROXY_ADDRESSES`` as a set: a list (TOML, JSON) or one comma-separated string (a plain env value)."""
    items = proxies.split(",") if isinstance(proxies, str) else proxies
    return frozenset(item.strip() for item in items if item.strip())


class TrustedProxyFix:
    """``ProxyFix(x_for=1, x_proto=1, x_host=1)`` for requests whose peer is one of ``proxies``."""

    def __init__(self, app: Any, proxies: Iterable[str] | str) -> None:
        self.app = app
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1)
        self.proxies = addresses(proxies)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("REMOTE_ADDR") in self.proxies:
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)
