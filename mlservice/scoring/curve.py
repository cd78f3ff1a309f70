"""A smooth term: a cubic B-spline of the feature's quantile transform (spline scorecards).

``value(x) = spline(u(x)) + offset`` where ``u`` is scikit-learn's
``QuantileTransformer`` (uniform output: linear interpolation between the
training quantiles, averaged over both directions for repeated quantiles) and
``spline`` is the sum of the ``SplineTransformer`` basis times its
coefficients, held constant beyond its base interval. Both forms follow NumPy's
``interp`` and de Boor's recursion, so the load-time check can hold them to 1e-9.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlservice.scoring.terms import Scalar
from mlservice.transforms import to_float


@dataclass(frozen=True, eq=False)
class SplineTerm:
    quantiles: np.ndarray
    references: np.ndarray
    knots: np.ndarray
    coef: np.ndarray
    degree: int
    offset: float
    missing: float

    def __call__(self, column: np.ndarray) -> np.ndarray:
        x = to_float(column)
        finite = np.where(np.isnan(x), self.quantiles[0], x)
        q, r = self.quantiles, self.references
        u = 0.5 * (np.interp(finite, q, r) - np.interp(-finite, -q[::-1], -r[::-1]))
        u[finite == q[-1]] = r[-1]
        u[finite == q[0]] = r[0]
        low, high = self.knots[self.degree], self.knots[-self.degree - 1]
        curve = _de_boor_columns(self.knots, self.coef, self.degree, np.minimum(np.maximum(u, low), high))
        return np.where(np.isnan(x), self.missing, curve + self.offset)

    def scalar(self) -> Scalar:
        q, r = self.quantiles.tolist(), self.references.tolist()
        nq, nr = [-v for v in reversed(q)], [-v for v in reversed(r)]
        t, c, p = self.knots.tolist(), self.coef.tolist(), self.degree
        low, high, offset, missing = t[p], t[-p - 1], float(self.offset), float(self.missing)

        def value(x: Any) -> float:
            if x is None:
                return missing
            x = float(x)
            if x != x:
                return missing
            u = r[0] if x == q[0] else r[-1] if x == q[-1] else 0.5 * (_interp(x, q, r) - _interp(-x, nq, nr))
            return _de_boor(t, c, p, min(max(u, low), high)) + offset

        return value


def _interp(x: float, xp: list[float], fp: list[float]) -> float:
    """``numpy.interp`` for one value (same bracket and formula)."""
    if x < xp[0]:
        return fp[0]
    if x >= xp[-1]:
        return fp[-1]
    j = bisect.bisect_right(xp, x) - 1
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    found = slope * (x - xp[j]) + fp[j]
    if found != found:
        found = slope * (x - xp[j + 1]) + fp[j + 1]
        if found != found and fp[j] == fp[j + 1]:
            found = fp[j]
    return found


def _de_boor(t: list[float], c: list[float], p: int, x: float) -> float:
    """The spline ``sum c[i] B_i(x)`` at ``x`` inside ``[t[p], t[-p-1]]``."""
    k = min(max(bisect.bisect_right(t, x) - 1, p), len(t) - p - 2)
    d = [c[j + k - p] for j in range(p + 1)]
    for level in range(1, p + 1):
        for j in range(p, level - 1, -1):
            alpha = (x - t[j + k - p]) / (t[j + 1 + k - level] - t[j + k - p])
            d[j] = (1.0 - alpha) * d[j - 1] + alpha * d[j]
    return d[p]


def _de_boor_columns(t: np.ndarray, c: np.ndarray, p: int, x: np.ndarray) -> np.ndarray:
    """``_de_boor`` for a column, operation for operation, so both paths agree to the bit."""
    k = np.clip(np.searchsorted(t, x, side="right") - 1, p, len(t) - p - 2)
    d = [c[k + j - p] for j in range(p + 1)]
    for level in range(1, p + 1):
        for j in range(p, level - 1, -1):
            alpha = (x - t[k + j - p]) / (t[k + j + 1 - level] - t[k + j - p])
            d[j] = (1.0 - alpha) * d[j - 1] + alpha * d[j]
    return d[p]


def spline_term(parts: list[Any], weights: np.ndarray, score: Any, reference: float, name: str) -> SplineTerm:
    """Read the term from a fitted per-feature encoder (``parts``: it and all it nests) holding one QuantileTransformer
    and one SplineTransformer; ``weights`` are its columns' coefficients, ``score`` runs it (for missing)."""
    from mlservice.scoring.additive import NotAdditive
    found = parts
    quantile = [e for e in found if hasattr(e, "quantiles_")]
    spline = [e for e in found if hasattr(e, "bsplines_")]
    if len(quantile) != 1 or len(spline) != 1 or quantile[0].output_distribution != "uniform":
        raise NotAdditive(f"{name}: expected one uniform QuantileTransformer and one SplineTransformer")
    quantile, spline = quantile[0], spline[0]
    if spline.extrapolation != "constant" or not spline.include_bias:
        raise NotAdditive(f"{name}: only a spline with constant extrapolation and its bias column is read")
    basis = spline.bsplines_[0]
    weights = weights[: len(basis.c)]  # the curve's columns come first, the missing flag after
    missing = float(score([None])[0] - reference)
    return SplineTerm(
        np.asarray(quantile.quantiles_[:, 0], dtype=np.float64), np.asarray(quantile.references_, dtype=np.float64),
        np.asarray(basis.t, dtype=np.float64), np.asarray(weights, dtype=np.float64), int(basis.k),
        -reference, missing,
    )
