"""Columnar bodies are judged exactly as marshmallow judges the documented schema, and as rows are.

The reference is plain marshmallow (``reference_only``) loading the declared
schema, value by value, plus the one rule JSON Schema cannot state (all columns
of one length). Over HTTP: the same messages as ``/batch`` for the same rows,
re-keyed by column, never a submitted value, never a 500.
"""
from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import fields, validate

from mlservice.schemas import base
from mlservice.schemas import fields as strict
from mlservice.schemas import column_load as columnar_load
from mlservice.schemas.column_checks import Unsupported, check_for
from mlservice.column_batch import ColumnBatch
from mlservice.schemas.column_load import MAX_ERROR_ROWS, MAX_ROWS
from mlservice.diagnose.schemas import EXAMPLE_COLUMNS, EXAMPLE_PATIENT, PatientColumnsSchema
from mlservice.risk.schemas import EXAMPLE_APPLICANT, ApplicantColumnsSchema
from tests.strategies import JUNK, SETTINGS, misshapen

COLUMN_SCHEMAS = {"diagnose": PatientColumnsSchema(), "risk": ApplicantColumnsSchema()}
EXAMPLES = {"diagnose": EXAMPLE_PATIENT, "risk": EXAMPLE_APPLICANT}
CANARY = "Jane Doe 1970-01-01"


def reference(schema: ma.Schema, body: Any) -> tuple[str, Any]:
    """Plain marshmallow on the declared fields, then the equal-length rule."""
    try:
        with base.reference_only():
            loaded = ma.Schema.load(schema, body)
    except ma.ValidationError as exc:
        return "invalid", exc.messages
    lengths = [len(v) for v in loaded["columns"].values()]
    n = max(lengths, key=lengths.count)
    if set(lengths) != {n}:
        return "lengths", {"columns": {k: [f"Length must be {n}."] for k, v in loaded["columns"].items() if len(v) != n}}
    return "ok", loaded["columns"]


def ours(schema: ma.Schema, body: Any) -> tuple[str, Any]:
    try:
        columns = schema.load(body)
    except ma.ValidationError as exc:
        return "invalid", exc.messages
    return "ok", columns


def same_values(columns: ColumnBatch, loaded: dict[str, list[Any]], schema: ma.Schema) -> None:
    """Our columns hold what marshmallow loaded (numbers as float64, None as NaN; absent = all missing)."""
    for name, column in columns.data.items():
        want = loaded.get(name, [None] * columns.n)
        if isinstance(column, np.ndarray):
            assert column.dtype == np.float64
            assert column.tolist() == pytest.approx([np.nan if v is None else float(v) for v in want], nan_ok=True)
        else:
            assert column == want


# -- bodies: mostly plausible columns of one length, with junk, bad values and odd shapes --------

def valid(field: fields.Field) -> st.SearchStrategy:
    """Values the column's inner field accepts, bounds included."""
    inner = field.inner
    choices = [v for v in inner.validators if isinstance(v, validate.OneOf)]
    if choices:
        values = st.sampled_from(list(choices[0].choices))
    else:
        bounds = inner.validators[0]
        values = st.integers(int(bounds.min), int(bounds.max))
        if isinstance(inner, strict.StrictFloat):
            values = st.one_of(values, st.floats(bounds.min, bounds.max))
    return st.one_of(values, st.none()) if inner.allow_none else values


def plausible(field: fields.Field) -> st.SearchStrategy:
    """Valid values, and values just past each rule."""
    inner = field.inner
    choices = [v for v in inner.validators if isinstance(v, validate.OneOf)]
    if choices:
        return st.one_of(valid(field), st.sampled_from(["nope", "", None]))
    bounds = inner.validators[0]
    odd = st.sampled_from([bounds.min - 1, bounds.max + 1, bounds.max + 0.5, float("nan"), float("inf"), None, True])
    return st.one_of(valid(field), odd)


@st.composite
def bodies(draw: Any, schema: ma.Schema) -> Any:
    lists = schema.fields["columns"].schema.fields
    n, mode = draw(st.integers(0, 6)), draw(st.sampled_from(["clean", "clean", "lengths", "values", "anything"]))
    columns: dict[str, Any] = {}
    for name, field in lists.items():
        roll = draw(st.integers(0, 40))
        if (mode == "anything" and roll == 0) or (roll < 8 and not field.required):
            continue  # left out
        if mode == "anything" and roll == 1:
            columns[name] = draw(JUNK)
            continue
        length = draw(st.integers(0, 7)) if mode in ("lengths", "anything") and roll > 35 else n
        values = valid(field) if mode in ("clean", "lengths") else plausible(field)
        columns[name] = [draw(JUNK) if mode == "anything" and draw(st.integers(0, 30)) == 0 else draw(values)
                         for _ in range(length)]
    if mode == "anything" and draw(st.integers(0, 5)) == 0:
        columns[draw(st.sampled_from(["patient_id", "glu", "Seniority", CANARY]))] = [1] * n
    body = {"columns": columns}
    return misshapen(draw, body, "columns", {"rows": []}) if mode == "anything" else body


