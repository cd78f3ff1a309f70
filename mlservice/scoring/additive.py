"""The additive form of a linear-logit model: log-odds = base + one term per feature.

Built once per model at load (``mlservice.scoring.linear``) and checked against
the fitted pipeline (``mlservice.scoring.verify``), so its numbers are the
model's own. No scikit-learn call: NumPy for batches, plain Python for one row
(``row_contributions``), so the classifier serves through it
(``mlservice.scoring.classifier``).

Every term is centred on the training data: a contribution is the feature's part
of the log-odds minus that part's mean over the training rows. A positive
contribution therefore means "raised the log-odds compared with a typical
training row", and ``base`` is the mean training log-odds.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlservice.scoring.terms import Scalar, Term


class NotAdditive(ValueError):
    """The model cannot be written, or is not reproduced, as a sum of per-feature terms."""


@dataclass(frozen=True, eq=False)
class AdditiveForm:
    """``logit(row) = base + sum_j terms[j](row[j])``, rows in the card's column order."""

    features: tuple[str, ...]
    terms: tuple[Term, ...]
    base: float
    #: Each term as a function of one value (``Term.scalar``), compiled once.
    scalars: tuple[Scalar, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scalars", tuple(term.scalar() for term in self.terms))

    def contributions(self, rows: Sequence[Sequence[Any]] | np.ndarray) -> tuple[float, np.ndarray]:
        """(base, n x p matrix): row i's log-odds is ``base + matrix[i].sum()``."""
        columns = _columns(rows, len(self.terms))
        if len(rows) == 0:
            return self.base, np.empty((0, len(self.terms)))
        return self.of_columns(columns)

    def of_columns(self, columns: Sequence[Any]) -> tuple[float, np.ndarray]:
        """``contributions`` from one sequence or array per feature, in the card's order (columnar batches)."""
        return self.base, np.column_stack([term(column) for term, column in zip(self.terms, columns)])

    def row_contributions(self, row: Sequence[Any]) -> list[float]:
        """One row's contributions, equal to its row of :meth:`contributions`, without NumPy's per-call cost."""
        if len(row) != len(self.scalars):
            raise ValueError(f"the row has {len(row)} values, the model takes {len(self.scalars)}")
        return [term(value) for term, value in zip(self.scalars, row)]

    def add_up(self, parts: Sequence[float]) -> float:
        """One row's log-odds: ``base`` plus its contributions, added left to right."""
        z = self.base
        for part in parts:
            z += part
        return z

    def logit(self, rows: Sequence[Sequence[Any]] | np.ndarray) -> np.ndarray:
        base, matrix = self.contributions(rows)
        return base + matrix.sum(axis=1)


def sigmoid(z: np.ndarray | float) -> np.ndarray:
    """1 / (1 + e^-z) without overflow warnings at large |z|."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=np.float64)))


def sigmoid_one(z: float) -> float:
    """``sigmoid`` of one float, without NumPy's per-call cost or overflow at large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _columns(rows: Sequence[Sequence[Any]] | np.ndarray, width: int) -> Sequence[Sequence[Any]]:
    """The rows' columns: a 2-D array's own, else tuples (cheaper than filling an object array)."""
    if isinstance(rows, np.ndarray) and rows.ndim == 2 and rows.shape[1] == width:
        return rows.T
    wrong = set(map(len, rows)) - {width}
    if wrong:
        raise ValueError(f"rows of {sorted(wrong)} values, the model takes {width}")
    return list(zip(*rows))
