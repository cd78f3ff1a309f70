"""Strict marshmallow building blocks shared by every use case.

marshmallow's defaults are lenient in ways a model must not see: ``Integer``
accepts ``30.7``, ``"30"`` and ``true``; ``Float`` accepts ``"1.5"`` and ``true``.
Every number that reaches a model goes through these fields instead.

``StrictSchema`` loads and dumps through a compiled pass (``mlservice.fastschema``)
when it can, and through marshmallow itself otherwise: same results, same errors.
"""
from __future__ import annotations

import contextlib
import numbers
from collections.abc import Callable, Iterator
from typing import Any

import marshmallow as ma
import numpy as np
from apispec import BasePlugin
from marshmallow import fields, validate

from mlservice import fastschema
from mlservice.explain import ood

MAX_BATCH_ROWS = 1000
#: Unknown fields an object may carry before it is refused whole, without naming each (names can carry data).
MAX_UNKNOWN_FIELDS = 5
TOO_MANY_FIELDS = f"Too many fields: more than {MAX_UNKNOWN_FIELDS} unknown ones. Check the field names."
#: Load and dump through compiled passes where possible; False: marshmallow alone (tests, bench).
COMPILED = True

#: Subject keys route canaries; the message never repeats the key.
SUBJECT_KEY = validate.Regexp(r"^[A-Za-z0-9_.:-]{1,64}$", error="Use 1 to 64 letters, digits or _.:-")
NUMBER_ERROR = "Not a valid number."
INTEGER_ERROR = "Not a valid integer."
OOD_ISSUES = list(ood.ISSUE_CODES)


@contextlib.contextmanager
def marshmallow_only() -> Iterator[None]:
    """Within the block, every ``StrictSchema`` loads and dumps through marshmallow alone (the reference)."""
    global COMPILED
    before, COMPILED = COMPILED, False
    try:
        yield
    finally:
        COMPILED = before


class StrictSchema(ma.Schema):
    """Unknown fields are errors at every level, so a typo never goes unnoticed.

    ``OPENAPI_EXTRA`` adds JSON-Schema keywords marshmallow cannot express
    (e.g. "exactly one of"), so the published spec matches what is enforced.
    """

    OPENAPI_EXTRA: dict[str, Any] = {}

    class Meta:
        unknown = ma.RAISE

    def load(self, data: Any, *, many: bool | None = None, partial: Any = None, unknown: str | None = None) -> Any:
        """marshmallow's ``load``; valid input takes one compiled pass, anything else marshmallow's own."""
        if COMPILED and not (many or partial or self.many or self.partial):
            fast = self._compiled("load")
            if fast is not None:
                try:
                    return fast(data)
                except Exception:  # noqa: BLE001 - any doubt: marshmallow decides, with its own messages
                    pass
        refuse_crowded(self, data)
        return super().load(data, many=many, partial=partial, unknown=unknown)

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """marshmallow's ``dump``, through one compiled pass when the values have the expected types."""
        if COMPILED and not (many or self.many):
            fast = self._compiled("dump")
            if fast is not None:
                try:
                    return fast(obj)
                except Exception:  # noqa: BLE001 - marshmallow handles whatever the fast pass will not
                    pass
        return super().dump(obj, many=many)

    def _compiled(self, what: str) -> Callable[[Any], Any] | None:
        """This instance's compiled loader or dumper (None: not compilable), built once."""
        cache = self.__dict__.setdefault("_compiled_passes", {})
        if what not in cache:
            cache[what] = fastschema.loader(self) if what == "load" else fastschema.dumper(self)
        return cache[what]


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


class SchemaExtrasPlugin(BasePlugin):
    """apispec plugin publishing each schema's ``OPENAPI_EXTRA``."""

    def schema_helper(self, name: str, definition: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        schema = kwargs.get("schema")
        schema_cls = schema if isinstance(schema, type) else type(schema)
        return dict(getattr(schema_cls, "OPENAPI_EXTRA", {})) or None


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
        plain = self.plain(value)
        return plain if plain is not None else super()._serialize(value, attr, obj, **kwargs)

    def plain(self, value: Any) -> list[Any] | np.ndarray | None:
        """``value`` as JSON values (a list, or finite float64s) without a call per value; None: not plain."""
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
    rows = BoundedList(
        fields.Nested(row_schema),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH_ROWS),
        metadata={"description": description},
    )
    batch = StrictSchema.from_dict({"rows": rows}, name=f"{row_schema.__name__.removesuffix('Schema')}BatchSchema")
    batch.error_messages = {"type": f'The body must be a JSON object {{"rows": [...]}} with 1 to {MAX_BATCH_ROWS} rows, '
                                    "not a bare list."}
    return batch


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


class OodWarningSchema(ma.Schema):
    """An input field outside what the model was trained on; the request is still answered."""

    field = fields.String(required=True, metadata={"description": "The request field (never its value)."})
    index = fields.Integer(metadata={"description": "For list fields: the position of the flagged entry."})
    issue = fields.String(
        required=True,
        validate=validate.OneOf(OOD_ISSUES),
        metadata={"description": "below_training_range / above_training_range: outside the min and max in the "
                  "model card; unseen_category / unseen_missing: a category or a missing value the training data "
                  "never had; unknown_item: a liked item not in the catalog (skipped); rarely_rated_item: a liked item "
                  "too few users rated for its similarities to mean much."},
    )


def ood_warnings() -> fields.List:
    """The ``warnings`` list every prediction result carries (empty when all is in range)."""
    return fields.List(
        fields.Nested(OodWarningSchema), required=True,
        metadata={"description": "Out-of-distribution flags, one per field; empty when every field is in range."},
    )
