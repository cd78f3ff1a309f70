"""Scoring a binary classifier: probabilities and per-feature contributions in one pass.

A fitted pipeline pays its input checks and per-step dispatch on every call,
whatever the number of rows (about 1 ms for the diagnose pipeline, tens of ms for
the risk scorecard's ColumnTransformer), while the arithmetic is a few
multiply-adds. The model's additive form (``logit = base + one term per feature``)
holds the same arithmetic, with a plain-Python function per feature for one row
and NumPy for batches; the probability is the sigmoid of the very contributions
that explain it.

:func:`verified_scorer` checks the form once, at load, on the card's golden rows
and seeded probes: its log-odds against the pipeline's ``decision_function``
(otherwise the model is refused: :class:`NotAdditive`), and its probabilities,
batch and single-row, against ``predict_proba``; if only the probabilities
differ, the pipeline computes them (``form_serves`` is False) and the form still
explains them. So does the pipeline for a value the form cannot take.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mlservice.column_batch import ColumnBatch
from mlservice.registry.card import ModelCard
from mlservice.scoring.additive import AdditiveForm, NotAdditive, sigmoid, sigmoid_one
from mlservice.scoring.linear import UNSEEN
from mlservice.scoring.ranges import RangeCheck
from mlservice.scoring.verify import TOLERANCE, check_rows, largest_gap

log = logging.getLogger(__name__)
Rows = Sequence[Sequence[Any]]


@dataclass(frozen=True, eq=False)
class ClassifierScorer:
    """P(class 1) and its contributions, per row, from a verified additive form."""

    form: AdditiveForm
    pipeline: Any
    #: True: the form's own probabilities match the pipeline's; False: the pipeline computes them.
    form_serves: bool = True

    def score_rows(self, rows: Rows) -> tuple[list[float], list[list[float]]]:
        """(P(class 1), contributions) per row, as plain floats; rows in the card's column order."""
        if self.form_serves:
            try:
                return self.form_rows(rows)
            except (TypeError, ValueError, KeyError):
                pass
        probabilities = positive_probability(self.pipeline, rows)
        _, contributions = self.form.contributions(rows)
        return probabilities.tolist(), contributions.tolist()

    def score_columns(self, batch: ColumnBatch, fields: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(P(class 1), n x p contributions) of a columnar batch, ``fields`` in the card's feature order.

        Validated columns hold only floats (NaN: missing) and known strings, which every term takes.
        """
        if self.form_serves:
            return _scored(*self.form.of_columns([batch[name] for name in fields]))
        probabilities, parts = self.score_rows(batch.rows(fields))
        return np.asarray(probabilities, dtype=np.float64), np.asarray(parts, dtype=np.float64).reshape(len(batch), -1)

    def form_rows(self, rows: Rows) -> tuple[list[float], list[list[float]]]:
        """``score_rows`` from the form alone, with no pipeline to fall back on."""
        if len(rows) == 1:
            parts = self.form.row_contributions(rows[0])
            return [sigmoid_one(self.form.add_up(parts))], [parts]
        probabilities, matrix = _scored(*self.form.contributions(rows))
        return probabilities.tolist(), matrix.tolist()


@dataclass(frozen=True, eq=False)
class ClassifierRuntime:
    """What a classifier use case serves with, built once per model at load."""

    scorer: ClassifierScorer
    #: Training ranges of each input field: out-of-range warnings and abstention.
    ranges: RangeCheck


def verified_scorer(form: AdditiveForm, pipeline: Any, card: ModelCard) -> ClassifierScorer:
    """A scorer for ``pipeline`` through ``form``, checked once on golden rows and probes.

    Raises :class:`NotAdditive` when the form's log-odds (NumPy or single-row) are
    not the pipeline's; serves the pipeline's probabilities when only those differ.
    """
    rows, logits, probabilities = _pipeline_answers(pipeline, check_rows(form, card))
    single = [form.add_up(form.row_contributions(row)) for row in rows]
    for what, got in (("the additive form", form.logit(rows)), ("the additive form's single-row path", single)):
        worst, count = largest_gap(got, logits)
        if worst > TOLERANCE:
            raise NotAdditive(f"{what} differs from the model by up to {worst:.1e} in log-odds "
                              f"on {count} of {len(rows)} check rows")
    scorer = ClassifierScorer(form, pipeline)
    listed = rows.tolist()
    single_p = [p for row in listed for p in scorer.form_rows([row])[0]]
    for what, got in (("batch", scorer.form_rows(listed)[0]), ("single-row", single_p)):
        worst, count = largest_gap(got, probabilities)
        if worst > TOLERANCE:
            log.warning("fast path refused: the %s path differs from the pipeline by up to %.1e on %d of %d rows; "
                        "the pipeline serves probabilities", what, worst, count, len(rows))
            return replace(scorer, form_serves=False)
    return scorer


def positive_probability(pipeline: Any, rows: Rows | np.ndarray) -> np.ndarray:
    """The pipeline's P(class 1) for rows in the card's feature order (``None`` = missing)."""
    return pipeline.predict_proba(np.array(rows, dtype=object))[:, 1]


def golden_mismatches(pipeline: Any, golden: tuple[dict[str, Any], ...]) -> int:
    """How many golden examples the pipeline itself fails to reproduce (before any form exists)."""
    got = positive_probability(pipeline, [g["input"] for g in golden])
    want = np.array([g["output"][0] for g in golden], dtype=float)
    return int(np.sum(~np.isclose(got, want, rtol=0, atol=TOLERANCE)))


def _scored(base: float, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return sigmoid(base + matrix.sum(axis=1)), matrix


def _pipeline_answers(pipeline: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, log-odds, P(class 1)) of the pipeline; if its encoders refuse never-seen categories
    (the API never sends any), the rows without them."""
    try:
        return rows, *_answers(pipeline, rows)
    except ValueError:
        rows = rows[[UNSEEN not in row for row in rows.tolist()]]
        return rows, *_answers(pipeline, rows)


def _answers(pipeline: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (np.asarray(pipeline.decision_function(rows), dtype=np.float64),
            np.asarray(pipeline.predict_proba(rows)[:, 1], dtype=np.float64))