@pytest.mark.parametrize("use_case", ["diagnose", "risk"])
@SETTINGS
@given(data=st.data())
def test_bodies_load_exactly_as_marshmallow_loads_them(use_case, data):
    schema = COLUMN_SCHEMAS[use_case]
    body = data.draw(bodies(schema))
    want, got = reference(schema, body), ours(schema, body)
    if want[0] == "ok":
        assert got[0] == "ok", got
        same_values(got[1], want[1], schema)
    else:  # marshmallow's own errors, or (when it accepts each column) the equal-length rule's
        assert got == ("invalid", want[1])


@pytest.mark.parametrize("use_case", ["diagnose", "risk"])
def test_a_valid_full_body_never_asks_marshmallow(use_case, monkeypatch):
    body = {"columns": {k: [v] * MAX_ROWS for k, v in EXAMPLES[use_case].items() if not k.endswith("_id")}}
    monkeypatch.setattr(ma.fields.Field, "deserialize", lambda *a, **k: pytest.fail("marshmallow ran on a valid value"))
    columns = COLUMN_SCHEMAS[use_case].load(body)
    assert len(columns) == MAX_ROWS


def test_errors_are_listed_for_at_most_so_many_rows():
    body = {"columns": {k: [v] * (MAX_ERROR_ROWS + 5) for k, v in EXAMPLE_PATIENT.items() if k != "patient_id"}}
    body["columns"]["glucose"] = ["high"] * (MAX_ERROR_ROWS + 5)
    body["columns"]["age"][MAX_ERROR_ROWS + 2] = 7
    with pytest.raises(ma.ValidationError) as raised:
        PatientColumnsSchema().load(body)
    errors = raised.value.messages["columns"]
    assert sorted(errors["glucose"]) == list(range(MAX_ERROR_ROWS)) and "age" not in errors
    assert errors["_schema"] == [f"Errors are listed for the first {MAX_ERROR_ROWS} rows that have any."]


def test_a_value_marshmallow_accepts_is_kept(monkeypatch):
    """A value the vectorised check does not know (here: a NumPy integer) is marshmallow's to judge."""
    body = {"columns": {k: [v, v] for k, v in EXAMPLE_PATIENT.items() if k != "patient_id"}}
    body["columns"]["age"] = [np.int64(40), 41]
    columns = PatientColumnsSchema().load(body)
    assert columns["age"].tolist() == [40.0, 41.0]


# -- over HTTP: the row endpoints' messages, re-keyed; no values; no 500s ---------------------


def rekeyed(batch_errors: dict[str, Any]) -> dict[str, Any]:
    """``{"json": {"rows": {i: {field: m}}}}`` as ``{"json": {"columns": {field: {i: m}}}}``."""
    columns: dict[str, Any] = {}
    for i, row in batch_errors["json"]["rows"].items():
        for field, messages in row.items():
            columns.setdefault(field, {})[i] = messages
    return {"json": {"columns": columns}}


BAD_VALUES = ["high", True, None, 30.7, 10**30, -1, [1], {"a": 1}, float(2**63), "", 1e300]


@pytest.mark.parametrize("use_case", ["diagnose", "risk"])
def test_invalid_columns_get_the_messages_rows_get(client, use_case):
    rng = np.random.default_rng(3)
    names = [k for k in EXAMPLES[use_case] if not k.endswith("_id")]
    rows = [dict((k, EXAMPLES[use_case][k]) for k in names) for _ in range(300)]
    for _ in range(40):  # fewer than MAX_FIELD_ERRORS, so both answers list every one
        row, name = rows[rng.integers(0, len(rows))], names[rng.integers(0, len(names))]
        row[name] = BAD_VALUES[rng.integers(0, len(BAD_VALUES))]
    batch = client.post(f"/{use_case}/batch", json={"rows": rows})
    columns = client.post(f"/{use_case}/columns", json={"columns": {k: [r[k] for r in rows] for k in names}})
    assert batch.status_code == columns.status_code == 422
    assert columns.get_json()["errors"] == rekeyed(batch.get_json()["errors"])


