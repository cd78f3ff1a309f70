"""The additive form of a linear-logit model: log-odds = base + one term per feature.

Built once per model at load (``mlservice.explain.linear``) and checked there
against the fitted pipeline, so its numbers are the model's own. Numpy only, no
scikit-learn call: it doubles as a fast prediction path (``logit``,
``predict_proba``).

Every term is centred on the training data: a contribution is the feature's part
of the log-odds minus that part's mean over the training rows. A positive
contribution therefore means "raised the log-odds compared with a typical
training row", and ``base`` is the mean training log-odds.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


class NotAdditive(ValueError):
    """The model cannot be written, or is not reproduced, as a sum of per-feature terms."""


class Term(Protocol):
    def __call__(self, column: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class StepTerm:
    """Piecewise constant in a number (binned features): ``values[bin]``, or ``missing``.

    A value ``x`` falls in bin ``searchsorted(edges, x, side="right")``, as in
    scikit-learn's ``KBinsDiscretizer``; ``edges`` are the inner bin edges.
    """

    edges: np.ndarray
    values: np.ndarray
    missing: float

    def __call__(self, column: np.ndarray) -> np.ndarray:
        x = _floats(column)
        binned = self.values[np.searchsorted(self.edges, x, side="right")]
        return np.where(np.isnan(x), self.missing, binned)


@dataclass(frozen=True, eq=False)
class LinearTerm:
    """Linear in a number (standardised features): ``slope * (x - center)``."""

    slope: float
    center: float

    def __call__(self, column: np.ndarray) -> np.ndarray:
        return self.slope * (_floats(column) - self.center)


@dataclass(frozen=True, eq=False)
class CategoryTerm:
    """One value per category, one for missing (``None``) and one for a category never seen."""

    table: Mapping[str, float]
    missing: float
    unseen: float

    def __call__(self, column: np.ndarray) -> np.ndarray:
        get = self.table.get
        return np.array([self.missing if v is None else get(v, self.unseen) for v in column], dtype=np.float64)


@dataclass(frozen=True, eq=False)
class AdditiveForm:
    """``logit(row) = base + sum_j terms[j](row[j])``, rows in the card's column order."""

    features: tuple[str, ...]
    terms: tuple[Term, ...]
    base: float

    def contributions(self, rows: Sequence[Sequence[Any]] | np.ndarray) -> tuple[float, np.ndarray]:
        """(base, n x p matrix): row i's log-odds is ``base + matrix[i].sum()``."""
        table = _table(rows, len(self.terms))
        if len(table) == 0:
            return self.base, np.empty((0, len(self.terms)))
        return self.base, np.column_stack([term(table[:, j]) for j, term in enumerate(self.terms)])

    def logit(self, rows: Sequence[Sequence[Any]] | np.ndarray) -> np.ndarray:
        base, matrix = self.contributions(rows)
        return base + matrix.sum(axis=1)

    def predict_proba(self, rows: Sequence[Sequence[Any]] | np.ndarray) -> np.ndarray:
        """Like scikit-learn's: column 1 is P(class 1)."""
        positive = sigmoid(self.logit(rows))
        return np.column_stack([1.0 - positive, positive])


def sigmoid(z: np.ndarray | float) -> np.ndarray:
    """1 / (1 + e^-z) without overflow warnings at large |z|."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=np.float64)))


def _floats(column: np.ndarray) -> np.ndarray:
    """Service values (int, float, ``None``) as float64, ``None`` as NaN."""
    return np.asarray(column, dtype=np.float64)


def _table(rows: Sequence[Sequence[Any]] | np.ndarray, width: int) -> np.ndarray:
    if isinstance(rows, np.ndarray) and rows.ndim == 2 and rows.shape[1] == width:
        return rows
    table = np.empty((len(rows), width), dtype=object)
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"row {i} has {len(row)} values, the model takes {width}")
        table[i] = list(row)
    return table
