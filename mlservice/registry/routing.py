"""Running a request on the version routed for it: a shadow sees it too, is counted, and its
answer is left on ``g.shadow_answer`` (for a decision record of role shadow).

Whatever the shadow does (fails, disagrees, is slow) never changes the response.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from flask import g

from mlservice.observability import metrics
from mlservice.registry.extension import registry
from mlservice.registry.model import LoadedModel

log = logging.getLogger(__name__)
T = TypeVar("T")


def run_routed(name: str, key: str | None, run: Callable[[LoadedModel], T], same: Callable[[T, T], bool],
               rows: int | None = None, version: str | None = None) -> tuple[T, LoadedModel]:
    """``run`` on the version routed for ``key``, mirrored to the shadow if one is set; or, with
    ``version``, on that configured version alone (a client comparing versions chose it).

    ``rows``: how many rows the request held, noted with the version that answered
    for the access log and prediction metrics; by default the length of a list
    answer, else one.
    """
    if version is None:
        model, shadow = registry().route(name, key)
    else:
        model, shadow = registry().version(name, version), None
    served = run(model)
    mirror(shadow, run, served, same)
    if rows is None:
        rows = len(served) if isinstance(served, list) else 1
    g.prediction = (model.spec.name, model.spec.version, rows)
    return served, model


def mirror(shadow: LoadedModel | None, run: Callable[[LoadedModel], T], served: T, same: Callable[[T, T], bool]) -> None:
    """Run ``run(shadow)`` and count whether it agrees with what was served."""
    if shadow is None:
        return
    start = time.perf_counter()
    try:
        answer = run(shadow)
        g.shadow_answer = (shadow, answer)
        outcome = "agree" if same(served, answer) else "disagree"
    except Exception as exc:  # noqa: BLE001 - a shadow must never fail a request
        log.error("shadow failed name=%s version=%s error=%s", shadow.spec.name, shadow.spec.version, type(exc).__name__)
        outcome = "error"
    metrics.record_shadow(shadow.spec.name, shadow.spec.version, outcome, time.perf_counter() - start)
