"""What the registry knows about each model, shaped for the admin endpoints."""
from __future__ import annotations

from typing import Any

from flask import current_app

from mlservice.auth import key_status
from mlservice.decisions.extension import EXTENSION as DECISIONS
from mlservice.errors import ModelNotReady, NotFound
from mlservice.registry.extension import registry
from mlservice.registry.formats import can_execute_code
from mlservice.registry.model import LoadedModel

#: Card entries left out of the API: golden examples are inputs of real people.
_PRIVATE_CARD_KEYS = {"golden"}


def list_models() -> dict[str, Any]:
    return {"models": [summary(name) for name in registry().names]}


def summary(name: str) -> dict[str, Any]:
    deployment, failure = registry().describe(name)
    default = deployment.default if deployment else None
    return {
        "name": name,
        "ready": deployment is not None,
        "version": default.spec.version if default else None,
        "sha256": default.spec.sha256 if default else None,
        **(_format(default) if default else {"format": None, "loading_runs_code": None}),
        "loaded_at": default.loaded_at if default else None,
        "canary": _version(deployment.canary, share=deployment.spec.canary_share) if deployment else None,
        "shadow": _version(deployment.shadow) if deployment else None,
        "rejected": {"reason": failure.reason, "at": failure.at} if failure else None,
    }


def _version(model: LoadedModel | None, **extra: Any) -> dict[str, Any] | None:
    if model is None:
        return None
    return {"version": model.spec.version, "sha256": model.spec.sha256, **_format(model), "loaded_at": model.loaded_at,
            **extra}


def _format(model: LoadedModel) -> dict[str, Any]:
    return {"format": model.spec.format, "loading_runs_code": can_execute_code(model.spec.format)}


def detail(name: str) -> dict[str, Any]:
    deployment, _ = registry().describe(name)
    model = deployment.default if deployment else None
    card = {k: v for k, v in model.card.raw.items() if k not in _PRIVATE_CARD_KEYS} if model else None
    return {**summary(name), "card": card, "settings": model.settings if model else None}


def readiness() -> dict[str, Any]:
    """200 while every use case serves (rejected changes listed); 503 naming any that cannot."""
    reg = registry()
    missing = {name: [reg.failures[name].reason] for name in reg.use_cases if name not in reg.deployments}
    if missing:
        raise ModelNotReady("Not every model is loaded.", {"models": missing})
    ready = {
        "status": "ready",
        "models": {name: d.default.spec.version for name, d in reg.deployments.items()},
        "rejected": {name: f.reason for name, f in reg.failures.items()},
    }
    log = current_app.extensions.get(DECISIONS)
    if log is not None:
        ready["decisions"] = log.writer.status()
    keys = key_status(current_app)
    if keys is not None:
        ready["api_keys"] = keys
    return ready


def decisions_of(request_id: str) -> dict[str, Any]:
    """Every record of one request (one per row), or 404."""
    log = current_app.extensions.get(DECISIONS)
    found = log.store.by_request(request_id) if log is not None else []
    if not found:
        raise NotFound("No decision record with that request id.")
    return {"decisions": found}
