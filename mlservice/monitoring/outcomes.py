"""Outcomes reported for earlier predictions, joined with what was predicted.

Each outcome names a request id (and the row, in a batch). It is joined with the prediction in
the ledger every worker shares or, for one the ledger no longer holds, in the decision records
when they are kept; it counts towards live quality once per row, and only within the longest
delay configured. Everything else is counted by what it was, never an error.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from mlservice.monitoring.collector import Monitored
from mlservice.monitoring.ledger import OUTCOME, request_key
from mlservice.observability import metrics

#: What became of a reported outcome.
RESULTS = ("accepted", "duplicate", "unknown", "late", "abstained")
#: A prediction as joined: (time, probability (NaN: abstained), version).
Prediction = tuple[float, float, bytes]
#: The predictions of a request id kept elsewhere (decision records): row -> Prediction.
Recorded = Callable[[str], dict[int, Prediction]]


def receive(monitor: Monitored, use_case: str, name: str, items: list[dict[str, Any]],
            recorded: Recorded | None = None) -> dict[str, int]:
    monitor.flush()  # this worker's latest predictions into the ledger first
    now = time.time()
    wanted = [(request_key(item["request_id"]), int(item["row"])) for item in items]
    predicted = _predictions(monitor.predictions[use_case].everyone(), wanted)
    if recorded is not None:
        _from_records(items, wanted, predicted, recorded)
    seen = _reported(monitor.outcomes[use_case].everyone(), wanted)
    tally: Counter[str] = Counter({result: 0 for result in RESULTS})
    accepted = []
    for item, key in zip(items, wanted):
        result = _judge(key, predicted.get(key), seen, now - monitor.max_delay)
        tally[result] += 1
        if result == "accepted":
            seen.add(key)
            accepted.append((*key, *predicted[key], bool(item["outcome"])))
    if accepted:
        monitor.outcomes[use_case].append(_entries(accepted, now))
    for result, count in tally.items():
        metrics.record_outcomes(name, result, count)
    return dict(tally)


def _judge(key: tuple[int, int], prediction: Prediction | None, seen: set, oldest: float) -> str:
    if key in seen:
        return "duplicate"
    if prediction is None:
        return "unknown"
    at, probability, _ = prediction
    if at < oldest:
        return "late"
    return "abstained" if probability != probability else "accepted"


def _from_records(items: list[dict[str, Any]], wanted: list[tuple[int, int]],
                  predicted: dict[tuple[int, int], Prediction], recorded: Recorded) -> None:
    """What the ledger no longer holds, from the records: one look-up per request id."""
    looked_up: dict[str, dict[int, Prediction]] = {}
    for item, key in zip(items, wanted):
        if key not in predicted:
            rid = item["request_id"]
            rows = looked_up[rid] if rid in looked_up else looked_up.setdefault(rid, recorded(rid))
            if key[1] in rows:
                predicted[key] = rows[key[1]]


def _entries_of(ledger: np.ndarray, wanted: list[tuple[int, int]]) -> np.ndarray:
    """The ledger's entries of the wanted requests (any row): the only ones that become Python objects."""
    keys = np.fromiter((k for k, _ in wanted), dtype=np.uint64, count=len(wanted))
    return ledger[np.isin(ledger["key"], keys)]


def _predictions(ledger: np.ndarray, wanted: list[tuple[int, int]]) -> dict[tuple[int, int], Prediction]:
    """The latest prediction of each wanted (request, row) found in the ledger."""
    hits = _entries_of(ledger, wanted)
    hits = hits[np.argsort(hits["at"], kind="stable")]
    return {(int(h["key"]), int(h["row"])): (float(h["at"]), float(h["probability"]), bytes(h["version"]))
            for h in hits}


def _reported(outcomes: np.ndarray, wanted: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of the wanted (request, row) already have an outcome."""
    hits = _entries_of(outcomes, wanted)
    return set(zip(hits["key"].tolist(), hits["row"].tolist()))


def _entries(accepted: list[tuple], now: float) -> np.ndarray:
    entries = np.zeros(len(accepted), dtype=OUTCOME)
    for i, (key, row, at, probability, version, outcome) in enumerate(accepted):
        entries[i] = (key, row, at, now, probability, outcome, version)
    return entries
