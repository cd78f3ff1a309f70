"""The rows every additive form is checked on at load, and the one tolerance it is held to.

A form is checked once per model, on the card's golden inputs and on seeded
probes that exercise every part of every term (every category, missing and
unseen values, every bin edge, values beyond the training range), by
:func:`mlservice.scoring.classifier.verified_scorer`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mlservice.registry.card import Feature, ModelCard
from mlservice.scoring.additive import AdditiveForm, NotAdditive
from mlservice.scoring.linear import UNSEEN
from mlservice.scoring.terms import StepTerm

#: How far a served number may be from the pipeline's: golden replay, log-odds and probabilities alike.
TOLERANCE = 1e-9
N_PROBES = 256


def check_rows(form: AdditiveForm, card: ModelCard, n: int = N_PROBES, seed: int = 0) -> np.ndarray:
    """The card's golden inputs, then ``n`` seeded probes, as an object array in card column order."""
    return np.concatenate([golden_rows(card), probe_rows(form, card, n, seed)])


def golden_rows(card: ModelCard) -> np.ndarray:
    """The card's golden inputs (classifier rows in card column order) as an object array."""
    inputs = [g["input"] for g in card.golden if isinstance(g.get("input"), list)]
    rows = np.empty((len(inputs), len(card.features)), dtype=object)
    for i, row in enumerate(inputs):
        if len(row) != len(card.features):
            raise NotAdditive(f"golden example {i} has {len(row)} values, the card lists {len(card.features)}")
        rows[i] = row
    return rows


def probe_rows(form: AdditiveForm, card: ModelCard, n: int, seed: int) -> np.ndarray:
    """``n`` seeded rows in card column order that exercise every part of every term."""
    rng = np.random.default_rng(seed)
    rows = np.empty((n, len(card.features)), dtype=object)
    for j, (feature, term) in enumerate(zip(card.features, form.terms)):
        rows[:, j] = _column(feature, term, rng, n)
    return rows


def largest_gap(got: Any, want: np.ndarray) -> tuple[float, int]:
    """(the largest absolute difference, how many values differ by more than ``TOLERANCE``); NaN counts as infinite."""
    gap = np.abs(np.asarray(got, dtype=np.float64) - want)
    worst = float(np.max(gap, initial=0.0)) if not np.isnan(gap).any() else float("inf")
    return worst, int(np.sum(~(gap <= TOLERANCE)))


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
