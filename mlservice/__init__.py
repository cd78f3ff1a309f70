"""mlservice: verified scikit-learn models behind validated, documented HTTP endpoints."""
from mlservice.app import create_app

__all__ = ["create_app"]
