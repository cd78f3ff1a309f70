"""Prometheus metrics that stay correct across gunicorn workers.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``deploy/gunicorn.conf.py`` sets and wipes
it before any worker starts), each worker writes its samples to files there and
``/metrics`` adds them up, so a scrape counts every request once whichever worker
answered it. Without it (unit tests, one process) the in-process registry is used.

Label values are bounded on purpose: endpoints are URL rules, never raw paths,
and methods outside the usual few are lumped together, so a client cannot create
new time series.
"""
from __future__ import annotations

import functools
import os
from collections import Counter as Tally
from typing import Any

from flask import Response, current_app
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

UNMATCHED = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "mlservice_http_requests_total", "Requests answered, by URL rule, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "mlservice_http_request_duration_seconds", "Time in the app per request, by URL rule, method and status.",
    ["endpoint", "method", "status"], buckets=_BUCKETS,
)
PREDICTIONS = Counter("mlservice_predictions_total", "Rows predicted, by model and version.", ["model", "version"])
MODEL_LOADS = Counter(
    "mlservice_model_loads_total", "Model loads by outcome (ok or refused).", ["model", "version", "outcome"],
)
SWAPS_REJECTED = Counter("mlservice_model_swaps_rejected_total", "Config changes refused; the old model kept serving.", ["model"])
MODEL_READY = Gauge(
    "mlservice_model_ready", "1 when every live worker serves a model for this name, else 0.", ["model"],
    multiprocess_mode="livemin",
)


AUTH_FAILURES = Counter(
    "mlservice_auth_failures_total", "Requests refused by authentication, by reason (missing, unknown, scope).",
    ["reason"],
)
OOD_WARNINGS = Counter(
    "mlservice_ood_warnings_total",
    "Input fields outside what the model was trained on, by model and field (values are never recorded).",
    ["model", "field"],
)
SHADOW_PREDICTIONS = Counter(
    "mlservice_shadow_predictions_total",
    "Mirrored requests by shadow version and outcome (agree, disagree, error).",
    ["model", "version", "outcome"],
)
SHADOW_LATENCY = Histogram(
    "mlservice_shadow_latency_seconds", "Time the shadow version took per mirrored request.", ["model", "version"]
)
MODEL_INFO = Gauge(
    "mlservice_model_info",
    "1 for each model version a live worker serves, by name, version, digest (first 12 hex of the pin) and role "
    "(default, canary, shadow); 0 once no worker serves it.", ["model", "version", "digest", "role"],
    multiprocess_mode="livemax",
)
SWAPS = Counter(
    "mlservice_model_swaps_total",
    "Config changes applied or refused, by model, outcome and reason, counted by each worker that acted on them.",
    ["model", "outcome", "reason"],
)
FETCH_FAILURES = Counter(
    "mlservice_artifact_fetch_failures_total",
    "Artifacts named by URL that could not be fetched, by model and reason (unreachable, timeout, missing, "
    "partial, too_large, digest_mismatch, cache, error).", ["model", "reason"],
)
DECISIONS = Counter(
    "mlservice_decision_records_total",
    "Decision records by what became of them: written to the store, spooled to disk (store away), or dropped "
    "(spool full).", ["outcome"],
)
OUTCOMES = Counter(
    "mlservice_outcomes_total",
    "Outcomes reported for earlier predictions, by what became of them: accepted (joined, counted in live "
    "quality), duplicate, unknown (no such prediction in the ledger), late (prediction older than the "
    "longest delay), abstained (the model gave no probability).", ["model", "result"],
)
MONITORING_FAILURES = Counter(
    "mlservice_monitoring_failures_total",
    "Requests monitoring could not count (an error while binning them; the answers were not affected).",
)
KEYS_RELOADS = Counter("mlservice_api_keys_reloads_total", "Reloads of the API keys file, by outcome.", ["outcome"])
KEYS_LOADED = Gauge("mlservice_api_keys_loaded", "API keys each worker checks against (min over live workers).",
                    multiprocess_mode="livemin")


def record_auth_failure(reason: str) -> None:
    AUTH_FAILURES.labels(reason).inc()


def record_keys_reload(outcome: str) -> None:
    KEYS_RELOADS.labels(outcome).inc()


def set_keys_loaded(count: int) -> None:
    KEYS_LOADED.set(count)


