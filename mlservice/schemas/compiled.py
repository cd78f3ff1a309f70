"""Compiled load and dump for plain marshmallow schemas: marshmallow's results, faster.

marshmallow calls several Python functions per field per row (about 25 µs for a
13-field row), so validating a 1,000-row batch, or dumping its results, costs
far more than the model. For schemas made only of the fields and validators
below, this module generates one Python function per schema, once per schema
instance, whose checks are inline statements: a row costs a few dict lookups,
type checks and comparisons.

The contract: a compiled loader either returns exactly what ``schema.load``
would return, or raises :class:`Reject`; it never decides that input is invalid. Any problem
(a wrong type, a value out of range, an unknown or missing key, anything
unexpected) makes the caller run marshmallow itself, so every error message is
marshmallow's own. A compiled dumper likewise returns ``schema.dump``'s result
or raises :class:`Reject` (or what marshmallow would raise). A schema's ``validates_schema`` checks run on the compiled result, and
any failure of theirs also hands the input to marshmallow. Other hooks
(``pre_load``, ``post_load``, ...), other field types or validators,
``data_key``/``attribute``, or callable defaults are not compiled (``None``):
marshmallow handles them as before.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from marshmallow.decorators import VALIDATES_SCHEMA

from mlservice.schemas.fields import BoundedList, Column, StrictFloat, StrictInteger

MISSING = ma.missing


class Unsupported(Exception):
    """The schema uses something this compiler does not reproduce exactly."""


class Reject(Exception):
    """A value the fast path does not decide; marshmallow will."""


def loader(schema: ma.Schema) -> Callable[[Any], Any] | None:
    """``schema.load`` for one mapping (not ``many``, not ``partial``) as one function, or None."""
    return _Compiler().build(_load_object, schema)


def dumper(schema: ma.Schema) -> Callable[[Any], Any] | None:
    """``schema.dump`` for one object (a dict) as one function, or None."""
    return _Compiler().build(_dump_object, schema)


class _Compiler:
    """Collects generated functions and the constants they use, then ``exec``s them together."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"Reject": Reject, "MISSING": MISSING, "isfinite": math.isfinite,
                                          "ValidationError": ma.ValidationError}
        self.source: list[str] = []

    def build(self, compile_object: Callable[["_Compiler", ma.Schema], str], schema: ma.Schema) -> Callable | None:
        try:
            name = compile_object(self, schema)
        except Unsupported:
            return None
        exec("\n".join(self.source), self.namespace)  # noqa: S102 - our own generated code, no input in it
        return self.namespace[name]

    def const(self, value: Any) -> str:
        name = f"c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def define(self, prefix: str, body: list[str]) -> str:
        """A function ``name(v)`` with ``body`` (indented one level); returns ``name``."""
        name = f"{prefix}{len(self.source)}"
        self.source += [f"def {name}(v):", *("    " + line for line in body), ""]
        return name


# -- load ----------------------------------------------------------------------------


def _load_object(c: _Compiler, schema: ma.Schema) -> str:
    _require_compilable_schema(schema, allowed={VALIDATES_SCHEMA})
    items = list(schema.load_fields.items())
    body = [f"if type(v) is not dict or not v.keys() <= {c.const(frozenset(n for n, _ in items))}: raise Reject",
            "data = v", "out = {}"]
    for name, field in items:
        require_compilable_field(name, field)
        if callable(field.load_default):
            raise Unsupported(f"{name}: callable load_default")
        key = repr(name)
        body += [f"v = data.get({key}, MISSING)", "if v is MISSING:"]
        if field.required:
            body.append("    raise Reject")
        else:
            body.append("    pass" if field.load_default is MISSING else f"    out[{key}] = {c.const(field.load_default)}")
        body += ["else:", *("    " + line for line in _load_value(c, field)), f"    out[{key}] = v"]
    return c.define("load", [*body, *_schema_checks(c, schema), "return out"])


def _schema_checks(c: _Compiler, schema: ma.Schema) -> list[str]:
    """Each ``validates_schema`` method on the loaded ``out``, called as marshmallow calls it."""
    lines = []
    for attr, many, options in _hooks(schema).get(VALIDATES_SCHEMA, ()):
        if many or options.get("pass_original"):
            raise Unsupported(f"{attr}: a collection or original-data schema check")
        check = c.const(getattr(schema, attr))
        lines += ["try:",
                  f"    {check}(out, partial={c.const(schema.partial)}, many=False, unknown={c.const(schema.unknown)})",
                  "except ValidationError:", "    raise Reject"]
    return lines


def _load_value(c: _Compiler, field: fields.Field) -> list[str]:
    """Field.deserialize on ``v``: None, the type's conversion, then each validator."""
    lines = ["if v is None:", "    pass" if field.allow_none else "    raise Reject", "else:"]
    return lines + ["    " + line for line in _convert(c, field) + _validators(c, field.validators)]


