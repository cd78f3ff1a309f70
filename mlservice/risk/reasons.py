"""Reason codes: the fields that raised an applicant's risk most, in plain words.

A reason is a field whose exact contribution to the log-odds of default (see
``mlservice.scoring.additive``) is positive, i.e. it raised the risk compared
with a typical applicant (the mean over the training applicants). Up to
``MAX_REASONS``, largest first. Numbers are worded by their side of the training
median ("typical"); categories by their value. A model whose features or
categories these texts do not cover is refused at load (:func:`uncovered`).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlservice.registry.card import Feature

MAX_REASONS = 4

#: Numeric fields: what the number is, as a noun phrase.
NUMBERS = {
    "seniority": "Time with the current employer",
    "time": "Requested loan term",
    "age": "Age",
    "expenses": "Expenses",
    "income": "Income",
    "assets": "Assets",
    "debt": "Debt",
    "amount": "Requested loan amount",
    "price": "Price of the financed good",
}

#: Categorical fields: one text per category; ``None`` is "not given".
CATEGORIES: dict[str, dict[str | None, str]] = {
    "home": {
        "rent": "Rents their home", "owner": "Owns their home", "parents": "Lives with their parents",
        "priv": "Lives in private housing", "other": "Other kind of housing",
        "ignore": "Housing recorded as 'ignore' in the data", None: "Housing not given",
    },
    "marital": {
        "single": "Single", "married": "Married", "separated": "Separated", "divorced": "Divorced",
        "widow": "Widowed", None: "Marital status not given",
    },
    "records": {"yes": "Has records on file", "no": "Has no records on file", None: "Records not given"},
    "job": {
        "fixed": "Fixed employment", "freelance": "Freelance work", "partime": "Part-time work",
        "others": "Other kind of employment", None: "Kind of employment not given",
    },
}


def uncovered(fields: Sequence[str], features: Sequence[Feature]) -> list[str]:
    """Fields (or ``field=category``) without a text, or numbers without a training median."""
    gaps = []
    for field, feature in zip(fields, features):
        if feature.type == "categorical":
            texts = CATEGORIES.get(field, {})
            wanted = [*feature.categories, *([None] if feature.nullable else [])]
            gaps += [f"{field}={c}" for c in wanted if c not in texts]
        elif field not in NUMBERS or feature.median is None:
            gaps.append(field)
    return gaps


def text(field: str, value: Any, feature: Feature) -> str:
    """The plain-words reason for ``field`` having ``value``."""
    if feature.type == "categorical":
        return CATEGORIES[field][value]
    noun = NUMBERS[field]
    if value is None:
        return f"{noun} not given"
    if value == feature.median:
        return f"{noun} at the typical applicant's level"
    return f"{noun} {'below' if value < feature.median else 'above'} the typical applicant's"


def principal(
    contributions: Sequence[float], row: Sequence[Any], fields: Sequence[str], features: Sequence[Feature]
) -> list[dict[str, Any]]:
    """The up to ``MAX_REASONS`` fields that raised the risk most, largest first (ties: field order).

    Plain Python on a short list: per-element NumPy scalars cost more than the sort.
    """
    raised = sorted((j for j, c in enumerate(contributions) if c > 0), key=contributions.__getitem__, reverse=True)
    return [
        {"feature": fields[j], "reason": text(fields[j], row[j], features[j]), "contribution": float(contributions[j])}
        for j in raised[:MAX_REASONS]
    ]
