"""Fixed bins for one input or the score: the same code cuts the training data into the card and
live traffic at serve time, so the two are compared bin for bin.

A number falls in bin ``i`` when ``edges[i-1] <= value < edges[i]`` (``edges`` are the training
deciles, ties merged); a category in its own bin, an unseen one in ``other``. Missing values have
the last bin. Counts are stored, not shares, so the card says how many rows stand behind them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Quantile bins per number: deciles, the usual resolution of the population stability index.
BINS = 10


@dataclass(frozen=True)
class NumberBins:
    """Bins between the training quantiles ``edges``, then missing."""

    edges: np.ndarray

    @property
    def size(self) -> int:
        return len(self.edges) + 2

    def index(self, values: Sequence[Any] | np.ndarray) -> np.ndarray:
        numbers = _floats(values)
        index = np.searchsorted(self.edges, numbers, side="right")
        index[np.isnan(numbers)] = self.size - 1
        return index

    def card_entry(self) -> dict[str, Any]:
        return {"type": "number", "edges": self.edges.tolist()}


@dataclass(frozen=True)
class CategoryBins:
    """One bin per training category, then ``other`` (a category training never saw), then missing."""

    categories: tuple[str, ...]
    _position: dict[Any, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        position = {c: i for i, c in enumerate(self.categories)} | {None: len(self.categories) + 1}
        object.__setattr__(self, "_position", position)

    @property
    def size(self) -> int:
        return len(self.categories) + 2

    def index(self, values: Sequence[Any] | np.ndarray) -> np.ndarray:
        other = len(self.categories)
        position = self._position
        return np.array([position.get(v, other) for v in values], dtype=np.intp)

    def card_entry(self) -> dict[str, Any]:
        return {"type": "categorical", "categories": list(self.categories)}


Bins = NumberBins | CategoryBins


def cut(values: Sequence[Any] | np.ndarray, categorical: bool) -> Bins:
    """The bins of a training column: deciles of its numbers, or its categories."""
    if categorical:
        return CategoryBins(tuple(sorted({v for v in values if v is not None})))
    numbers = _floats(values)
    present = numbers[~np.isnan(numbers)]
    return NumberBins(np.unique(np.quantile(present, np.arange(1, BINS) / BINS)))


def counts(bins: Bins, values: Sequence[Any] | np.ndarray) -> np.ndarray:
    return np.bincount(bins.index(values), minlength=bins.size)


def from_card(entry: dict[str, Any]) -> Bins:
    if entry["type"] == "categorical":
        return CategoryBins(tuple(entry["categories"]))
    return NumberBins(np.asarray(entry["edges"], dtype=np.float64))


def _floats(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Numbers as float64 with NaN for missing (``None`` in rows, NaN in columns): NumPy turns ``None``
    into NaN itself when it is asked for floats."""
    return np.asarray(values, dtype=np.float64)
