"""Bootstrap intervals for evaluation figures, so a card claims only what its test shows.

A mean over a few dozen users or folds moves a lot between samples: each metric
gets a percentile bootstrap interval over its units (users, folds), and each
comparison a *paired* one (both models scored on the same units, the
difference resampled per unit), which is far narrower than two separate ones.
"""
from __future__ import annotations

from typing import Any

import numpy as np

N_RESAMPLES = 2000
LEVEL = 0.95


def bootstrap_mean(values: np.ndarray, seed: int, n: int = N_RESAMPLES) -> dict[str, Any]:
    """Mean of ``values`` (one per unit) with its percentile bootstrap interval."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (n, len(values)))].mean(axis=1)
    low, high = np.quantile(means, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return {"mean": float(values.mean()), "ci95": [float(low), float(high)], "units": len(values)}


def paired_difference(a: np.ndarray, b: np.ndarray, seed: int, n: int = N_RESAMPLES) -> dict[str, Any]:
    """``mean(a - b)`` over the same units, its paired bootstrap interval, and
    whether the interval excludes zero (the only case where one may say "better")."""
    found = bootstrap_mean(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), seed, n)
    low, high = found["ci95"]
    wins = int(np.sum(np.asarray(a) > np.asarray(b)))
    return found | {"excludes_zero": bool(low > 0 or high < 0), "units_better": wins}
