"""``POST /<use case>/outcomes``: what really happened to earlier predictions, for live quality."""
from mlservice.outcomes.resources import blp

#: The path as the OpenAPI document writes it (its scope is ``feedback``).
OPENAPI_PATH = "/{use_case}/outcomes"

__all__ = ["OPENAPI_PATH", "blp"]
