"""What marshmallow cannot say in JSON Schema, published in the OpenAPI document."""
from __future__ import annotations

from typing import Any

from apispec import BasePlugin


class SchemaExtrasPlugin(BasePlugin):
    """apispec plugin publishing each schema's ``OPENAPI_EXTRA``."""

    def schema_helper(self, name: str, definition: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        schema = kwargs.get("schema")
        schema_cls = schema if isinstance(schema, type) else type(schema)
        return dict(getattr(schema_cls, "OPENAPI_EXTRA", {})) or None
