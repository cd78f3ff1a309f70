"""Strict marshmallow fields: what reaches a model is exactly the JSON type it names.

marshmallow's defaults are lenient in ways a model must not see: ``Integer``
accepts ``30.7``, ``"30"`` and ``true``; ``Float`` accepts ``"1.5"`` and ``true``.
Every number that reaches a model goes through these fields instead. ``Column``
dumps a whole NumPy column in one conversion; ``BoundedList`` checks a list's
length before its items.
"""
from __future__ import annotations

import numbers
from typing import Any

import marshmallow as ma
import numpy as np
from marshmallow import fields, validate

#: Unknown fields an object may carry before it is refused whole, without naming each (names can carry data).
MAX_UNKNOWN_FIELDS = 5
TOO_MANY_FIELDS = f"Too many fields: more than {MAX_UNKNOWN_FIELDS} unknown ones. Check the field names."
#: Subject keys route canaries; the message never repeats the key.
SUBJECT_KEY = validate.Regexp(r"^[A-Za-z0-9_.:-]{1,64}$", error="Use 1 to 64 letters, digits or _.:-")
NUMBER_ERROR = "Not a valid number."
INTEGER_ERROR = "Not a valid integer."


class StrictInteger(fields.Integer):
    """A JSON integer: not a float, not a string, not a boolean."""

    default_error_messages = {"invalid": INTEGER_ERROR}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise self.make_error("invalid")
        return int(value)


class StrictFloat(fields.Float):
    """A finite JSON number (integer or decimal): not a string, not a boolean."""

    default_error_messages = {"invalid": NUMBER_ERROR, "special": NUMBER_ERROR}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON ``true`` or ``false`` only: marshmallow's Boolean also takes 1, "yes" or "on"."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Column(fields.List):
    """One value per row of a columnar answer, dumped in one C-level conversion.

    ``fields.List`` dumps item by item, a Python call per value: for thousands of
    values that costs more than the model. A NumPy array of the inner field's kind
    (``Float``, ``String`` or ``Boolean``) is dumped by ``tolist()``, except that
    a ``Float`` column whose every value is finite stays a contiguous float64 array,
    which the JSON provider writes straight from its doubles (the same text, without
    a Python float per value); a list whose items are all ``str`` (or ``bool``) and
    ``None`` as it is. Non-finite floats are never written: null where the inner
    field allows null, else an error. Anything else is dumped item by item, as
    ``fields.List`` does.
    """

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> list[Any] | np.ndarray | None:
        if value is None:
            return None
        values = self.json_values(value)
        return values if values is not None else super()._serialize(value, attr, obj, **kwargs)

    def json_values(self, value: Any) -> list[Any] | np.ndarray | None:
        """``value`` as JSON values (a list, or finite float64s) without a call per value; None: it needs one."""
        inner = self.inner
        if type(inner) in (fields.Float, StrictFloat) and not inner.as_string:
            return _json_floats(value, inner.allow_none) if _array_of(value, "fiu") else None
        kind, plain_type = {fields.String: ("U", str), fields.Boolean: ("b", bool)}.get(type(inner), (None, None))
        if kind is None:
            return None
        if _array_of(value, kind):
            return value.tolist()
        if type(value) is list and set(map(type, value)) <= {plain_type, type(None)}:
            return list(value)
        return None


def _array_of(value: Any, kinds: str) -> bool:
    return isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in kinds


def _json_floats(values: np.ndarray, allow_none: bool) -> list[Any] | np.ndarray:
    """Floats as a contiguous float64 array when all are finite; else a list with NaN and infinities as None, or refused."""
    floats = np.ascontiguousarray(values, dtype=np.float64)
    finite = np.isfinite(floats)
    if finite.all():
        return floats
    if not allow_none:
        raise ValueError("a column of numbers holds non-finite values where null is not allowed")
    out = floats.tolist()
    for i in np.flatnonzero(~finite).tolist():
        out[i] = None
    return out


def refuse_crowded(schema: ma.Schema, data: Any) -> None:
    """Refuse an object with many unknown keys in one message, before marshmallow lists each of them."""
    if isinstance(data, dict) and len(data) > len(schema.load_fields) + MAX_UNKNOWN_FIELDS:
        raise ma.ValidationError({"_schema": [TOO_MANY_FIELDS]})



class BoundedList(fields.List):
    """A list whose length (its ``Length`` validators) is checked before any item is.

    ``fields.List`` validates every item first: 70,000 empty rows cost seconds
    and an error per row before "longer than 1000" was ever said. Rows of a
    nested schema are also refused early when crowded with unknown keys.
    """

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[Any]:
        if isinstance(value, list):
            for validator in self.validators:
                if isinstance(validator, validate.Length):
                    validator(value)
            if isinstance(self.inner, fields.Nested):
                for index, item in enumerate(value):
                    try:
                        refuse_crowded(self.inner.schema, item)
                    except ma.ValidationError as error:
                        raise ma.ValidationError({index: error.messages}) from None
        return super()._deserialize(value, attr, data, **kwargs)


def feature(
    field_cls: type[fields.Field],
    name: str,
    description: str,
    *,
    example: Any,
    required: bool = True,
    **kwargs: Any,
) -> fields.Field:
    """A model input: ``name`` is the model's column, checked against its card at load."""
    if not required:
        kwargs.update(load_default=None, allow_none=True)
    return field_cls(
        required=required,
        metadata={"feature": name, "description": description, "example": example},
        **kwargs,
    )


def subject_key(subject: str, example: str) -> fields.String:
    """The optional key that routes one ``subject`` to one canary version; never a model input, never logged."""
    return fields.String(
        validate=SUBJECT_KEY,
        metadata={"description": f"Optional opaque key: the same {subject} always meets the same model version "
                  "during a canary. Not a model input; never logged.", "example": example},
    )


def example_of(schema: type[ma.Schema]) -> dict[str, Any]:
    """A request body made of each field's documented example."""
    return {name: f.metadata["example"] for name, f in schema().fields.items()}


def documented(field_cls: type[fields.Field], description: str, **kwargs: Any) -> fields.Field:
    """A required response field with its OpenAPI description (``required=False`` to relax it)."""
    kwargs.setdefault("required", True)
    return field_cls(metadata={"description": description}, **kwargs)


def category(choices: list[str]) -> validate.OneOf:
    """One of a closed set; the message lists the choices, never the submitted value."""
    return validate.OneOf(choices, error="Must be one of: {choices}.")


