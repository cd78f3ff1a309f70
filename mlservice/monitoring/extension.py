"""Monitoring as a Flask extension: what classifiers answered, counted off the request path.

A request only appends what it answered to a queue (``observe``). A thread in each worker
wakes every half second, bins the inputs and scores into the sliding window of the model that
answered (``SlidingCounts``) and records each scored row in the predictions ledger, where
outcomes reported later find it. Scrapes read every worker's files (``collector``).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from flask import Flask, current_app, g

from mlservice.monitoring.collector import collect
from mlservice.monitoring.ledger import OUTCOME, PREDICTION, Ring, request_key
from mlservice.monitoring.reference import Reference
from mlservice.monitoring.shelf import Shelf
from mlservice.monitoring.window import SlidingCounts
from mlservice.registry.extension import EXTENSION as REGISTRY
from mlservice.registry.model import LoadedModel

EXTENSION = "monitoring"
LOG = logging.getLogger(__name__)
#: How often each worker's thread bins what requests answered.
PERIOD = 0.5
#: Requests waiting for the thread; beyond this the oldest are not counted (the thread is stalled).
QUEUE_LIMIT = 100_000


class Observed(NamedTuple):
    """What a request answered, as the service had it: turned into columns and scores by the thread."""

    at: float
    request_id: str
    use_case: str
    model: LoadedModel
    kind: str  # "rows": inputs are records, outputs one answer each; "columns": a ColumnBatch and one answer
    inputs: Any
    outputs: Any
    score: str  # the output holding P(class 1)

    def columns(self) -> list[Any]:
        """A columnar batch's inputs, one sequence each, in the model's column order."""
        return [self.inputs[f] for f in self.model.input_fields]

    def scores(self) -> np.ndarray:
        """P(class 1) per row; NaN where the model abstained."""
        if self.kind == "columns":
            return np.asarray(self.outputs[self.score], dtype=np.float64)
        return np.array([np.nan if a[self.score] is None else a[self.score] for a in self.outputs], dtype=np.float64)


class Monitor:
    """Per worker: the queue, the thread, this worker's windows and ledgers; and the readers of all."""

    def init_app(self, app: Flask, score_outputs: dict[str, str]) -> None:
        """``score_outputs``: per monitored use case, the output holding P(class 1)."""
        if not app.config["MONITORING_ENABLED"]:
            return
        config = app.config
        self.score_outputs = dict(score_outputs)
        use_cases = list(score_outputs)
        self.shelf = Shelf(monitoring_folder())
        self.window = SlidingCounts(self.shelf, float(config["MONITORING_DRIFT_WINDOW_SECONDS"]),
                                    int(config["MONITORING_DRIFT_SLOTS"]))
        self.quality_seconds = float(config["MONITORING_QUALITY_WINDOW_SECONDS"])
        self.max_delay = float(config["MONITORING_OUTCOME_MAX_DELAY_SECONDS"])
        self.predictions = {u: Ring(self.shelf, f"predictions-{u}", PREDICTION,
                                    int(config["MONITORING_PREDICTIONS_KEPT"]), clock="at") for u in use_cases}
        self.outcomes = {u: Ring(self.shelf, f"outcomes-{u}", OUTCOME, int(config["MONITORING_OUTCOMES_KEPT"]),
                                 clock="received") for u in use_cases}
        self.registry = app.extensions[REGISTRY]
        self._references: dict[str, Reference | None] = {}
        self._queue: deque[Observed] = deque(maxlen=QUEUE_LIMIT)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._thread_pid = 0
        app.extensions[EXTENSION] = self
        app.extensions.setdefault("collectors", []).append(self)

    def observe(self, use_case: str, model: LoadedModel, kind: str, inputs: Any, outputs: Any) -> None:
        """On the request path: one append, and the thread started in a new worker."""
        self._queue.append(Observed(time.time(), g.get("request_id", ""), use_case, model, kind, inputs, outputs,
                                    self.score_outputs[use_case]))
        if self._thread_pid != os.getpid():
            self._start()

    def flush(self) -> None:
        """Bin and record everything queued so far (the thread's work, done now)."""
        with self._lock:
            batch = []
            while self._queue:
                batch.append(self._queue.popleft())
            self._record(batch)

    def reference(self, model: LoadedModel) -> Reference | None:
        """The model's training reference from its card, or None (a card from before references)."""
        digest = model.spec.sha256
        if digest not in self._references:
            self._references[digest] = _reference_of(model)
        return self._references[digest]

    def drift_name(self, use_case: str, model: LoadedModel) -> str:
        return f"drift-{use_case}-{model.spec.sha256[:16]}"

    def collect(self) -> Any:
        return collect(self)

    def _start(self) -> None:
        self._thread_pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="mlservice-monitoring", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(PERIOD)
            try:
                self.flush()
            except Exception as error:  # noqa: BLE001 - monitoring must never take a worker down
                # The kind of error only: a message or traceback could quote an input value.
                LOG.error("monitoring: could not record a batch (%s)", type(error).__name__)

    def _record(self, batch: list[Observed]) -> None:
        """Per model, one count of every row in ``batch`` (single rows cost a bincount per input per
        batch, not per request), then the predictions ledger of each use case."""
        scored = [(item, item.scores()) for item in batch]
        groups: dict[tuple[str, str], list[tuple[Observed, np.ndarray]]] = {}
        for item, scores in scored:
            groups.setdefault((item.use_case, item.model.spec.sha256), []).append((item, scores))
        for group in groups.values():
            self._count(group)
        by_use_case: dict[str, list[tuple[Observed, np.ndarray]]] = {}
        for item, scores in scored:
            by_use_case.setdefault(item.use_case, []).append((item, scores))
        for use_case, items in by_use_case.items():
            self.predictions[use_case].append(_prediction_entries(items))

    def _count(self, group: list[tuple[Observed, np.ndarray]]) -> None:
        first = group[0][0]
        reference = self.reference(first.model)
        if reference is None:
            return
        rows = [item for item, _ in group if item.kind == "rows"]
        counts = np.zeros(reference.width, dtype=np.int64)
        if rows:
            columns = [[record[f] for item in rows for record in item.inputs] for f in first.model.input_fields]
            scores = np.concatenate([s for item, s in group if item.kind == "rows"])
            counts += reference.count(columns, scores)
        for item, scores in group:
            if item.kind == "columns":
                counts += reference.count(item.columns(), scores)
        self.window.add(self.drift_name(first.use_case, first.model), counts, group[-1][0].at)