@pytest.mark.parametrize(("body", "errors"), [
    ({"columns": {}}, {"pregnancies": ["Missing data for required field."]}),
    ({"columns": {"glucose": [], **{k: [] for k in EXAMPLE_COLUMNS["columns"] if k != "glucose"}}},
     {"glucose": ["Length must be between 1 and 10000."]}),
    ({"columns": {**EXAMPLE_COLUMNS["columns"], "age": [28]}}, {"age": ["Length must be 2."]}),
    ({"columns": {**EXAMPLE_COLUMNS["columns"], "age": 28}}, {"age": ["Not a valid list."]}),
    ({"columns": {**EXAMPLE_COLUMNS["columns"], "age": None}}, {"age": ["Field may not be null."]}),
    ({"columns": {**EXAMPLE_COLUMNS["columns"], "patient_id": ["p-1", "p-2"]}}, {"patient_id": ["Unknown field."]}),
    ({"columns": {**EXAMPLE_COLUMNS["columns"], CANARY: [1, 2]}}, {"<unknown field>": ["Unknown field."]}),
    ({"columns": {k: [v[0]] * (MAX_ROWS + 1) for k, v in EXAMPLE_COLUMNS["columns"].items()}},
     {k: ["Length must be between 1 and 10000."] for k in EXAMPLE_COLUMNS["columns"]}),
])
def test_shape_errors(client, body, errors):
    response = client.post("/diagnose/columns", json=body)
    assert response.status_code == 422
    got = response.get_json()["errors"]["json"]["columns"]
    assert {k: got[k] for k in errors} == errors


