"""Inputs outside what the model was trained on, flagged per field, never failing a request.

Built from the card's ``features``: a number below its training ``min`` or above
its ``max``, a category the training data never had, or a missing value where
training had none. Flags carry the API field name and an issue code only, never
the value. ``distances`` measures how far outside the range a number is, in
training standard deviations (the card's ``std``), for use cases that abstain.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from prometheus_client import Counter

from mlservice.registry.card import Feature, ModelCard

BELOW, ABOVE, UNSEEN, MISSING = "below_training_range", "above_training_range", "unseen_category", "unseen_missing"

OOD_WARNINGS = Counter(
    "mlservice_ood_warnings_total",
    "Input fields outside what the model was trained on, by model and field (values are never recorded).",
    ["model", "field"],
)


@dataclass(frozen=True, eq=False)
class RangeCheck:
    """Training ranges and categories of each model column, under its API field name."""

    fields: tuple[str, ...]
    features: tuple[Feature, ...]

    @classmethod
    def from_card(cls, card: ModelCard, fields: Sequence[str]) -> "RangeCheck":
        """``fields``: the API name of each card feature, in card order (``LoadedModel.columns``)."""
        if len(fields) != len(card.features):
            raise ValueError(f"{len(fields)} field names for {len(card.features)} features")
        return cls(tuple(fields), card.features)

    def issues(self, rows: Sequence[Sequence[Any]]) -> list[list[dict[str, str]]]:
        """For each row, ``[{"field", "issue"}]`` in field order (empty when all is in range)."""
        flags: list[list[dict[str, str]]] = [[] for _ in rows]
        for j, (field, feature) in enumerate(zip(self.fields, self.features)):
            column = [row[j] for row in rows]
            for i, issue in enumerate(_column_issues(feature, column)):
                if issue:
                    flags[i].append({"field": field, "issue": issue})
        return flags

    def distances(self, rows: Sequence[Sequence[Any]]) -> np.ndarray:
        """n x p: how many training SDs each number lies outside its training range (0 inside, NaN if unknown)."""
        out = np.full((len(rows), len(self.features)), np.nan)
        for j, feature in enumerate(self.features):
            if feature.type != "categorical" and None not in (feature.min, feature.max, feature.std) and feature.std > 0:
                x = np.asarray([row[j] for row in rows], dtype=np.float64)
                out[:, j] = np.maximum(np.maximum(feature.min - x, x - feature.max), 0.0) / feature.std
        return out

    def unchecked(self) -> list[str]:
        """Numeric fields whose training range or standard deviation the card does not give."""
        return [f for f, feat in zip(self.fields, self.features)
                if feat.type != "categorical" and None in (feat.min, feat.max, feat.std)]


def count(model: str, flags: list[list[dict[str, str]]]) -> None:
    """Add a request's flags to ``mlservice_ood_warnings_total`` (field names are bounded: schema fields)."""
    for row in flags:
        for flag in row:
            OOD_WARNINGS.labels(model, flag["field"]).inc()


def _column_issues(feature: Feature, column: list[Any]) -> list[str | None]:
    if feature.type == "categorical":
        known = set(feature.categories)
        return [_missing(feature) if v is None else None if v in known else UNSEEN for v in column]
    return [_missing(feature) if v is None else _numeric(feature, v) for v in column]


def _missing(feature: Feature) -> str | None:
    return None if feature.nullable else MISSING


def _numeric(feature: Feature, value: float) -> str | None:
    if feature.min is not None and value < feature.min:
        return BELOW
    if feature.max is not None and value > feature.max:
        return ABOVE
    return None
