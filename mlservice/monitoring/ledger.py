"""Bounded ledgers every worker shares: recent predictions (to join outcomes with) and outcomes.

Each worker appends to its own ring of fixed capacity; the oldest entries are overwritten.
Request ids are kept as a 64-bit hash, never in clear; the ledgers hold no input values.
"""
from __future__ import annotations

import hashlib

import numpy as np

from mlservice.monitoring.shelf import Shelf

PREDICTION = np.dtype([("key", "u8"), ("row", "i4"), ("at", "f8"), ("probability", "f8"), ("version", "S32")])
OUTCOME = np.dtype([("key", "u8"), ("row", "i4"), ("predicted_at", "f8"), ("received", "f8"),
                    ("probability", "f8"), ("outcome", "i1"), ("version", "S32")])


def request_key(request_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(request_id.encode(), digest_size=8).digest(), "little")


class Ring:
    """This worker's ring of ``capacity`` entries of ``dtype`` under ``name``, and everyone's."""

    def __init__(self, shelf: Shelf, name: str, dtype: np.dtype, capacity: int, clock: str) -> None:
        self.shelf, self.name, self.dtype, self.capacity, self.clock = shelf, name, dtype, capacity, clock
        self._array: np.ndarray | None = None
        self._next = 0

    def append(self, entries: np.ndarray) -> None:
        array = self.shelf.mine(self.name, self.dtype, (self.capacity,))
        if array is not self._array:  # new (start at 0, touching no page), or adopted: after its newest entry
            adopted = self.name in self.shelf.adopted
            self._array, self._next = array, int(np.argmax(array[self.clock])) + 1 if adopted else 0
        entries = entries[-self.capacity:]
        start = self._next % self.capacity
        first = min(len(entries), self.capacity - start)
        array[start:start + first] = entries[:first]
        array[:len(entries) - first] = entries[first:]
        self._next = start + len(entries)

    def everyone(self) -> np.ndarray:
        """Every worker's entries written so far, as one array (unordered)."""
        parts = [a[a["key"] != 0] for a in self.shelf.everyone(self.name) if a.dtype == self.dtype]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=self.dtype)