def _convert(c: _Compiler, field: fields.Field) -> list[str]:
    kind = type(field)
    if kind is StrictInteger:
        return ["if type(v) is not int: raise Reject"]
    if kind is StrictFloat and field.allow_nan is False:
        return ["if type(v) is int: v = float(v)", "elif type(v) is not float: raise Reject",
                "if not isfinite(v): raise Reject"]
    if kind is fields.String:
        return ["if type(v) is not str: raise Reject"]
    if kind is fields.Nested and not field.many and not field.schema.many:
        return [f"v = {_load_object(c, field.schema)}(v)"]
    if kind in (fields.List, BoundedList):
        require_compilable_field("list item", field.inner)
        item = c.define("item", [*_load_value(c, field.inner), "return v"])
        lengths = [v for v in field.validators if type(v) is validate.Length] if kind is BoundedList else []
        return ["if type(v) is not list: raise Reject", *_validators(c, lengths), f"v = [{item}(x) for x in v]"]
    raise Unsupported(f"field type {kind.__name__}")


def _validators(c: _Compiler, validators: list[Any]) -> list[str]:
    """Each validator's own comparisons, as statements on the converted ``v``."""
    lines = []
    for validator in validators:
        kind = type(validator)
        if kind is validate.Range:
            if validator.min is not None:
                lines.append(f"if v {'<' if validator.min_inclusive else '<='} {c.const(validator.min)}: raise Reject")
            if validator.max is not None:
                lines.append(f"if v {'>' if validator.max_inclusive else '>='} {c.const(validator.max)}: raise Reject")
        elif kind is validate.OneOf:
            choices = validator.choices
            fast = frozenset(choices) if all(type(x) is str for x in choices) else choices
            lines.append(f"if v not in {c.const(fast)}: raise Reject")
        elif kind is validate.Regexp:
            lines.append(f"if {c.const(validator.regex.match)}(v) is None: raise Reject")
        elif kind is validate.Length and validator.equal is None:
            if validator.min is not None:
                lines.append(f"if len(v) < {c.const(validator.min)}: raise Reject")
            if validator.max is not None:
                lines.append(f"if len(v) > {c.const(validator.max)}: raise Reject")
        else:
            raise Unsupported(f"validator {kind.__name__}")
    return lines


# -- dump ----------------------------------------------------------------------------


def _dump_object(c: _Compiler, schema: ma.Schema) -> str:
    _require_compilable_schema(schema)
    body = ["if type(v) is not dict: raise Reject", "obj = v", "out = {}"]
    for name, field in schema.dump_fields.items():
        require_compilable_field(name, field)
        if field.dump_default is not MISSING:
            raise Unsupported(f"{name}: dump_default")
        key = repr(name)
        # A missing key is looked up as an attribute of the dict itself (``dict.items``):
        # for such names, only a present key is safe.
        body += [f"v = obj.get({key}, MISSING)", "if v is MISSING:", "    raise Reject" if hasattr({}, name) else "    pass",
                 "else:", *("    " + line for line in _dump_value(c, field)), f"    out[{key}] = v"]
    return c.define("dump", [*body, "return out"])


def _dump_value(c: _Compiler, field: fields.Field) -> list[str]:
    """Field._serialize on ``v`` (None stays None for every supported type)."""
    kind, lines = type(field), None
    if kind in (fields.Float, StrictFloat) and not field.as_string:
        lines = ["if type(v) is int: v = float(v)", "elif type(v) is not float: raise Reject"]
    elif kind in (fields.Integer, StrictInteger) and not field.as_string:
        lines = ["if type(v) is not int: raise Reject"]
    elif kind is fields.String:
        lines = ["if type(v) is not str: raise Reject"]
    elif kind is fields.Boolean:
        lines = ["if v is not True and v is not False: raise Reject"]
    elif kind is fields.Nested and not field.many and not field.schema.many:
        lines = [f"v = {_dump_object(c, field.schema)}(v)"]
    elif kind is fields.List:
        require_compilable_field("list item", field.inner)
        item = c.define("item", [*_dump_value(c, field.inner), "return v"])
        lines = ["if type(v) is not list: raise Reject", f"v = [{item}(x) for x in v]"]
    elif kind is Column:  # its own one-pass dump is what marshmallow calls too
        lines = [f"v = {c.const(field._serialize)}(v, None, None)"]
    if lines is None:
        raise Unsupported(f"field type {kind.__name__}")
    return ["if v is not None:", *("    " + line for line in lines)]


# -- what is compiled ------------------------------------------------------------------


def _require_compilable_schema(schema: ma.Schema, allowed: frozenset[str] | set[str] = frozenset()) -> None:
    """No hooks but ``allowed`` ones, default attribute access, plain dicts."""
    if any(hooks for tag, hooks in _hooks(schema).items() if tag not in allowed):
        raise Unsupported("schema hooks")
    if type(schema).get_attribute is not ma.Schema.get_attribute or schema.dict_class is not dict:
        raise Unsupported("custom attribute access or dict class")


def _hooks(schema: ma.Schema) -> dict[str, Any]:
    """The schema's decorated hooks by tag: marshmallow keeps them private (``Schema._hooks``) and
    offers no public listing; compiling a schema must know them, to reproduce or refuse them."""
    return schema._hooks


def require_compilable_field(name: str, field: fields.Field) -> None:
    """Input key, output key and attribute are all the field's name; no field hooks."""
    if field.data_key is not None or field.attribute is not None or "." in name:
        raise Unsupported(f"{name}: data_key, attribute or dotted name")
    if getattr(field, "pre_load", None) or getattr(field, "post_load", None):
        raise Unsupported(f"{name}: field-level hooks")
