"""Model metadata and health endpoints."""
from mlservice.admin.resources import blp

__all__ = ["blp"]
