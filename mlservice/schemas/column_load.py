"""Loading ``{"columns": {field: [values]}}``: one vectorised check per column, marshmallow for the rest.

The reference semantics are plain marshmallow's on the documented schema (a
``List`` of a copy of each row field, 1 to ``MAX_ROWS`` long), plus one rule no
JSON Schema can state: every column has the same length. Everything marshmallow
would report (the body's shape, unknown, missing or null columns, values that
are not lists, each bad value) is reported with marshmallow's own messages, in
its own shape (``{"columns": {"glucose": {17: [...]}}}``), and keys that are not
plain names are masked downstream (``mlservice.errors``). Bad values are asked
about row by row, for at most ``MAX_ERROR_ROWS`` rows with errors: the work an
invalid request causes stays that of a full row batch.
"""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import marshmallow as ma
import numpy as np
from marshmallow import fields, utils, validate

from mlservice.schemas.column_checks import Check, NumberCheck, check_for
from mlservice.column_batch import ColumnBatch

MAX_ROWS = 10_000
MAX_ERROR_ROWS = 1_000
TOP = "columns"


class ColumnLoader:
    """``load(body) -> ColumnBatch`` for a declared ``{"columns": {name: List(field)}}`` schema."""

    def __init__(self, declared: ma.Schema) -> None:
        self.declared = declared
        self.nested: fields.Nested = declared.fields[TOP]
        self.lists: dict[str, fields.List] = dict(self.nested.schema.fields)
        self.checks: dict[str, Check] = {name: check_for(field.inner) for name, field in self.lists.items()}
        self.integers = frozenset(
            name for name, check in self.checks.items() if isinstance(check, NumberCheck) and float not in check.types)

    def load(self, body: Any) -> ColumnBatch:
        """The columns of ``body``; else a ``ValidationError`` holding marshmallow's messages."""
        errors: dict[str, Any] = {}
        given = self._given(body, errors)
        if given is None:
            raise ma.ValidationError(errors)
        loaded, problems = self._values(given)
        if not problems and not errors:  # lengths are compared only once every value has passed
            n, problems = _equal_lengths(given, self.lists)
        if problems:
            errors[TOP] = problems
        if errors:
            raise ma.ValidationError(errors)
        return ColumnBatch(n, {name: loaded.get(name, self._missing(name, n)) for name in self.checks}, self.integers)

    def _given(self, body: Any, errors: dict[str, Any]) -> Any:
        """The ``columns`` mapping, or None after noting why there is none."""
        schema_messages = self.declared.error_messages
        if not isinstance(body, Mapping):
            errors["_schema"] = [schema_messages["type"]]
            return None
        errors.update({key: [schema_messages["unknown"]] for key in body if key != TOP})
        given = body.get(TOP, ma.missing)
        if given is ma.missing or given is None:
            errors[TOP] = [self.nested.error_messages["required" if given is ma.missing else "null"]]
            return None
        if not isinstance(given, Mapping):
            errors[TOP] = {"_schema": [self.nested.schema.error_messages["type"]]}
            return None
        return dict(given)

    def _values(self, given: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(loaded columns, errors): each column through its check; what a check flags, through marshmallow."""
        unknown = self.nested.schema.error_messages["unknown"]
        errors: dict[str, Any] = {key: [unknown] for key in given if key not in self.lists}
        loaded, flagged = {}, {}
        for name, field in self.lists.items():
            value = given.get(name, ma.missing)
            if value is ma.missing or value is None or not utils.is_collection(value):
                if value is not ma.missing or field.required:
                    kind = "required" if value is ma.missing else "null" if value is None else "invalid"
                    errors[name] = [field.error_messages[kind]]
                continue
            given[name] = values = value if type(value) is list else list(value)
            loaded[name], flagged[name] = self.checks[name](values)
        self._ask_marshmallow(given, flagged, loaded, errors)
        for name in loaded:
            if name not in errors:
                _length(self.lists[name], given[name], errors, name)
        return loaded, errors

    def _ask_marshmallow(self, given: dict, flagged: dict[str, list[int]], loaded: dict, errors: dict) -> None:
        """Flagged values through the row schema's own fields, by row, until ``MAX_ERROR_ROWS`` rows have errors.

        A value marshmallow accepts is kept as it loaded it; only a column with
        every flagged value accepted is rebuilt (with errors, nothing is used).
        """
        ask, accepted, bad_rows = _Memo(self.lists), {}, 0
        for i, group in itertools.groupby(_by_row(flagged), key=lambda pair: pair[0]):
            if bad_rows == MAX_ERROR_ROWS:
                errors["_schema"] = [f"Errors are listed for the first {MAX_ERROR_ROWS} rows that have any."]
                return
            bad = False
            for _, name in group:
                ok, result = ask(name, given[name][i])
                (accepted if ok else errors).setdefault(name, {})[i] = result
                bad |= not ok
            bad_rows += bad
        for name, values in accepted.items():
            if name not in errors:
                column = list(given[name])
                for i, value in values.items():
                    column[i] = value
                loaded[name] = self.checks[name].rebuild(column)

    def _missing(self, name: str, n: int) -> Any:
        return np.full(n, np.nan) if isinstance(self.checks[name], NumberCheck) else [None] * n


class _Memo:
    """``field.deserialize`` per (column, value), errors remembered.

    The fields ``checks`` accepts (strict numbers, strings) answer from the value
    alone, and refuse any list or mapping with one message whatever it holds: such
    values are remembered by type.
    """

    def __init__(self, lists: Mapping[str, fields.List]) -> None:
        self.lists: Mapping[str, fields.List] = lists
        self.failed: dict[tuple[Any, ...], Any] = {}

    def __call__(self, name: str, value: Any) -> tuple[bool, Any]:
        key = (name, type(value)) if isinstance(value, (list, dict)) else (name, type(value), value)
        try:
            return False, self.failed[key]
        except (KeyError, TypeError):  # not seen, or not hashable
            pass
        try:
            return True, self.lists[name].inner.deserialize(value)
        except ma.ValidationError as exc:
            try:
                self.failed[key] = exc.messages
            except TypeError:
                pass
            return False, exc.messages


def _by_row(flagged: Mapping[str, list[int]]) -> Iterator[tuple[int, str]]:
    """(row, column) pairs in row order, lazily: only the rows asked about cost anything."""
    return heapq.merge(*(zip(positions, itertools.repeat(name)) for name, positions in flagged.items()))


def _length(field: fields.List, values: list[Any], errors: dict[str, Any], name: str) -> None:
    """The list's own validators (its length bounds), run after its values, as marshmallow runs them."""
    messages = [m for validator in field.validators for m in _messages(validator, values)]
    if messages:
        errors[name] = messages


def _equal_lengths(given: dict[str, Any], lists: Mapping[str, fields.List]) -> tuple[int, dict[str, list[str]]]:
    """(n, errors): every column must have the length most columns have (ties: the first field's)."""
    lengths = {name: len(given[name]) for name in lists if name in given}
    if not lengths:
        return 0, {"_schema": ["Send at least one column."]}
    counts = list(lengths.values())
    n = max(counts, key=counts.count)
    equal = validate.Length(equal=n)
    return n, {name: _messages(equal, given[name]) for name, length in lengths.items() if length != n}


def _messages(validator: Any, value: Any) -> list[str]:
    """The validator's own messages for ``value`` (it is known to fail)."""
    try:
        validator(value)
    except ma.ValidationError as exc:
        return exc.messages
    return []
