"""Additive forms read from fitted scikit-learn pipelines ending in a logistic regression.

Two shapes are understood, both exact by construction:

- a *scorecard*: a ``ColumnTransformer`` with one entry per feature, named after
  it and fed only that column, then the logistic regression. A feature's term is
  its encoded columns times their coefficients; it is tabulated per bin
  (``KBinsDiscretizer`` edges) or per category by running the fitted encoder on
  one representative value each, so the values come from the encoder itself.
  Terms are centred on the card's ``explanation.column_means`` (training means
  of the encoded columns).
- a *standardised* model: optional ``to_float``, ``StandardScaler``, then the
  logistic regression. A term is ``coef / scale * (x - mean)``, centred on the
  scaler's training mean.

Anything else raises :class:`NotAdditive`. Whatever is built must then pass
:func:`mlservice.scoring.verify.verified` before it is used.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from mlservice.scoring.additive import AdditiveForm, NotAdditive
from mlservice.scoring.curve import spline_term
from mlservice.scoring.terms import CategoryTerm, LinearTerm, StepTerm
from mlservice.registry.card import Feature, ModelCard
from mlservice.transforms import to_float

#: A category no model was trained on, to read what the encoder does with unseen values.
UNSEEN = "\x00unseen"


def scorecard_form(pipeline: Any, card: ModelCard) -> AdditiveForm:
    """The additive form of ``ColumnTransformer(one entry per feature) -> LogisticRegression``."""
    [encoder], coef, intercept = _linear_head(pipeline)
    if not hasattr(encoder, "output_indices_"):
        raise NotAdditive("the first step is not a fitted ColumnTransformer")
    means = _column_means(card)
    terms, references = [], []
    for j, feature in enumerate(card.features):
        transformer, columns = _feature_entry(encoder, feature.name, j)
        weights = coef[columns]
        reference = _reference(means, feature.name, weights)

        def score(values: list[Any], t: Any = transformer, w: np.ndarray = weights) -> np.ndarray:
            encoded = t.transform(np.array(values, dtype=object).reshape(-1, 1))
            return np.asarray(encoded.todense() if hasattr(encoded, "todense") else encoded) @ w

        if feature.type == "categorical":
            terms.append(_category_term(feature, transformer, score, reference))
        elif any(hasattr(e, "bsplines_") for e in _walk(transformer)):
            terms.append(spline_term(list(_walk(transformer)), weights, score, reference, feature.name))
        else:
            terms.append(_step_term(feature, transformer, score, reference))
        references.append(reference)
    _only_named_entries(encoder, card)
    return AdditiveForm(tuple(card.feature_names), tuple(terms), intercept + float(np.sum(references)))


def standardized_form(pipeline: Any, card: ModelCard) -> AdditiveForm:
    """The additive form of ``[to_float] -> StandardScaler -> LogisticRegression``."""
    steps, coef, intercept = _linear_head(pipeline)
    scalers = [s for s in steps if hasattr(s, "mean_")]
    others = [s for s in steps if not hasattr(s, "mean_") and getattr(s, "func", False) not in (to_float, None)]
    if len(scalers) != 1 or others or not scalers[0].with_mean:
        raise NotAdditive("expected [to_float] -> StandardScaler (with mean) -> LogisticRegression")
    scaler = scalers[0]
    scale = scaler.scale_ if scaler.scale_ is not None else np.ones_like(scaler.mean_)
    if len(coef) != len(card.features) or len(scaler.mean_) != len(coef):
        raise NotAdditive(f"the model takes {len(coef)} columns, the card lists {len(card.features)}")
    terms = tuple(LinearTerm(float(c / s), float(m)) for c, s, m in zip(coef, scale, scaler.mean_))
    return AdditiveForm(tuple(card.feature_names), terms, intercept)


def _linear_head(pipeline: Any) -> tuple[list[Any], np.ndarray, float]:
    """(preprocessing steps, coefficients, intercept) of a binary logistic pipeline."""
    steps = [step for _, step in getattr(pipeline, "steps", [])]
    if not steps:
        raise NotAdditive("the model is not a scikit-learn Pipeline")
    head = steps[-1]
    coef = np.asarray(getattr(head, "coef_", np.empty((0, 0))), dtype=np.float64)
    classes = list(getattr(head, "classes_", []))
    if coef.ndim != 2 or coef.shape[0] != 1 or classes != [0, 1] or not hasattr(head, "decision_function"):
        raise NotAdditive("the last step is not a binary linear classifier on classes [0, 1]")
    return steps[:-1], coef[0], float(np.ravel(head.intercept_)[0])


def _column_means(card: ModelCard) -> dict[str, list[float]]:
    means = (card.raw.get("explanation") or {}).get("column_means")
    if not isinstance(means, dict) or set(means) != set(card.feature_names):
        raise NotAdditive("the card lacks explanation.column_means for every feature")
    return means


def _reference(means: dict[str, list[float]], name: str, weights: np.ndarray) -> float:
    mean = np.asarray(means[name], dtype=np.float64)
    if mean.shape != weights.shape:
        raise NotAdditive(f"{name}: the card's column means do not match the model's {len(weights)} columns")
    return float(mean @ weights)


def _feature_entry(encoder: Any, name: str, index: int) -> tuple[Any, slice]:
    """The fitted transformer of feature ``name`` and its output columns; it must read column ``index`` only."""
    for entry, transformer, columns in encoder.transformers_:
        if entry == name:
            if list(np.atleast_1d(columns)) != [index]:
                raise NotAdditive(f"{name}: its encoder reads columns {columns}, not only column {index}")
            return transformer, encoder.output_indices_[name]
    raise NotAdditive(f"{name}: no ColumnTransformer entry of that name")


def _only_named_entries(encoder: Any, card: ModelCard) -> None:
    """Every output column belongs to one feature's entry (no remainder, no shared encoders)."""
    extra = [n for n, s in encoder.output_indices_.items() if n not in card.feature_names and s.stop > s.start]
    if extra:
        raise NotAdditive(f"encoder entries {extra} are not features of the card")


def _step_term(feature: Feature, transformer: Any, score: Callable, reference: float) -> StepTerm:
    bins = [e for e in _walk(transformer) if hasattr(e, "bin_edges_")]
    if len(bins) != 1 or len(bins[0].bin_edges_) != 1:
        raise NotAdditive(f"{feature.name}: expected one fitted KBinsDiscretizer on one column")
    edges = np.asarray(bins[0].bin_edges_[0][1:-1], dtype=np.float64)
    inside = [float(edges[0]) - 1.0, *edges.tolist()] if len(edges) else [0.0]
    scored = score([*inside, None]) - reference  # one encoder call per feature: each costs ~3 ms at start
    return StepTerm(edges, scored[:-1], float(scored[-1]))


def _category_term(feature: Feature, transformer: Any, score: Callable, reference: float) -> CategoryTerm:
    scored = score([*feature.categories, None]) - reference
    try:
        unseen = float(score([UNSEEN])[0] - reference)
    except ValueError:  # an encoder that refuses unknown categories
        unseen = float("nan")
    return CategoryTerm(dict(zip(feature.categories, map(float, scored[:-1]))), float(scored[-1]), unseen)


def _walk(estimator: Any) -> Iterator[Any]:
    """The estimator and everything nested in it (pipelines, unions)."""
    yield estimator
    for _, child in getattr(estimator, "steps", []):
        yield from _walk(child)
    for _, child in getattr(estimator, "transformer_list", []):
        yield from _walk(child)
