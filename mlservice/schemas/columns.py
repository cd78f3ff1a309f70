"""Request and result schemas of a columnar endpoint, derived from the use case's row schema.

Each model input of the row schema becomes a column: a ``List`` of a copy of that
very field (same type, bounds, categories, nullability), required when the field
is. Subject keys (``patient_id``, ...) route one subject to one canary version;
a batch is routed as a whole, so they have no column. The declared fields are
what the OpenAPI document shows and what marshmallow would enforce; loading goes
through :class:`mlservice.schemas.column_load.ColumnLoader`, which answers the same.
"""
from __future__ import annotations

import copy
from typing import Any

from marshmallow import fields, validate

from mlservice.column_batch import ColumnBatch
from mlservice.schemas.column_load import MAX_ROWS, TOP, ColumnLoader
from mlservice.schemas.base import StrictSchema
from mlservice.schemas.fields import Column
from mlservice.schemas.responses import OodWarningSchema


class ColumnsSchema(StrictSchema):
    """Base of ``{"columns": {...}}`` bodies: loads into :class:`ColumnBatch` without a call per value."""

    LOADER: ColumnLoader

    def load(self, data: Any, *, many: bool | None = None, partial: Any = None, unknown: str | None = None) -> ColumnBatch:
        if many or partial or self.many or self.partial:
            raise TypeError("a columnar body is one mapping, loaded whole")
        return self.LOADER.load(data)


def columns_of(row_schema: type[StrictSchema], description: str) -> type[ColumnsSchema]:
    """The request schema: one list per model input of ``row_schema``, 1 to ``MAX_ROWS`` values each."""
    base = row_schema.__name__.removesuffix("Schema")
    lists = {name: _column(field) for name, field in _features(row_schema)}
    values = StrictSchema.from_dict(lists, name=f"{base}ColumnValuesSchema")
    top = fields.Nested(values, required=True, metadata={"description": description})
    schema = type(f"{base}ColumnsSchema", (ColumnsSchema,), {TOP: top, "__doc__": f"{base} rows, one list per field."})
    schema.LOADER = ColumnLoader(schema())
    return schema


def contributions_of(row_schema: type[StrictSchema], description: str, nullable: bool) -> type[StrictSchema]:
    """Per model input, its contribution to each row's log-odds (null for rows the model did not score)."""
    base = row_schema.__name__.removesuffix("Schema")
    parts = {
        name: Column(fields.Float(allow_none=nullable), required=True,
                     metadata={"description": field.metadata["description"]})
        for name, field in _features(row_schema)
    }
    schema = StrictSchema.from_dict(parts, name=f"{base}ContributionsSchema")
    schema.__doc__ = description
    return schema


def column_warnings() -> fields.List:
    """Out-of-range flags of a columnar answer: sparse, ``index`` is the row."""
    return fields.List(
        fields.Nested(OodWarningSchema), required=True,
        metadata={"description": "Out-of-distribution flags, one per flagged value, by row (index) then field; "
                  "the same flags the row endpoints give. Empty when every value is in range."},
    )


def example_columns(row_schema: type[StrictSchema], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A request body holding ``rows`` (row-schema dicts) as columns."""
    return {TOP: {name: [row.get(name) for row in rows] for name, _ in _features(row_schema)}}


def _features(row_schema: type[StrictSchema]) -> list[tuple[str, fields.Field]]:
    return [(name, f) for name, f in row_schema._declared_fields.items() if "feature" in f.metadata]


def _column(field: fields.Field) -> fields.List:
    inner = copy.deepcopy(field)  # the same checks a row makes, value by value
    inner.metadata = {}
    return fields.List(
        inner, required=field.required, validate=validate.Length(min=1, max=MAX_ROWS),
        metadata={"description": field.metadata["description"]
                  + ("" if field.required else " Optional: omit the column, or send null for a missing value.")},
    )

