"""Compiled validation and dumping (``mlservice.schemas.compiled``) answer exactly as marshmallow does.

Every comparison runs the same schema instance twice: through ``StrictSchema``'s
compiled pass, and with ``reference_only`` (marshmallow alone). Results
are compared by ``repr``, so types (``73`` vs ``73.0``) and key order count too;
errors by their messages.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import marshmallow as ma
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import fields, validate

from mlservice.schemas import base, compiled
from mlservice.schemas import fields as strict
from mlservice.blueprint import ServiceBlueprint
from mlservice.diagnose.schemas import (DiagnoseBatchResultSchema, DiagnoseResultSchema, EXAMPLE_PATIENT,
                                        PatientBatchSchema, PatientSchema)
from mlservice.recommend.schemas import RecommendQuerySchema, RecommendResultSchema
from mlservice.risk.schemas import (EXAMPLE_APPLICANT, ApplicantBatchSchema, ApplicantSchema, RiskBatchResultSchema,
                                    RiskResultSchema)
from tests.factories import PATIENT
from tests.strategies import JUNK, SETTINGS, misshapen

ROW_SCHEMAS = {"risk": ApplicantSchema(), "diagnose": PatientSchema()}
BATCH_SCHEMAS = {"risk": ApplicantBatchSchema(), "diagnose": PatientBatchSchema()}
EXAMPLES = {"risk": EXAMPLE_APPLICANT, "diagnose": EXAMPLE_PATIENT}
RESULT_SCHEMAS = [RiskResultSchema(), RiskBatchResultSchema(), DiagnoseResultSchema(), DiagnoseBatchResultSchema(),
                  RecommendResultSchema()]


def both(run: Callable[[], Any]) -> tuple[tuple[str, str], tuple[str, str]]:
    """``run()`` through the compiled pass, then through marshmallow alone: (outcome, outcome)."""
    compiled = _outcome(run)
    with base.reference_only():
        return compiled, _outcome(run)


def _outcome(run: Callable[[], Any]) -> tuple[str, str]:
    try:
        return "ok", repr(run())
    except ma.ValidationError as exc:
        return "invalid", repr(exc.messages)
    except Exception as exc:  # noqa: BLE001 - marshmallow's own failures must be reproduced too
        return "error", type(exc).__name__


# -- input values: mostly plausible, some just out of bounds, some of the wrong type ----------

def plausible(field: fields.Field) -> st.SearchStrategy:
    ranges = [v for v in field.validators if isinstance(v, validate.Range)]
    choices = [v for v in field.validators if isinstance(v, validate.OneOf)]
    if choices:
        return st.sampled_from([*choices[0].choices, "nope", ""])
    if isinstance(field, fields.String):
        return st.one_of(st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True), st.text(max_size=70))
    low, high = (ranges[0].min, ranges[0].max) if ranges else (-1e6, 1e6)
    numbers = st.integers(int(low) - 2, int(high) + 2)
    if isinstance(field, strict.StrictFloat):
        numbers = st.one_of(numbers, st.floats(low - 1, high + 1), st.sampled_from([float("nan"), float("inf")]))
    return numbers


@st.composite
def rows(draw: Any, schema: ma.Schema) -> Any:
    if draw(st.integers(0, 30)) == 0:
        return draw(JUNK)
    row = {}
    for name, field in schema.fields.items():
        if draw(st.integers(0, 12)) == 0:
            continue  # omitted
        row[name] = draw(JUNK) if draw(st.integers(0, 15)) == 0 else draw(plausible(field))
    if draw(st.integers(0, 25)) == 0:
        row[draw(st.sampled_from(["name", "Seniority", "glu", "pregnancies "]))] = 1
    return row


@st.composite
def batches(draw: Any, use_case: str) -> Any:
    return misshapen(draw, {"rows": draw(st.lists(rows(ROW_SCHEMAS[use_case]), max_size=6))}, "rows", {"extra": 1})


@pytest.mark.parametrize("use_case", ["risk", "diagnose"])
@SETTINGS
@given(data=st.data())
def test_batches_load_exactly_as_marshmallow_loads_them(use_case, data):
    body = data.draw(batches(use_case))
    compiled, reference = both(lambda: BATCH_SCHEMAS[use_case].load(body, unknown=ma.RAISE))
    assert compiled == reference


@pytest.mark.parametrize("use_case", ["risk", "diagnose"])
@SETTINGS
@given(data=st.data())
def test_single_rows_load_exactly_as_marshmallow_loads_them(use_case, data):
    row = data.draw(rows(ROW_SCHEMAS[use_case]))
    compiled, reference = both(lambda: ROW_SCHEMAS[use_case].load(row, unknown=ma.RAISE))
    assert compiled == reference


@pytest.mark.parametrize("use_case", ["risk", "diagnose"])
def test_a_full_valid_batch_takes_the_compiled_pass_and_matches(use_case, monkeypatch):
    body = {"rows": [dict(EXAMPLES[use_case]) for _ in range(base.MAX_BATCH_ROWS)]}
    compiled, reference = both(lambda: BATCH_SCHEMAS[use_case].load(copy.deepcopy(body)))
    assert compiled == reference and compiled[0] == "ok"
    monkeypatch.setattr(ma.Schema, "load", lambda *a, **k: pytest.fail("marshmallow ran on a valid batch"))
    BATCH_SCHEMAS[use_case].load(body)


@pytest.mark.parametrize("mutate", [
    lambda rows: rows.append(rows[0]),  # 1,001 rows
    lambda rows: rows.clear(),  # none
    lambda rows: rows[500].update(age=17),  # out of range, deep in the batch
    lambda rows: rows[999].update(glucose="high"),  # wrong type in the last row
    lambda rows: rows[3].pop("bmi"),  # a required field missing
    lambda rows: rows[7].update(name="x"),  # an unknown field
    lambda rows: rows.__setitem__(2, None),  # a row that is not an object
], ids=["too-many", "empty", "range", "type", "missing", "unknown", "null-row"])
def test_invalid_batches_get_marshmallows_own_messages(mutate):
    body = {"rows": [dict(EXAMPLE_PATIENT) for _ in range(base.MAX_BATCH_ROWS)]}
    mutate(body["rows"])
    compiled, reference = both(lambda: BATCH_SCHEMAS["diagnose"].load(body))
    assert compiled == reference and compiled[0] == "invalid"


def test_the_http_error_body_is_unchanged(make_app, tiny_entry):
    client = make_app({"diagnose": tiny_entry}).test_client()
    body = {"rows": [PATIENT, {**PATIENT, "glucose": True, "age": 200, "name": "x"}, {"bmi": 30}]}
    compiled, reference = both(lambda: client.post("/diagnose/batch", json=body).get_data())
    assert compiled == reference and b'"code":422' in eval(compiled[1])


# -- dumping: results of every shape the services build, and of shapes they should not --------


def dumpable(field: fields.Field) -> st.SearchStrategy:
    if isinstance(field, fields.Nested):
        return st.one_of(results(field.schema), st.none())
    if isinstance(field, fields.List):
        return st.one_of(st.lists(dumpable(field.inner), max_size=3), st.none(), st.just((1.0,)))
    odd = st.sampled_from([None, True, "7", np.float64(0.25), np.int64(3)])
    if isinstance(field, fields.Float):
        return st.one_of(st.floats(), st.integers(-10, 10), odd)
    if isinstance(field, fields.Integer):
        return st.one_of(st.integers(), odd)
    if isinstance(field, fields.Boolean):
        return st.one_of(st.booleans(), odd)
    return st.one_of(st.text(max_size=5), odd)


@st.composite
def results(draw: Any, schema: ma.Schema) -> Any:
    out = {name: draw(dumpable(field)) for name, field in schema.fields.items() if draw(st.integers(0, 8))}
    if draw(st.integers(0, 10)) == 0:
        out["extra"] = 1
    return out


@pytest.mark.parametrize("schema", RESULT_SCHEMAS, ids=lambda s: type(s).__name__)
@SETTINGS
@given(data=st.data())
def test_results_dump_exactly_as_marshmallow_dumps_them(schema, data):
    obj = data.draw(results(schema))
    compiled, reference = both(lambda: schema.dump(obj))
    assert compiled == reference


def test_every_prediction_schema_is_compiled():
    """If a schema change stops compiling, requests stay correct but slow: say so here."""
    for schema in [*ROW_SCHEMAS.values(), *BATCH_SCHEMAS.values(), QUERY]:
        assert compiled.loader(schema) is not None, type(schema).__name__
    for schema in RESULT_SCHEMAS:
        assert compiled.dumper(schema) is not None, type(schema).__name__


def test_schemas_with_load_hooks_are_left_to_marshmallow():
    class Hooked(base.StrictSchema):
        a = strict.StrictInteger(required=True)

        @ma.post_load
        def _double(self, data: dict, **kwargs: Any) -> dict:
            return {"a": data["a"] * 2}

    assert compiled.loader(Hooked()) is None
    assert Hooked().load({"a": 2}) == {"a": 4}


def test_reference_only_restores_what_was_set_before():
    with base.reference_only():
        assert base.COMPILED_PASSES.get() is False
        with base.reference_only():
            pass
        assert base.COMPILED_PASSES.get() is False  # an inner block does not switch the pass back on
    assert base.COMPILED_PASSES.get() is True


def test_a_schema_check_runs_on_the_compiled_result_and_its_errors_are_marshmallows():
    class Checked(base.StrictSchema):
        a = strict.StrictInteger(required=True)

        @ma.validates_schema
        def _check(self, data: dict, **kwargs: Any) -> None:
            if data["a"] == 2:
                raise ma.ValidationError("not two")

    assert compiled.loader(Checked()) is not None
    assert Checked().load({"a": 3}) == {"a": 3}
    with pytest.raises(ma.ValidationError) as raised:
        Checked().load({"a": 2})
    assert raised.value.messages == {"_schema": ["not two"]}


QUERY = RecommendQuerySchema()


@st.composite
def queries(draw: Any) -> Any:
    """Recommendation queries: either, both or neither of user_id and liked_items, filters, junk."""
    ids = st.integers(-2, 2**31 + 1)
    parts = {"user_id": ids, "liked_items": st.lists(ids, max_size=4), "k": st.integers(-1, 102),
             "genres": st.lists(st.sampled_from(["Comedy", "Drama", "comedy", ""]), max_size=3),
             "exclude_items": st.lists(ids, max_size=3), "extra": st.integers()}
    query = {name: draw(st.one_of(values, JUNK) if draw(st.integers(0, 8)) else JUNK)
             for name, values in parts.items() if draw(st.integers(0, 2 if name != "extra" else 20)) == 0}
    return query if draw(st.integers(0, 30)) else draw(JUNK)


@SETTINGS
@given(query=queries())
def test_recommendation_queries_load_exactly_as_marshmallow_loads_them(query):
    compiled, reference = both(lambda: QUERY.load(query))
    assert compiled == reference


def test_the_parser_reuses_one_instance_per_schema_class():
    parser = ServiceBlueprint.ARGUMENTS_PARSER
    assert parser._get_schema(PatientSchema, None) is parser._get_schema(PatientSchema, None)
