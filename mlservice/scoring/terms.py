"""The per-feature terms of an additive form, each in two forms with the same float64 arithmetic.

``term(column)`` takes a NumPy column (batches); ``term.scalar()`` is a plain-Python
function of one value, because a single row pays more for NumPy's per-call
overhead than for the arithmetic. Load-time checks compare both with the model
(``mlservice.scoring.verify``).
"""
from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from mlservice.transforms import to_float

Scalar = Callable[[Any], float]


class Term(Protocol):
    def __call__(self, column: np.ndarray) -> np.ndarray: ...

    def scalar(self) -> Scalar: ...


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
        x = to_float(column)
        binned = self.values[np.searchsorted(self.edges, x, side="right")]
        return np.where(np.isnan(x), self.missing, binned)

    def scalar(self) -> Scalar:
        """``bisect_right`` is ``searchsorted(side="right")``; None and NaN are ``missing``."""
        edges, values, missing = self.edges.tolist(), self.values.tolist(), float(self.missing)

        def step(x: Any) -> float:
            if x is None:
                return missing
            x = float(x)
            return missing if x != x else values[bisect.bisect_right(edges, x)]

        return step


@dataclass(frozen=True, eq=False)
class LinearTerm:
    """Linear in a number (standardised features): ``slope * (x - center)``."""

    slope: float
    center: float

    def __call__(self, column: np.ndarray) -> np.ndarray:
        return self.slope * (to_float(column) - self.center)

    def scalar(self) -> Scalar:
        slope, center = float(self.slope), float(self.center)
        return lambda x: slope * (float(x) - center)


@dataclass(frozen=True, eq=False)
class CategoryTerm:
    """One value per category, one for missing (``None``) and one for a category never seen."""

    table: Mapping[str, float]
    missing: float
    unseen: float

    def __call__(self, column: np.ndarray) -> np.ndarray:
        get = self.table.get
        return np.array([self.missing if v is None else get(v, self.unseen) for v in column], dtype=np.float64)

    def scalar(self) -> Scalar:
        table, missing, unseen = {k: float(v) for k, v in self.table.items()}, float(self.missing), float(self.unseen)
        return lambda v: missing if v is None else table.get(v, unseen)
