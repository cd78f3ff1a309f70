"""Live counts over a sliding window: one row of counts per slot of time, per worker.

A window of ``seconds`` is cut into ``slots``; each row starts with the number of the slot it
holds (time // slot length) and is zeroed when a later slot reuses it. The window's counts are
the rows of every worker whose slot lies within the last ``slots``: summed across workers, so a
scrape of any worker sees the whole replica.
"""
from __future__ import annotations

import numpy as np

from mlservice.monitoring.shelf import Shelf


class SlidingCounts:
    def __init__(self, shelf: Shelf, seconds: float, slots: int) -> None:
        self.shelf = shelf
        self.slots = slots
        self.slot_seconds = seconds / slots

    def add(self, name: str, counts: np.ndarray, now: float) -> None:
        array = self.shelf.mine(name, np.int64, (self.slots, 1 + len(counts)))
        slot = int(now // self.slot_seconds)
        row = array[slot % self.slots]
        if row[0] != slot:
            row[1:] = 0
            row[0] = slot
        row[1:] += counts

    def total(self, name: str, width: int, now: float) -> np.ndarray:
        """The window's counts across every worker (zeros when nothing was counted)."""
        current = int(now // self.slot_seconds)
        total = np.zeros(width, dtype=np.int64)
        for array in self.shelf.everyone(name):
            if array.shape[1] != width + 1:
                continue
            recent = (array[:, 0] > current - self.slots) & (array[:, 0] <= current)
            total += array[recent, 1:].sum(axis=0)
        return total
