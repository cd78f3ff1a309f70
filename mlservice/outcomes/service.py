"""Outcomes go to the monitor of this app; without monitoring, or a model, there is nothing to join."""
from __future__ import annotations

from typing import Any

from flask import current_app

from mlservice.errors import ModelNotReady, NotFound
from mlservice.monitoring import outcomes
from mlservice.monitoring.extension import EXTENSION
from mlservice.registry.extension import EXTENSION as REGISTRY


def receive(use_case: str, items: list[dict[str, Any]]) -> dict[str, int]:
    monitor = current_app.extensions.get(EXTENSION)
    deployment = current_app.extensions[REGISTRY].deployments.get(use_case)
    if monitor is None or use_case not in monitor.predictions:
        raise NotFound("Monitoring is off (MONITORING_ENABLED), so outcomes have nothing to join.")
    if deployment is None:
        raise ModelNotReady(f"No model serves {use_case} yet.")
    return outcomes.receive(monitor, use_case, deployment.default.spec.name, items)
