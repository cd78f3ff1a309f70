"""Inputs outside what the model was trained on, flagged per field, never failing a request.

Built from the card's ``features``: a number below its training ``min`` or above
its ``max``, a category the training data never had, or a missing value where
training had none. Flags carry the API field name and an issue code only, never
the value. ``beyond`` names the fields whose number lies more than a given number
of training standard deviations (the card's ``std``) outside the range, for use
cases that abstain.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mlservice.issues import ABOVE, BELOW, MISSING, UNSEEN
from mlservice.registry.card import Feature, ModelCard

if TYPE_CHECKING:
    from mlservice.column_batch import ColumnBatch

#: Issue codes in a column of small integers (0: none), for the columnar checks.
CODES = {BELOW: 1, ABOVE: 2, MISSING: 3, UNSEEN: 4}
ISSUES = {code: issue for issue, code in CODES.items()}

@dataclass(frozen=True, eq=False)
class RangeCheck:
    """Training ranges and categories of each model column, under its API field name.

    Each column's checks are compiled once into plain-Python functions: a
    request has few rows and few fields, so NumPy would cost more than the
    comparisons. Batches first pick, column by column, the values that can have
    an issue at all (``suspects``), so most values cost one comparison.
    """

    fields: tuple[str, ...]
    features: tuple[Feature, ...]
    checks: tuple[Callable[[Any], str | None], ...] = field(init=False, repr=False)
    suspects: tuple[Callable[[Sequence[Any]], list[int]], ...] = field(init=False, repr=False)
    #: (column, field, min, max, std) of each number whose distance from its range can be measured.
    spans: tuple[tuple[int, str, float, float, float], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks", tuple(map(_check, self.features)))
        object.__setattr__(self, "suspects", tuple(map(_suspects, self.features)))
        object.__setattr__(self, "spans", tuple(
            (j, name, f.min, f.max, f.std) for j, (name, f) in enumerate(zip(self.fields, self.features))
            if f.type != "categorical" and None not in (f.min, f.max, f.std) and f.std > 0))

    @classmethod
    def from_card(cls, card: ModelCard, fields: Sequence[str]) -> "RangeCheck":
        """``fields``: the API name of each card feature, in card order (``LoadedModel.input_fields``)."""
        if len(fields) != len(card.features):
            raise ValueError(f"{len(fields)} field names for {len(card.features)} features")
        return cls(tuple(fields), card.features)

    def issues(self, rows: Sequence[Sequence[Any]]) -> list[list[dict[str, str]]]:
        """For each row, ``[{"field", "issue"}]`` in field order (empty when all is in range)."""
        if len(rows) == 1:
            return [[{"field": name, "issue": issue}
                     for name, check, value in zip(self.fields, self.checks, rows[0]) if (issue := check(value))]]
        flags: list[list[dict[str, str]]] = [[] for _ in rows]
        for name, check, suspects, column in zip(self.fields, self.checks, self.suspects, zip(*rows)):
            for i in suspects(column):
                if issue := check(column[i]):
                    flags[i].append({"field": name, "issue": issue})
        return flags

    def beyond(self, rows: Sequence[Sequence[Any]], limit: float) -> list[list[str]]:
        """For each row, the fields whose number lies more than ``limit`` (>= 0) training SDs outside its range."""
        _check_limit(limit)
        if len(rows) < 2:
            return [[name for j, name, low, high, std in self.spans if _far(row[j], low, high, std, limit)] for row in rows]
        far: list[list[str]] = [[] for _ in rows]
        columns = list(zip(*rows))
        for j, name, low, high, std in self.spans:  # only a value outside its range can be far from it
            column = columns[j]
            for i in self.suspects[j](column):
                if _far(column[i], low, high, std, limit):
                    far[i].append(name)
        return far

    def column_issues(self, columns: ColumnBatch) -> list[dict[str, Any]]:
        """``issues`` of rows sent as columns (float64 arrays with NaN = missing, or lists), flattened:
        ``{"index", "field", "issue"}`` by row, then field, in one vectorised pass per kind of field."""
        codes = np.zeros((len(columns), len(self.fields)), dtype=np.int8)
        numbers = [j for j, f in enumerate(self.features) if f.type != "categorical"]
        if numbers:
            x = np.column_stack([columns[self.fields[j]] for j in numbers])
            low, high = np.array([_bounds(self.features[j]) for j in numbers], dtype=np.float64).T
            strict = np.array([not self.features[j].nullable for j in numbers])
            below, above, missing = x < low, x > high, np.isnan(x) & strict
            if (below | above | missing).any():
                codes[:, numbers] = np.where(below, CODES[BELOW], np.where(above, CODES[ABOVE],
                                                                           np.where(missing, CODES[MISSING], 0)))
        for j, feature in enumerate(self.features):
            if feature.type == "categorical":
                for i in self.suspects[j](columns[self.fields[j]]):
                    if issue := self.checks[j](columns[self.fields[j]][i]):
                        codes[i, j] = CODES[issue]
        rows, where = np.nonzero(codes)  # row-major: by row, then field, as ``issues`` lists them
        return [{"index": i, "field": self.fields[j], "issue": ISSUES[c]}
                for i, j, c in zip(rows.tolist(), where.tolist(), codes[rows, where].tolist())]

    def column_beyond(self, columns: ColumnBatch, limit: float) -> tuple[list[str], np.ndarray]:
        """``beyond`` on columns: (fields, rows x fields mask) of numbers more than ``limit`` SDs outside their range."""
        _check_limit(limit)
        if not self.spans:
            return [], np.zeros((len(columns), 0), dtype=bool)
        _, names, low, high, std = (list(part) for part in zip(*self.spans))
        x = np.column_stack([columns[name] for name in names])
        return names, np.maximum(np.array(low) - x, x - np.array(high)) / np.array(std) > limit  # NaN (None): False

    def unchecked(self) -> list[str]:
        """Numeric fields whose training range or standard deviation the card does not give."""
        return [f for f, feat in zip(self.fields, self.features)
                if feat.type != "categorical" and None in (feat.min, feat.max, feat.std)]


def _check_limit(limit: float) -> None:
    if not limit >= 0:
        raise ValueError(f"the limit must be a number of SDs >= 0, not {limit}")


def _check(feature: Feature) -> Callable[[Any], str | None]:
    """The issue of one value of ``feature``, or None."""
    missing = None if feature.nullable else MISSING
    if feature.type == "categorical":
        known = frozenset(feature.categories)
        return lambda v: missing if v is None else None if v in known else UNSEEN
    low, high = _bounds(feature)
    return lambda v: missing if v is None else BELOW if v < low else ABOVE if v > high else None


def _suspects(feature: Feature) -> Callable[[Sequence[Any]], list[int]]:
    """Where in a column ``_check(feature)`` may find an issue: outside the categories or the range."""
    if feature.type == "categorical":
        known = frozenset(feature.categories)
        return lambda column: [i for i, v in enumerate(column) if v not in known]
    low, high = _bounds(feature)
    return lambda column: [i for i, v in enumerate(column) if v is None or not low <= v <= high]


def _bounds(feature: Feature) -> tuple[float, float]:
    """The training range, unbounded on a side the card does not give."""
    return (-math.inf if feature.min is None else feature.min, math.inf if feature.max is None else feature.max)


def _far(value: Any, low: float, high: float, std: float, limit: float) -> bool:
    """Whether ``value`` lies more than ``limit`` SDs outside [low, high] (a missing value does not)."""
    if value is None or low <= value <= high:  # 0 SDs away: not more than a limit >= 0
        return False
    x = float(value)
    return max(low - x, x - high) / std > limit
