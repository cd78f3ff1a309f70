"""Refuse an additive form that does not reproduce its model.

The check runs once per model at load: the form's log-odds, from its NumPy
terms (batches) and from its plain-Python ones (one row), must equal the
pipeline's ``decision_function`` within ``TOLERANCE`` on the card's golden
examples and on seeded random probes (every category, missing and unseen
values, every bin edge, values beyond the training range).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mlservice.explain.additive import AdditiveForm, NotAdditive
from mlservice.explain.linear import UNSEEN
from mlservice.explain.terms import StepTerm
from mlservice.registry.card import Feature, ModelCard

TOLERANCE = 1e-9
N_PROBES = 256


def verified(form: AdditiveForm, pipeline: Any, card: ModelCard, seed: int = 0) -> AdditiveForm:
    """``form``, once it has matched ``pipeline`` on golden rows and probes; else :class:`NotAdditive`."""
    rows = np.concatenate([_golden_rows(card), probe_rows(form, card, N_PROBES, seed)])
    want = np.asarray(pipeline.decision_function(rows), dtype=np.float64)
    single = np.array([form.add_up(form.row_contributions(row)) for row in rows])
    _close("the additive form", form.logit(rows), want)
    _close("the additive form's single-row path", single, want)
    return form


def _close(what: str, got: np.ndarray, want: np.ndarray) -> None:
    gap = np.abs(np.asarray(got, dtype=np.float64) - want)
    worst = float(np.max(gap, initial=0.0)) if not np.isnan(gap).any() else float("inf")
    if worst > TOLERANCE:
        raise NotAdditive(
            f"{what} differs from the model by up to {worst:.1e} in log-odds "
            f"on {int(np.sum(~(gap <= TOLERANCE)))} of {len(want)} check rows"
        )


def probe_rows(form: AdditiveForm, card: ModelCard, n: int, seed: int) -> np.ndarray:
    """``n`` seeded rows in card column order that exercise every part of every term."""
    rng = np.random.default_rng(seed)
    rows = np.empty((n, len(card.features)), dtype=object)
    for j, (feature, term) in enumerate(zip(card.features, form.terms)):
        rows[:, j] = _column(feature, term, rng, n)
    return rows


def _column(feature: Feature, term: Any, rng: np.random.Generator, n: int) -> list[Any]:
    if feature.type == "categorical":
        pool = [*feature.categories, UNSEEN, *([None] if feature.nullable else [])]
        return [pool[i] for i in rng.integers(0, len(pool), n)]
    low, high = _span(feature, term)
    width = max(high - low, 1.0)
    values = rng.uniform(low - width / 2, high + width / 2, n)
    if isinstance(term, StepTerm) and len(term.edges):
        at_edges = rng.random(n) < 0.3
        values[at_edges] = rng.choice(term.edges, int(at_edges.sum()))
    column: list[Any] = [int(round(v)) if feature.type == "integer" else float(v) for v in values]
    if feature.nullable:
        column = [None if r < 0.1 else v for v, r in zip(column, rng.random(n))]
    return column


def _span(feature: Feature, term: Any) -> tuple[float, float]:
    if feature.min is not None and feature.max is not None:
        return float(feature.min), float(feature.max)
    if isinstance(term, StepTerm) and len(term.edges):
        return float(term.edges[0]), float(term.edges[-1])
    center = float(getattr(term, "center", 0.0))
    return center - 3.0, center + 3.0


def _golden_rows(card: ModelCard) -> np.ndarray:
    inputs = [g["input"] for g in card.golden if isinstance(g.get("input"), list)]
    rows = np.empty((len(inputs), len(card.features)), dtype=object)
    for i, row in enumerate(inputs):
        if len(row) != len(card.features):
            raise NotAdditive(f"golden example {i} has {len(row)} values, the card lists {len(card.features)}")
        rows[i] = row
    return rows
