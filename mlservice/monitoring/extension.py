"""Monitoring as a Flask extension: what classifiers answered, counted off the request path.

A single-row request only appends its record and score to a queue (``observe``). A thread in
each worker wakes ten times a second, bins the inputs and scores into the sliding window of the
model that answered (``SlidingCounts``) and records each scored row in the predictions ledger,
where outcomes reported later find it. A request of ``INLINE_ROWS`` or more is recorded on its
own path instead. Scrapes read every worker's files (``collector``).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from flask import Flask, current_app, g

from mlservice.monitoring.collector import collect
from mlservice.monitoring.ledger import OUTCOME, PREDICTION, Ring, request_key
from mlservice.monitoring.reference import Reference
from mlservice.monitoring.shelf import Shelf
from mlservice.monitoring.window import SlidingCounts
from mlservice.observability import metrics
from mlservice.registry.extension import EXTENSION as REGISTRY
from mlservice.registry.model import LoadedModel

EXTENSION = "monitoring"
LOG = logging.getLogger(__name__)
#: How often each worker's thread bins what requests answered.
PERIOD = 0.1
#: Requests waiting for the thread; beyond this the oldest are not counted (the thread is stalled).
QUEUE_LIMIT = 100_000
#: Rows of one request counted for drift at most (every k-th row of a larger one): a batch costs
#: what a few single rows cost, and drift is a share, which a systematic sample estimates.
SAMPLED_ROWS = 20
#: From this many rows a request is recorded on its own path, after its answer is made, instead of by
#: the thread: the thread's turns, taken while a large request's NumPy calls had released the
#: interpreter lock, made that request wait (a 1,000-row /risk/batch lost 6 % of its rate, not the
#: 2 % the work costs). Below it, the thread's batching is the cheaper way.
INLINE_ROWS = 100
#: Requests the thread takes between two releases of the interpreter lock, so that a request
#: waiting for it waits a fraction of a millisecond, not the interpreter's 5 ms switch interval.
CHUNK = 256


class Observed(NamedTuple):
    """What a request answered, kept small: the sampled rows' inputs and every row's score.

    A batch's records and answers (two thousand dicts) are not kept past the request: held until
    the thread's next turn, they are work for the garbage collector. A batch keeps one list per
    input; a single row its record (one object, not one per input).
    """

    at: float
    request_id: str
    use_case: str
    model: LoadedModel
    sampled: Any  # a single row's record (dict), one list per input (a batch's sample), or the ColumnBatch
    step: int
    scores: Any  # P(class 1) of every row: a list (None where abstained) or an array (NaN)

    def sampled_columns(self) -> list[Any]:
        """The sampled rows' inputs, one sequence per input, in the model's column order."""
        if isinstance(self.sampled, dict):
            return [[self.sampled[f]] for f in self.model.input_fields]
        if isinstance(self.sampled, list):
            return self.sampled
        return [self.sampled[f][::self.step] for f in self.model.input_fields]


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
        self._thread_pid = 0
        app.extensions[EXTENSION] = self
        app.extensions.setdefault("collectors", []).append(self)

    def observe(self, use_case: str, model: LoadedModel, kind: str, inputs: Any, outputs: Any) -> None:
        """On the request path: the sampled rows and the scores taken, one append, and the thread started
        in a new worker."""
        score, step = self.score_outputs[use_case], -(-len(inputs) // SAMPLED_ROWS)
        if kind == "columns":
            observed = Observed(time.time(), g.get("request_id", ""), use_case, model, inputs, step, outputs[score])
        else:
            sampled = inputs[0] if len(inputs) == 1 else [[r[f] for r in inputs[::step]] for f in model.input_fields]
            scores = [answer[score] for answer in outputs]
            observed = Observed(time.time(), g.get("request_id", ""), use_case, model, sampled, step, scores)
        if len(inputs) >= INLINE_ROWS:  # a large request: recorded now (see INLINE_ROWS), not by the thread
            with self._lock:
                self._record_safely([observed])
            return
        self._queue.append(observed)
        if self._thread_pid != os.getpid():
            self._start()

    def flush(self) -> None:
        """Bin and record everything queued so far (the thread's work, done now), a chunk at a time."""
        with self._lock:
            while self._queue:
                chunk = [self._queue.popleft() for _ in range(min(CHUNK, len(self._queue)))]
                self._record_safely(chunk)
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
        threading.Thread(target=self._run, name="mlservice-monitoring", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(PERIOD)
            self.flush()

    def _record_safely(self, batch: list[Observed]) -> None:
        """``_record``, whose failure loses these counts but never fails a request or stops the thread."""
        try:
            self._record(batch)
        except Exception as error:  # noqa: BLE001 - monitoring must never cost an answer
            # The kind of error only: a message or traceback could quote an input value.
            LOG.error("monitoring: could not record %d requests (%s)", len(batch), type(error).__name__)
            metrics.record_monitoring_failure(len(batch))

    def _record(self, batch: list[Observed]) -> None:
        """Per model version: one count of the sampled rows of ``batch``, and every row into the ledger.
        Python and NumPy calls are per group, not per request: single rows are most requests."""
        groups: dict[tuple[str, str], list[Observed]] = {}
        for item in batch:
            groups.setdefault((item.use_case, item.model.spec.sha256), []).append(item)
        for items in groups.values():
            scores = _scores(items)
            self._count(items, scores)
            self.predictions[items[0].use_case].append(_prediction_entries(items, scores))

    def _count(self, items: list[Observed], scores: np.ndarray) -> None:
        """One bincount per input for the group: the sampled rows' values, joined in item order."""
        first = items[0]
        reference = self.reference(first.model)
        if reference is None:
            return
        fields = first.model.input_fields
        if all(isinstance(item.sampled, dict) for item in items):  # single rows: every row counted
            columns: list[list[Any]] = [[item.sampled[f] for item in items] for f in fields]
            sampled = scores
        else:
            columns, parts = [[] for _ in fields], []
            for item, part in _per_item(items, scores):
                for column, values in zip(columns, item.sampled_columns()):
                    column.extend(values.tolist() if isinstance(values, np.ndarray) else values)
                parts.append(part[::item.step])
            sampled = np.concatenate(parts)
        counts = reference.count(columns, sampled)
        self.window.add(self.drift_name(first.use_case, first.model), counts, items[-1].at)


def _scores(items: list[Observed]) -> np.ndarray:
    """Every row's score, in item order, as one array (NaN where the model abstained)."""
    flat: list[Any] = []
    for item in items:
        flat.extend(item.scores if isinstance(item.scores, list) else item.scores.tolist())
    return np.array(flat, dtype=np.float64)


def _per_item(items: list[Observed], scores: np.ndarray) -> Iterator[tuple[Observed, np.ndarray]]:
    start = 0
    for item in items:
        yield item, scores[start:start + len(item.scores)]
        start += len(item.scores)


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


def _prediction_entries(items: list[Observed], scores: np.ndarray) -> np.ndarray:
    """Every predicted row, built column by column (a request's rows share its key, time and version)."""
    sizes = [len(item.scores) for item in items]
    entries = np.zeros(len(scores), dtype=PREDICTION)
    entries["key"] = np.repeat(np.array([request_key(item.request_id) for item in items], dtype=np.uint64), sizes)
    entries["row"] = np.concatenate([np.arange(n) for n in sizes]) if max(sizes) > 1 else 0
    entries["at"] = np.repeat([item.at for item in items], sizes)
    entries["probability"] = scores
    entries["version"] = items[0].model.spec.version.encode()  # one group: one model version
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
