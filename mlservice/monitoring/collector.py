"""What a scrape reads: drift over the window and live quality over outcomes, for every model a
use case serves (default, canary, shadow), summed over every worker of the replica."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
from prometheus_client.core import GaugeMetricFamily

from mlservice.monitoring.ledger import Ring
from mlservice.monitoring.quality import quality
from mlservice.monitoring.reference import Reference
from mlservice.monitoring.shelf import Shelf
from mlservice.monitoring.window import SlidingCounts
from mlservice.registry.model import LoadedModel


class Monitored(Protocol):
    """What scrapes and outcome reports use of ``extension.Monitor`` (which imports this module, not the reverse)."""

    registry: Any
    shelf: Shelf
    window: SlidingCounts
    quality_seconds: float
    max_delay: float
    predictions: dict[str, Ring]
    outcomes: dict[str, Ring]

    def reference(self, model: LoadedModel) -> Reference | None: ...

    def drift_name(self, use_case: str, model: LoadedModel) -> str: ...

    def flush(self) -> None: ...

MODEL = ["model", "version"]
INPUT = ["model", "version", "input"]


def collect(monitor: Monitored) -> Iterator[GaugeMetricFamily]:
    now = time.time()
    families = _families()
    for use_case, deployment in sorted(monitor.registry.deployments.items()):
        if use_case not in monitor.predictions:
            continue
        for model in deployment.models():
            labels = [model.spec.name, model.spec.version]
            _drift(monitor, use_case, model, labels, families, now)
            _card_metrics(model.card.raw.get("metrics") or {}, labels, families)
        _quality(monitor, use_case, deployment, families, now)
    monitor.shelf.remove_stale(older_than=max(monitor.window.slot_seconds * monitor.window.slots,
                                              monitor.quality_seconds))
    yield from families.values()


def _families() -> dict[str, GaugeMetricFamily]:
    specs = [
        ("input_psi", "mlservice_drift_input_psi", "Population stability index of an input over the drift window "
         "against the card's training reference (0: same distribution; above 0.2: a large shift).", INPUT),
        ("input_ks", "mlservice_drift_input_ks", "Kolmogorov-Smirnov statistic of a number input over the drift "
         "window against training, from the binned distributions (a lower bound of the exact statistic).", INPUT),
        ("score_psi", "mlservice_drift_score_psi", "Population stability index of the model's scores over the "
         "drift window against its scores on the training rows (abstentions not counted).", MODEL),
        ("score_ks", "mlservice_drift_score_ks", "Binned Kolmogorov-Smirnov statistic of the scores over the "
         "drift window against training.", MODEL),
        ("rows", "mlservice_drift_window_rows", "Rows behind the drift gauges: predictions in the window.", MODEL),
        ("outcomes", "mlservice_live_outcomes", "Outcomes joined with their predictions over the quality window.",
         MODEL),
        ("positives", "mlservice_live_positive_outcomes", "Of those, positive outcomes (defaulted; confirmed).",
         MODEL),
        ("auc", "mlservice_live_roc_auc", "ROC AUC of the predictions against their outcomes over the quality "
         "window (absent until both outcomes were seen).", MODEL),
        ("brier", "mlservice_live_brier_score", "Brier score (mean squared error of the probability) over the "
         "quality window.", MODEL),
        ("ece", "mlservice_live_calibration_error", "Expected calibration error over the quality window (10 "
         "equal-width probability bins).", MODEL),
        ("cv_auc", "mlservice_model_cv_roc_auc", "The card's cross-validated ROC AUC (what live AUC is held to).",
         MODEL),
        ("cv_brier", "mlservice_model_cv_brier_score", "The card's cross-validated Brier score.", MODEL),
    ]
    return {key: GaugeMetricFamily(name, doc, labels=labels) for key, name, doc, labels in specs}


def _drift(monitor: Monitored, use_case: str, model: LoadedModel, labels: list[str],
           families: dict[str, GaugeMetricFamily], now: float) -> None:
    reference = monitor.reference(model)
    if reference is None:
        return
    counts = monitor.window.total(monitor.drift_name(use_case, model), reference.width, now)
    rows = int(counts[:reference.bins[0].size].sum())
    families["rows"].add_metric(labels, rows)
    if rows == 0:
        return
    *inputs, score = reference.drift(counts)
    for name, drift in zip(reference.inputs, inputs):
        families["input_psi"].add_metric([*labels, name], drift.psi)
        if drift.ks is not None:
            families["input_ks"].add_metric([*labels, name], drift.ks)
    families["score_psi"].add_metric(labels, score.psi)
    families["score_ks"].add_metric(labels, score.ks or 0.0)


def _card_metrics(metrics: dict, labels: list[str], families: dict[str, GaugeMetricFamily]) -> None:
    model = metrics.get("model") or {}
    if "roc_auc" in model:
        families["cv_auc"].add_metric(labels, model["roc_auc"]["mean"])
    if "brier_score" in model:
        families["cv_brier"].add_metric(labels, model["brier_score"]["mean"])


def _quality(monitor: Monitored, use_case: str, deployment: Any, families: dict[str, GaugeMetricFamily],
             now: float) -> None:
    outcomes = first_outcomes(monitor.outcomes[use_case].everyone())
    outcomes = outcomes[outcomes["received"] > now - monitor.quality_seconds]
    name = deployment.default.spec.name
    for version in sorted(set(outcomes["version"].tolist())):
        mine = outcomes[outcomes["version"] == version]
        measured = quality(mine["outcome"], mine["probability"])
        labels = [name, version.decode()]
        families["outcomes"].add_metric(labels, measured.outcomes)
        families["positives"].add_metric(labels, measured.positives)
        if measured.roc_auc is not None:
            families["auc"].add_metric(labels, measured.roc_auc)
        families["brier"].add_metric(labels, measured.brier_score)
        families["ece"].add_metric(labels, measured.calibration_error)


def first_outcomes(outcomes: np.ndarray) -> np.ndarray:
    """One outcome per predicted row: the first received (two workers may accept the same one at once)."""
    order = np.argsort(outcomes["received"], kind="stable")
    ordered = outcomes[order]
    _, first = np.unique(np.stack([ordered["key"], ordered["row"].astype(np.uint64)], axis=1), axis=0,
                         return_index=True)
    return ordered[np.sort(first)]
