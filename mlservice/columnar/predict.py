"""A columnar batch through a model: probabilities, contributions and range flags, column by column.

The numbers are the row endpoints' own: the verified additive form's NumPy terms
(the very code ``registry.fastpath`` serves batches of rows with) on the columns,
else, without a verified fast path or for a value it cannot take,
``fastpath.explained`` on rows. Range flags and abstention repeat
``explain.ood.RangeCheck``'s comparisons on float64 columns; an odd categorical
column goes through its per-value check.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from mlservice.columnar.columns import Columns
from mlservice.explain import ood
from mlservice.explain.additive import sigmoid
from mlservice.registry import fastpath
from mlservice.registry.model import LoadedModel
from mlservice.registry.shadow import serve


def serve_columns(name: str, columns: Columns, run: Callable[[LoadedModel, Columns], dict[str, Any]],
                  same: Callable[[dict[str, Any], dict[str, Any]], bool]) -> tuple[dict[str, Any], LoadedModel]:
    """``registry.shadow.serve`` for a batch routed as a whole; warnings counted, rows noted for logs and metrics."""
    served, model = serve(name, None, lambda m: run(m, columns), same, rows=len(columns))
    counts = Counter(flag["field"] for flag in served["warnings"])
    for field, k in counts.items():
        ood.OOD_WARNINGS.labels(name, field).inc(k)
    return served, model


def explain(model: LoadedModel, columns: Columns) -> tuple[np.ndarray, np.ndarray]:
    """(P(class 1) per row, n x p contributions in ``model.columns`` order), as ``fastpath.explained`` gives them."""
    path = fastpath.attached(model.estimator)
    if path is not None:
        try:
            parts = np.column_stack([term(columns[name]) for term, name in zip(path.form.terms, model.columns)])
            return sigmoid(path.form.base + parts.sum(axis=1)), parts
        except (TypeError, ValueError, KeyError):
            pass
    probabilities, parts = fastpath.explained(model, columns.rows(model.columns))
    return np.asarray(probabilities, dtype=np.float64), np.asarray(parts, dtype=np.float64).reshape(len(columns), -1)


def warnings(ranges: ood.RangeCheck, columns: Columns) -> list[dict[str, Any]]:
    """``RangeCheck.issues`` of every row, flattened: ``{"index", "field", "issue"}`` by row, then field."""
    codes = np.zeros((len(columns), len(ranges.fields)), dtype=np.int8)
    numbers = [j for j, f in enumerate(ranges.features) if f.type != "categorical"]
    if numbers:
        x = np.column_stack([columns[ranges.fields[j]] for j in numbers])
        low, high, strict = _bounds([ranges.features[j] for j in numbers])
        below, above, missing = x < low, x > high, np.isnan(x) & strict
        if (below | above | missing).any():
            codes[:, numbers] = np.where(below, 1, np.where(above, 2, np.where(missing, 3, 0)))
    for j, feature in enumerate(ranges.features):
        if feature.type == "categorical":
            _category_codes(codes[:, j], columns[ranges.fields[j]], feature, ranges.checks[j])
    rows, fields = np.nonzero(codes)  # row-major: by row, then field, as the row endpoint lists them
    return [{"index": i, "field": ranges.fields[j], "issue": ISSUES[c]}
            for i, j, c in zip(rows.tolist(), fields.tolist(), codes[rows, fields].tolist())]


def beyond(ranges: ood.RangeCheck, columns: Columns, limit: float) -> tuple[list[str], np.ndarray]:
    """(fields, n x fields mask): which numbers lie more than ``limit`` training SDs outside their range."""
    if not limit >= 0:
        raise ValueError(f"the limit must be a number of SDs >= 0, not {limit}")
    if not ranges.spans:
        return [], np.zeros((len(columns), 0), dtype=bool)
    _, names, low, high, std = (list(part) for part in zip(*ranges.spans))
    x = np.column_stack([columns[name] for name in names])
    return names, np.maximum(np.array(low) - x, x - np.array(high)) / np.array(std) > limit  # NaN (None): False


ISSUES = {1: ood.BELOW, 2: ood.ABOVE, 3: ood.MISSING, 4: ood.UNSEEN}
CODES = {issue: code for code, issue in ISSUES.items()}


def _bounds(features: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training ranges (unbounded where the card gives none) and which features had no missing values."""
    low = np.array([-math.inf if f.min is None else f.min for f in features], dtype=np.float64)
    high = np.array([math.inf if f.max is None else f.max for f in features], dtype=np.float64)
    return low, high, np.array([not f.nullable for f in features])


def _category_codes(out: np.ndarray, column: list[Any], feature: Any, check: Callable[[Any], str | None]) -> None:
    """A categorical column's issues; per value (the row endpoint's own check) only if a value is not a known one."""
    if set(column) <= set(feature.categories) | ({None} if feature.nullable else set()):
        return
    for i, value in enumerate(column):
        issue = check(value)
        if issue:
            out[i] = CODES[issue]
