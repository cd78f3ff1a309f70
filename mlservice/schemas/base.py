"""``StrictSchema``: unknown fields refused at every level, loaded and dumped through a compiled pass.

The compiled pass (``mlservice.schemas.compiled``) answers valid input; on
anything it does not decide it raises its own ``Reject``, and marshmallow itself
answers, with its own messages. ``reference_only`` turns the compiled pass off
within a block of the current context (the reference the tests and the bench
compare with).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from mlservice.schemas import compiled
from mlservice.schemas.fields import BoundedList, refuse_crowded

MAX_BATCH_ROWS = 1000
#: False within ``reference_only``: marshmallow alone loads and dumps.
COMPILED_PASSES: ContextVar[bool] = ContextVar("compiled_passes", default=True)


@contextlib.contextmanager
def reference_only() -> Iterator[None]:
    """Within the block (this context only), every ``StrictSchema`` loads and dumps through marshmallow alone."""
    token = COMPILED_PASSES.set(False)
    try:
        yield
    finally:
        COMPILED_PASSES.reset(token)


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
        if COMPILED_PASSES.get() and not (many or partial or self.many or self.partial):
            fast = self._compiled("load")
            if fast is not None:
                try:
                    return fast(data)
                except compiled.Reject:  # any doubt: marshmallow decides, with its own messages
                    pass
        refuse_crowded(self, data)
        return super().load(data, many=many, partial=partial, unknown=unknown)

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """marshmallow's ``dump``, through one compiled pass when the values have the expected types."""
        if COMPILED_PASSES.get() and not (many or self.many):
            fast = self._compiled("dump")
            if fast is not None:
                try:
                    return fast(obj)
                except compiled.Reject:  # marshmallow handles whatever the compiled pass will not
                    pass
        return super().dump(obj, many=many)

    def _compiled(self, what: str) -> Callable[[Any], Any] | None:
        """This instance's compiled loader or dumper (None: not compilable), built once."""
        cache = self.__dict__.setdefault("_compiled_passes", {})
        if what not in cache:
            cache[what] = compiled.loader(self) if what == "load" else compiled.dumper(self)
        return cache[what]


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
