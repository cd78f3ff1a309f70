"""A columnar batch through a model: probabilities, contributions and range flags, column by column.

The numbers are the row endpoints' own: the verified additive form's NumPy terms
(the very code ``registry.fastpath`` serves batches of rows with) on the columns,
else, without a verified fast path or for a value it cannot take,
``fastpath.explained`` on rows. Range flags and abstention are
``explain.ood.RangeCheck``'s column forms.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mlservice.column_batch import ColumnBatch
from mlservice.explain import ood
from mlservice.registry import fastpath
from mlservice.registry.model import LoadedModel
from mlservice.registry.shadow import serve


def serve_columns(name: str, columns: ColumnBatch, run: Callable[[LoadedModel, ColumnBatch], dict[str, Any]],
                  same: Callable[[dict[str, Any], dict[str, Any]], bool]) -> tuple[dict[str, Any], LoadedModel]:
    """``registry.shadow.serve`` for a batch routed as a whole; warnings counted, rows noted for logs and metrics."""
    served, model = serve(name, None, lambda m: run(m, columns), same, rows=len(columns))
    ood.count(name, [served["warnings"]])
    return served, model


def explain(model: LoadedModel, columns: ColumnBatch) -> tuple[np.ndarray, np.ndarray]:
    """(P(class 1) per row, n x p contributions in ``model.columns`` order), as ``fastpath.explained`` gives them."""
    if model.fast_path is not None:  # loaded columns hold only floats (NaN: missing) and known strings
        return model.fast_path.columns([columns[name] for name in model.columns])
    probabilities, parts = fastpath.explained(model, columns.rows(model.columns))
    return np.asarray(probabilities, dtype=np.float64), np.asarray(parts, dtype=np.float64).reshape(len(columns), -1)

