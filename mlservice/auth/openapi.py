"""The OpenAPI document says which key each operation needs, when authentication is on.

OpenAPI 3.0 lists scopes only for OAuth flows, so the scope an operation needs is
given as ``x-required-scope`` beside an empty requirement on both ways of sending
a key (``Authorization: Bearer`` and ``X-API-Key``), and in its description.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apispec import BasePlugin

SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
ADMIN_PATHS = ("/models", "/metrics")


class ScopesPlugin(BasePlugin):
    """Adds the security requirement and required scope to every guarded operation."""

    def __init__(self, scope_of_prefix: Mapping[str, str]) -> None:
        super().__init__()
        self.scope_of_prefix = dict(scope_of_prefix)

    def init_spec(self, spec: Any) -> None:
        super().init_spec(spec)
        for name, scheme in SCHEMES.items():
            spec.components.security_scheme(name, scheme)

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None,
                         **kwargs: Any) -> None:
        scope = self._scope(path or "")
        if scope is None:
            return
        for operation in (operations or {}).values():
            operation["security"] = [{name: []} for name in SCHEMES]
            operation["x-required-scope"] = scope
            operation["description"] = (operation.get("description", "") +
                                        f"\n\nNeeds an API key with the `{scope}` scope.").strip()

    def _scope(self, path: str) -> str | None:
        for prefix, scope in self.scope_of_prefix.items():
            if path == prefix or path.startswith(prefix + "/"):
                return scope
        return "admin" if path.startswith(ADMIN_PATHS) else None
