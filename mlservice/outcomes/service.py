"""Outcomes go to the monitor of this app, joined with the decision records when they are kept;
without monitoring, or a model, there is nothing to join."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app

from mlservice.decisions.extension import EXTENSION as DECISIONS
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
    log = current_app.extensions.get(DECISIONS)
    recorded = None if log is None else lambda rid: _recorded(log.store, use_case, monitor.score_outputs[use_case], rid)
    return outcomes.receive(monitor, use_case, deployment.default.spec.name, items, recorded)


def _recorded(store: Any, use_case: str, score: str, request_id: str) -> dict[int, outcomes.Prediction]:
    """The served (not shadow) predictions of ``request_id`` in the decision records, by row."""
    found = {}
    for record in store.by_request(request_id):
        if record["use_case"] == use_case and record["role"] != "shadow":
            probability = record["outputs"].get(score)
            found[record["row"]] = (datetime.fromisoformat(record["at"]).timestamp(),
                                    float("nan") if probability is None else float(probability),
                                    record["version"].encode())
    return found
