"""mlservice: verified scikit-learn models behind validated, documented HTTP endpoints."""
from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """``create_app`` on first use: importing any ``mlservice`` module runs this file, and a process that
    needs no app (the decision recorder) must not pay for Flask's app, scikit-learn and SciPy."""
    if name == "create_app":
        from mlservice.app import create_app

        return create_app
    raise AttributeError(f"module 'mlservice' has no attribute {name!r}")