def method_label(method: str) -> str:
    """The request method, or ``OTHER`` for anything a client made up."""
    return method if method in _METHODS else "OTHER"


def record_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    count, latency = _request_series(endpoint, method_label(method), status)
    count.inc()
    latency.observe(seconds)


@functools.lru_cache(maxsize=4096)
def _request_series(endpoint: str, method: str, status: int) -> tuple[Any, Any]:
    """The two labelled series of one (rule, method, status): ``labels()`` locks and looks
    them up on every call; the label sets are bounded, so remembering them is safe."""
    labels = (endpoint, method, str(status))
    return REQUESTS.labels(*labels), LATENCY.labels(*labels)


def record_prediction(name: str, version: str, rows: int) -> None:
    """Count ``rows`` predictions made by model ``name`` at ``version``."""
    _prediction_series(name, version).inc(rows)


@functools.lru_cache(maxsize=4096)
def _prediction_series(name: str, version: str) -> Any:
    """As ``_request_series``: configured names and versions are few."""
    return PREDICTIONS.labels(name, version)


def count_warnings(model: str, flags: list[list[dict[str, Any]]]) -> None:
    """Add a request's out-of-range flags, per field (names are bounded: schema fields)."""
    for name, k in Tally(flag["field"] for row in flags for flag in row).items():
        OOD_WARNINGS.labels(model, name).inc(k)


def record_shadow(name: str, version: str, outcome: str, seconds: float) -> None:
    SHADOW_LATENCY.labels(name, version).observe(seconds)
    SHADOW_PREDICTIONS.labels(name, version, outcome).inc()


#: The (model, version, digest, role) series this process last published as served.
_served: set[tuple[str, str, str, str]] = set()


def set_models_served(series: set[tuple[str, str, str, str]]) -> None:
    """Publish what this process serves: 1 for each series in ``series``, 0 for those it no longer serves."""
    for labels in _served - series:
        MODEL_INFO.labels(*labels).set(0)
    for labels in series:
        MODEL_INFO.labels(*labels).set(1)
    _served.clear()
    _served.update(series)


def start_counting(names: list[str], refusal_kinds: tuple[str, ...], fetch_reasons: tuple[str, ...]) -> None:
    """Every refusal and fetch-failure series at 0 from the start: ``increase()`` sees a first refusal,
    which it cannot on a series that appears already at 1."""
    for name in names:
        for kind in refusal_kinds:
            SWAPS.labels(name, "refused", kind)
        for reason in fetch_reasons:
            FETCH_FAILURES.labels(name, reason)


def record_swap(name: str, outcome: str, reason: str) -> None:
    """``outcome``: applied or refused; ``reason``: one word from a fixed list (``registry.refusals``)."""
    SWAPS.labels(name, outcome, reason).inc()


def record_decisions_written(count: int) -> None:
    DECISIONS.labels("written").inc(count)


def record_decisions_spooled(count: int) -> None:
    DECISIONS.labels("spooled").inc(count)


def record_decisions_dropped(count: int) -> None:
    DECISIONS.labels("dropped").inc(count)


def record_outcomes(name: str, result: str, count: int) -> None:
    OUTCOMES.labels(name, result).inc(count)


def record_monitoring_failure(requests: int) -> None:
    MONITORING_FAILURES.inc(requests)


def record_fetch_failure(name: str, reason: str) -> None:
    FETCH_FAILURES.labels(name, reason).inc()


def record_model_load(name: str, version: str, ok: bool) -> None:
    """Called by the registry after each attempt to load a model."""
    MODEL_LOADS.labels(name, version, "ok" if ok else "refused").inc()


def record_swap_rejected(name: str) -> None:
    """Called by the registry when a config change is refused and the old model stays."""
    SWAPS_REJECTED.labels(name).inc()


def set_model_ready(name: str, ready: bool) -> None:
    """Called by the registry whenever a name gains or loses its serving model."""
    MODEL_READY.labels(name).set(1 if ready else 0)


def view() -> Response:
    """``GET /metrics`` in the Prometheus text format, summed over every worker; then what the app's
    own collectors (``app.extensions["collectors"]``: objects with ``collect()``) read at scrape time."""
    body = generate_latest(_registry())
    collectors = current_app.extensions.get("collectors", [])
    if collectors:
        scraped = CollectorRegistry(auto_describe=False)
        for collector in collectors:
            scraped.register(collector)
        body += generate_latest(scraped)
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