@pytest.mark.parametrize("raw", [
    b'{"columns": {"glucose": [NaN]}}', b'{"columns": {"glucose": [1' + b"0" * 400 + b"]}}",
    b'{"columns": ' * 2000 + b"{}" + b"}" * 2000, b'{"columns": {"glucose": [1, 2', b"\xff",
])
def test_undecodable_bodies_are_400(client, raw):
    response = client.post("/diagnose/columns", data=raw, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["code"] == 400


ODD = [18446744073709551615, -9223372036854775809, [[1]], None, "120", True, 1e308, -0.0, {"$gt": 1}, CANARY]


@pytest.mark.parametrize("use_case", ["diagnose", "risk"])
@pytest.mark.parametrize("odd", ODD, ids=repr)
def test_odd_values_are_422_and_never_echoed(client, use_case, odd):
    names = [k for k in EXAMPLES[use_case] if not k.endswith("_id")]
    for name in names:
        body = {"columns": {k: [EXAMPLES[use_case][k]] * 3 for k in names}}
        body["columns"][name] = [odd] * 3
        response = client.post(f"/{use_case}/columns", json=body)
        assert response.status_code in (200, 422), (name, response.get_json())
        text = response.get_data(as_text=True)
        if response.status_code == 422:
            assert CANARY not in text and "18446744073709551615" not in text and "1e+308" not in text.lower()
            assert set(response.get_json()["errors"]["json"]["columns"]) == {name}


def test_everything_null_everywhere(client):
    for body in ({"columns": {k: [None] * 4 for k in EXAMPLE_COLUMNS["columns"]}}, {"columns": None}, None, [],
                 {"columns": []}, {"columns": {k: None for k in EXAMPLE_COLUMNS["columns"]}}):
        response = client.post("/diagnose/columns", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 422, body


# -- the schema pieces ----------------------------------------------------------------------


@pytest.mark.parametrize("field", [
    strict.StrictInteger(), strict.StrictInteger(validate=validate.Range(min=0)), fields.Integer(validate=validate.Range(0, 1)),
    strict.StrictFloat(validate=validate.Range(0, 2**60 + 1)), fields.String(), fields.String(validate=validate.Length(1, 3)),
    strict.StrictFloat(validate=validate.OneOf([1.0])), fields.String(validate=validate.OneOf(["a"]), data_key="b"),
    strict.StrictFloat(validate=validate.Range(0, 1), post_load=lambda v: v * 2),
    strict.StrictFloat(validate=validate.Range(0, 9), load_default=5.0),
])
def test_fields_the_checks_cannot_reproduce_are_refused_up_front(field):
    with pytest.raises(Unsupported):
        check_for(field)


def test_the_openapi_document_describes_the_columns(client):
    spec = client.get("/openapi.json").get_json()
    for path in ("/diagnose/columns", "/risk/columns"):
        responses = spec["paths"][path]["post"]["responses"]
        assert {"200", "400", "413", "415", "422", "503"} <= responses.keys()
    values = spec["components"]["schemas"]["PatientColumnValues"]
    assert values["additionalProperties"] is False and "patient_id" not in values["properties"]
    glucose = values["properties"]["glucose"]
    assert (glucose["minItems"], glucose["maxItems"]) == (1, MAX_ROWS)
    assert (glucose["items"]["minimum"], glucose["items"]["maximum"]) == (20, 600)
    income = spec["components"]["schemas"]["ApplicantColumnValues"]["properties"]["income"]
    assert income["items"]["nullable"] is True and "income" not in spec["components"]["schemas"]["ApplicantColumnValues"]["required"]


def test_the_loader_is_built_once_per_schema_class():
    assert PatientColumnsSchema.LOADER is PatientColumnsSchema().LOADER
    assert isinstance(PatientColumnsSchema.LOADER, columnar_load.ColumnLoader)


def test_json_error_keys_are_row_numbers(client):
    body = json.loads(json.dumps(EXAMPLE_COLUMNS))
    body["columns"]["glucose"][1] = "high"
    errors = client.post("/diagnose/columns", json=body).get_json()["errors"]
    assert errors == {"json": {"columns": {"glucose": {"1": ["Not a valid number."]}}}}


# -- dumping columns -----------------------------------------------------------------------

COLUMNS_OUT = base.StrictSchema.from_dict({
    "p": strict.Column(fields.Float(allow_none=True)), "q": strict.Column(fields.Float()),
    "s": strict.Column(fields.String(allow_none=True)), "b": strict.Column(fields.Boolean()),
}, name="ColumnsOutSchema")()
FLOATS = st.lists(st.one_of(st.floats(), st.integers(-5, 5)), max_size=5)
DUMPABLE = st.one_of(
    FLOATS.map(lambda v: np.array(v, dtype=np.float64)),
    st.lists(st.floats(width=32), max_size=4).map(lambda v: np.array(v, dtype=np.float32)),
    st.lists(st.integers(-5, 5), max_size=4).map(np.array), st.lists(st.booleans(), max_size=4).map(np.array),
    st.lists(st.one_of(st.text(max_size=3), st.none()), max_size=4), st.lists(st.booleans(), max_size=4),
    st.lists(st.text(max_size=3), max_size=4).map(np.array), FLOATS, st.none(), st.just([1, "a", None]),
)


def dumped(obj: dict[str, Any]) -> tuple[str, str]:
    try:
        return "ok", repr(COLUMNS_OUT.dump(obj))
    except Exception as exc:  # noqa: BLE001 - the same failure both ways
        return "error", type(exc).__name__


@SETTINGS
@given(obj=st.dictionaries(st.sampled_from(["p", "q", "s", "b"]), DUMPABLE))
def test_columns_dump_the_same_compiled_or_not(obj):
    compiled = dumped(obj)
    with base.reference_only():
        assert dumped(obj) == compiled


def test_columns_never_write_nan():
    out = COLUMNS_OUT.dump({"p": np.array([0.5, np.nan, np.inf, -np.inf]), "b": np.array([True, False])})
    assert out == {"p": [0.5, None, None, None], "b": [True, False]}
    with pytest.raises(ValueError):
        COLUMNS_OUT.dump({"q": np.array([0.5, np.nan])})


FINITE = st.floats(allow_nan=False, allow_infinity=False)
FLOAT_COLUMNS = st.one_of(
    st.lists(FINITE, max_size=6).map(lambda v: np.array(v, dtype=np.float64)),
    st.lists(FINITE, min_size=2, max_size=8).map(lambda v: np.array(v, dtype=np.float64)[::2]),  # not contiguous
    st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), max_size=4).map(lambda v: np.array(v, dtype=np.float32)),
    st.lists(st.integers(-(2**60), 2**60), max_size=4).map(lambda v: np.array(v, dtype=np.int64)),
)


@SETTINGS
@given(column=FLOAT_COLUMNS)
def test_a_float_column_is_written_as_its_python_floats_would_be(app, column):
    """Finite float columns reach the JSON provider as arrays; the text is what it writes for the same Python floats."""
    with app.app_context():
        written = app.json.response(COLUMNS_OUT.dump({"q": column})).get_data()
        as_floats = app.json.response({"q": column.astype(np.float64).tolist()}).get_data()
    assert isinstance(COLUMNS_OUT.dump({"q": column})["q"], np.ndarray)
    assert written == as_floats
    assert json.loads(written) == {"q": [float(x) for x in column.tolist()]}
