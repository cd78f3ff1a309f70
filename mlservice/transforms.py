"""Functions that fitted pipelines reference by import path.

A pickled ``FunctionTransformer`` stores only the *name* of its function, so
the function must be importable wherever the model is loaded: here, in the
service, which has no training dependencies. Hence: numpy only.
"""
from __future__ import annotations

import numpy as np


def to_float(X: np.ndarray) -> np.ndarray:
    """Turn the service's object rows (int, float, ``None``) into float64.

    ``None`` becomes ``NaN`` so that the imputers downstream see it as missing.
    """
    return np.asarray(X, dtype=np.float64)
