"""Whole-column checks built from one field of a row schema: "all valid" without a call per value.

A check only ever decides that a column is valid. When it cannot (a wrong type,
a value out of range, not a category, anything it does not expect), it names the
positions it could not pass and marshmallow's own field decides each of them
(``mlservice.schemas.column_load``): every message is marshmallow's, and a value
marshmallow accepts is kept. Fields it cannot reproduce exactly raise
:class:`Unsupported` when the schema is built, not when a request comes.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import marshmallow as ma
import numpy as np
from marshmallow import fields, validate

from mlservice.schemas import compiled
from mlservice.schemas.fields import StrictFloat, StrictInteger

NONE = type(None)
#: Values are compared as float64: exact for bounds inside +-2**53 (integers beyond round monotonically).
EXACT_INTEGERS = 2.0**53


class Unsupported(TypeError):
    """A field this module cannot check exactly as marshmallow would."""


class Check(Protocol):
    def __call__(self, values: list[Any]) -> tuple[Any, list[int]]: ...

    def rebuild(self, values: list[Any]) -> Any: ...


@dataclass(frozen=True, eq=False)
class NumberCheck:
    """``StrictInteger`` / ``StrictFloat`` with ``Range`` validators; the model column is float64, NaN = missing."""

    types: frozenset[type]
    ranges: tuple[validate.Range, ...]

    def __call__(self, values: list[Any]) -> tuple[np.ndarray | None, list[int]]:
        """(float64 column, []) when every value passes; else (None, positions to ask marshmallow about)."""
        kinds = set(map(type, values))
        if not values:
            return np.empty(0), []
        if kinds <= self.types:
            try:
                x = np.array(values, dtype=np.float64)
            except (OverflowError, ValueError, TypeError):
                return None, self._flag(values)
            if NONE not in kinds:  # NaN (not a JSON value) makes min and max NaN, which fails every bound
                if self._inside(x.min(), x.max()):
                    return x, []
            elif int(np.count_nonzero(np.isnan(x))) == values.count(None):  # NaN only where None was sent
                low, high = np.fmin.reduce(x), np.fmax.reduce(x)  # ignoring NaN; NaN if all are None
                if low != low or self._inside(low, high):
                    return x, []
        return None, self._flag(values)

    def rebuild(self, values: list[Any]) -> np.ndarray:
        """The column from values marshmallow loaded (numbers and ``None``)."""
        return np.array(values, dtype=np.float64)

    def _inside(self, low: float, high: float) -> bool:
        """Whether every value between ``low`` and ``high`` is finite and passes every ``Range``."""
        if not (-math.inf < low and high < math.inf):
            return False
        for r in self.ranges:
            if r.min is not None and not (low >= r.min if r.min_inclusive else low > r.min):
                return False
            if r.max is not None and not (high <= r.max if r.max_inclusive else high < r.max):
                return False
        return True

    def _flag(self, values: list[Any]) -> list[int]:
        return [i for i, v in enumerate(values) if not self._passes(v)]

    def _passes(self, value: Any) -> bool:
        if value is None:
            return NONE in self.types
        if type(value) not in self.types:
            return False
        try:
            x = float(value)
        except OverflowError:
            return False
        return self._inside(x, x)


@dataclass(frozen=True, eq=False)
class CategoryCheck:
    """A string with one ``OneOf`` of strings; the model column is the list itself, ``None`` = missing."""

    types: frozenset[type]
    accepted: frozenset[Any]

    def __call__(self, values: list[Any]) -> tuple[list[Any] | None, list[int]]:
        if set(map(type, values)) <= self.types and set(values) <= self.accepted:
            return values, []
        return None, [i for i, v in enumerate(values) if not (type(v) in self.types and v in self.accepted)]

    def rebuild(self, values: list[Any]) -> list[Any]:
        return list(values)


def check_for(field: fields.Field) -> Check:
    """The check of a row-schema field the compiled row pass also takes, or :class:`Unsupported`.

    That is the compiled pass's own test (``compiled.require_compilable_field``: no
    ``data_key``/``attribute``, no field hooks), and a missing value must load as
    ``None``, which a column holds as NaN or ``None``.
    """
    try:
        compiled.require_compilable_field(field.name or "field", field)
    except compiled.Unsupported as exc:
        raise Unsupported(str(exc)) from None
    if field.load_default not in (ma.missing, None):
        raise Unsupported(f"{field.name}: a load_default other than None")
    nullable = {NONE} if field.allow_none else set()
    kind = type(field)
    if kind in (StrictInteger, StrictFloat):
        ranges = _ranges(field, exact_integers=kind is StrictInteger)
        types = {int} if kind is StrictInteger else {int, float}
        return NumberCheck(frozenset(types | nullable), ranges)
    if kind is fields.String:
        choices = _choices(field)
        return CategoryCheck(frozenset({str} | nullable), frozenset(choices) | ({None} if nullable else set()))
    raise Unsupported(f"field type {kind.__name__}")


def _ranges(field: fields.Field, exact_integers: bool) -> tuple[validate.Range, ...]:
    """The field's ``Range`` validators, if float64 comparisons reproduce them exactly."""
    if any(type(v) is not validate.Range for v in field.validators) or (exact_integers and not field.validators):
        raise Unsupported("numbers need Range validators and nothing else")
    for r in field.validators:
        bounds = [b for b in (r.min, r.max) if b is not None]
        if not all(type(b) in (int, float) and float(b) == b and abs(b) < EXACT_INTEGERS for b in bounds):
            raise Unsupported("Range bounds must be numbers float64 holds exactly, within +-2**53")
        if exact_integers and len(bounds) < 2:
            raise Unsupported("integers need both bounds")
    return tuple(field.validators)


def _choices(field: fields.Field) -> Sequence[str]:
    validators = field.validators
    if len(validators) != 1 or type(validators[0]) is not validate.OneOf:
        raise Unsupported("strings need exactly one OneOf validator")
    choices = list(validators[0].choices)
    if not all(type(c) is str for c in choices):
        raise Unsupported("OneOf choices must be strings")
    return choices
