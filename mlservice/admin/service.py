"""What the registry knows about each model, shaped for the admin endpoints."""
from __future__ import annotations

from typing import Any

from mlservice.errors import ModelNotReady
from mlservice.registry.extension import registry

#: Card entries left out of the API: golden examples are inputs of real people.
_PRIVATE_CARD_KEYS = {"golden"}


def list_models() -> dict[str, Any]:
    reg = registry()
    return {"models": [summary(name) for name in reg.names]}


def summary(name: str) -> dict[str, Any]:
    model, failure = registry().describe(name)
    return {
        "name": name,
        "ready": model is not None,
        "version": model.spec.version if model else None,
        "sha256": model.spec.sha256 if model else None,
        "loaded_at": model.loaded_at if model else None,
        "failure": {"reason": failure.reason, "at": failure.at} if failure else None,
    }


def detail(name: str) -> dict[str, Any]:
    model, _ = registry().describe(name)
    card = {k: v for k, v in model.card.raw.items() if k not in _PRIVATE_CARD_KEYS} if model else None
    return {**summary(name), "card": card, "settings": model.settings if model else None}


def readiness() -> dict[str, Any]:
    """200 body when every configured model serves; otherwise 503 naming each failure."""
    reg = registry()
    if reg.failures:
        reasons = {name: [failure.reason] for name, failure in reg.failures.items()}
        raise ModelNotReady("Not every model is loaded.", {"models": reasons})
    return {"status": "ready", "models": {name: m.spec.version for name, m in reg.models.items()}}
