"""Strict marshmallow building blocks shared by every use case.

marshmallow's defaults are lenient in ways a model must not see: ``Integer``
accepts ``30.7``, ``"30"`` and ``true``; ``Float`` accepts ``"1.5"`` and ``true``.
Every number that reaches a model goes through these fields instead.
"""
from __future__ import annotations

import numbers
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

MAX_BATCH_ROWS = 1000
NUMBER_ERROR = "Not a valid number."
INTEGER_ERROR = "Not a valid integer."


class StrictSchema(ma.Schema):
    """Unknown fields are errors at every level, so a typo never goes unnoticed."""

    class Meta:
        unknown = ma.RAISE


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


def category(choices: list[str]) -> validate.OneOf:
    """One of a closed set; the message lists the choices, never the submitted value."""
    return validate.OneOf(choices, error="Must be one of: {choices}.")


def batch_of(row_schema: type[ma.Schema], description: str) -> type[ma.Schema]:
    """``{"rows": [...]}`` with 1 to ``MAX_BATCH_ROWS`` rows."""
    rows = fields.List(
        fields.Nested(row_schema),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH_ROWS),
        metadata={"description": description},
    )
    return StrictSchema.from_dict({"rows": rows}, name=f"{row_schema.__name__.removesuffix('Schema')}BatchSchema")


class ModelRefSchema(ma.Schema):
    """Which model answered: every prediction names it."""

    name = fields.String(required=True)
    version = fields.String(required=True)
    digest = fields.String(required=True, metadata={"description": "First 12 hex digits of the artifact's SHA-256."})


class ErrorSchema(ma.Schema):
    """The one error shape (documentation only: errors are built in ``mlservice.errors``)."""

    code = fields.Integer(required=True, metadata={"description": "HTTP status code."})
    status = fields.String(required=True, metadata={"description": "HTTP status phrase."})
    message = fields.String(required=True, metadata={"description": "What went wrong, for a person."})
    errors = fields.Dict(
        metadata={"description": "Field-level messages by location and field; never the submitted values."}
    )
