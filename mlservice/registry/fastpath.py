"""Verified fast paths: a logistic regression's probability without a scikit-learn call.

A fitted pipeline pays its input checks and per-step dispatch on every call,
whatever the number of rows (about 1 ms for the diagnose pipeline, tens of ms
for the risk scorecard's ColumnTransformer), while the arithmetic is a few
multiply-adds. The use case already builds, at load, the model's exact additive
form (``mlservice.explain``: ``logit = base + one term per feature``, verified
against the pipeline), with a plain-Python function per feature for single rows
and NumPy for batches. Its probability is the sigmoid of those very
contributions, so a use case that shows them gets both in one pass (``explained``).

A fast path is kept on the loaded model (``LoadedModel.fast_path``) only after
both paths reproduce the pipeline's ``predict_proba`` within ``TOLERANCE`` on the
card's golden rows and on seeded probes (every category, missing values, bin
edges, values beyond the training range). Anything else, or any failure, gives
no path and the pipeline serves, as before; so does a call the path cannot take
(an unexpected value type).
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlservice.explain.additive import AdditiveForm, sigmoid
from mlservice.explain.linear import UNSEEN
from mlservice.explain.verify import probe_rows
from mlservice.registry.kinds import positive_probability

if TYPE_CHECKING:
    from mlservice.registry.model import LoadedModel

log = logging.getLogger(__name__)
TOLERANCE = 1e-9
N_PROBES = 256
PROBE_SEED = 1  # the explainer's own check uses seed 0: these are other rows


class FastPathRefused(ValueError):
    """The model has no fast path, or it does not reproduce the pipeline."""


@dataclass(frozen=True, eq=False)
class AdditivePath:
    """P(class 1) from an additive form: plain Python for one row, NumPy for several.

    The probability is computed from the very contributions that explain it
    (``explain``), so a use case that shows them needs no second pass.
    """

    form: AdditiveForm

    def positive(self, rows: Sequence[Sequence[Any]]) -> np.ndarray:
        """Like ``predict_proba(rows)[:, 1]``; rows in the card's column order."""
        if len(rows) == 1:
            return np.array(self.explain(rows)[0])
        return self._batch(rows)[0]

    def explain(self, rows: Sequence[Sequence[Any]]) -> tuple[list[float], list[list[float]]]:
        """(P(class 1), contributions) per row, as plain floats: P = sigmoid(base + the row's contributions)."""
        if len(rows) == 1:
            parts = self.form.row_contributions(rows[0])
            return [_sigmoid(self.form.add_up(parts))], [parts]
        probabilities, matrix = self._batch(rows)
        return probabilities.tolist(), matrix.tolist()

    def columns(self, columns: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """(P(class 1), contributions) from one array or list per feature, in the card's order."""
        return _scored(*self.form.of_columns(columns))

    def _batch(self, rows: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
        return _scored(*self.form.contributions(rows))


def _scored(base: float, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return sigmoid(base + matrix.sum(axis=1)), matrix


def verified_path(model: "LoadedModel") -> AdditivePath | None:
    """``model``'s fast path, compiled and verified against its pipeline; None if refused.

    The seam: only binary classifiers whose use case built an additive form
    (``extras["explainer"]``) get one; other kinds serve through their estimator.
    """
    form = model.extras.get("explainer")
    if model.card.kind != "binary_classifier" or not isinstance(form, AdditiveForm):
        return None
    try:
        path = AdditivePath(form)
        verify(path, model.estimator, check_rows(form, model.card))
    except Exception as exc:  # noqa: BLE001 - any failure means: serve through the pipeline
        log.warning("fast path refused name=%s version=%s reason=%s; the pipeline serves",
                    model.spec.name, model.spec.version, exc if isinstance(exc, FastPathRefused) else type(exc).__name__)
        return None
    return path


def explained(model: "LoadedModel", rows: list[list[Any]]) -> tuple[list[float], list[list[float]]]:
    """(P(class 1), contributions of ``extras["explainer"]``) per row, as plain floats.

    One pass through the verified fast path when the model has one; otherwise (or
    for a value that path cannot take) the pipeline's probabilities, as
    :func:`mlservice.registry.kinds.positive_probability` gives them.
    """
    if model.fast_path is not None:
        try:
            return model.fast_path.explain(rows)
        except (TypeError, ValueError, KeyError):
            pass
    probabilities = positive_probability(model.estimator, rows)
    _, contributions = model.extras["explainer"].contributions(rows)
    return probabilities.tolist(), contributions.tolist()


def verify(path: AdditivePath, estimator: Any, rows: list[list[Any]]) -> None:
    """Raise :class:`FastPathRefused` unless both paths match ``estimator.predict_proba`` on ``rows``."""
    rows, want = _pipeline_positive(estimator, rows)
    single = np.concatenate([path.positive([row]) for row in rows])
    for name, got in (("batch", path.positive(rows)), ("single-row", single)):
        close = np.isclose(np.asarray(got, dtype=np.float64), want, rtol=0, atol=TOLERANCE, equal_nan=True)
        if not close.all():
            worst = float(np.nanmax(np.abs(got - want), initial=0.0)) if not np.isnan(got - want).any() else math.inf
            raise FastPathRefused(f"the {name} path differs from the pipeline by up to {worst:.1e} "
                                  f"on {int((~close).sum())} of {len(rows)} rows")


def check_rows(form: AdditiveForm, card: Any, n: int = N_PROBES, seed: int = PROBE_SEED) -> list[list[Any]]:
    """The card's golden inputs, then ``n`` seeded probes (``mlservice.explain.verify``)."""
    golden = [list(g["input"]) for g in card.golden if isinstance(g.get("input"), list)]
    return golden + probe_rows(form, card, n, seed).tolist()


def _pipeline_positive(estimator: Any, rows: list[list[Any]]) -> tuple[list[list[Any]], np.ndarray]:
    """(rows, the pipeline's P(class 1) on them); if its encoders refuse never-seen
    categories (the API never sends any), the rows without them."""
    try:
        want = positive_probability(estimator, rows)
    except ValueError:
        rows = [r for r in rows if UNSEEN not in r]
        want = positive_probability(estimator, rows)
    return rows, np.asarray(want, dtype=np.float64)


def _sigmoid(z: float) -> float:
    """1 / (1 + e^-z) for one float, without overflow at large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