def _reference_of(model: LoadedModel) -> Reference | None:
    entry = model.card.raw.get("reference")
    if entry is None:
        return None
    try:
        return Reference.from_card(entry, model.input_fields)
    except (KeyError, TypeError, ValueError) as error:  # the model serves; only its drift is not measured
        LOG.warning("monitoring: %s %s has an unusable reference in its card (%s); no drift for it",
                    model.spec.name, model.spec.version, error)
        return None


def _prediction_entries(scored: list[tuple[Observed, np.ndarray]]) -> np.ndarray:
    entries = np.zeros(sum(len(scores) for _, scores in scored), dtype=PREDICTION)
    start = 0
    for item, scores in scored:
        part = entries[start:start + len(scores)]
        part["key"] = request_key(item.request_id)
        part["row"] = np.arange(len(scores))
        part["at"] = item.at
        part["probability"] = scores
        part["version"] = item.model.spec.version.encode()
        start += len(scores)
    return entries


def monitoring_folder() -> str | None:
    """Beside the metrics files when workers share them, else None (one process, arrays in memory)."""
    metrics = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return str(Path(metrics) / "monitoring") if metrics else None


def observe(use_case: str, model: LoadedModel, kind: str, inputs: Any, outputs: Any) -> None:
    """Hand what a request answered to the monitor (nothing when monitoring is off)."""
    monitor = current_app.extensions.get(EXTENSION)
    if monitor is not None:
        monitor.observe(use_case, model, kind, inputs, outputs)
