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
#: Rows of one request counted for drift at most (every k-th row of a larger one): a batch costs the
#: thread what a few single rows cost, and drift is a share, which a systematic sample estimates.
SAMPLED_ROWS = 100
#: Requests the thread takes between two releases of the interpreter lock, so that a request
#: waiting for it waits a fraction of a millisecond, not the interpreter's 5 ms switch interval.
CHUNK = 64


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

    def sampled_columns(self) -> list[Any]:
        """The inputs of the sampled rows (``sampled``), one sequence per input in the model's column order."""
        step = self.step()
        if self.kind == "columns":
            return [self.inputs[f][::step] for f in self.model.input_fields]
        records = self.inputs[::step]
        return [[record[f] for record in records] for f in self.model.input_fields]

    def step(self) -> int:
        return -(-len(self.inputs) // SAMPLED_ROWS)

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
        """Bin and record everything queued so far (the thread's work, done now), a chunk at a time."""
        with self._lock:
            while self._queue:
                chunk = [self._queue.popleft() for _ in range(min(CHUNK, len(self._queue)))]
                self._record(chunk)
                time.sleep(0)  # let a request thread have the interpreter lock between chunks

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
        """Per model, one count of the sampled rows of ``batch``; then every row in the predictions ledger."""
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
        """One bincount per input for the whole group: the sampled rows' values, joined."""
        first = group[0][0]
        reference = self.reference(first.model)
        if reference is None:
            return
        columns: list[list[Any]] = [[] for _ in first.model.input_fields]
        scores = []
        for item, item_scores in group:
            for column, values in zip(columns, item.sampled_columns()):
                column.extend(values.tolist() if isinstance(values, np.ndarray) else values)
            scores.append(item_scores[::item.step()])
        counts = reference.count(columns, np.concatenate(scores))
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
    """Every predicted row, built column by column (a request's rows share its key, time and version)."""
    sizes = [len(scores) for _, scores in scored]
    entries = np.zeros(sum(sizes), dtype=PREDICTION)
    entries["key"] = np.repeat(np.array([request_key(item.request_id) for item, _ in scored], dtype=np.uint64), sizes)
    entries["row"] = np.concatenate([np.arange(n) for n in sizes]) if max(sizes) > 1 else 0
    entries["at"] = np.repeat([item.at for item, _ in scored], sizes)
    entries["probability"] = np.concatenate([scores for _, scores in scored])
    entries["version"] = np.repeat([item.model.spec.version.encode() for item, _ in scored], sizes)
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
