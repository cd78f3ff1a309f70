"""Where a prediction request's time goes, in process: each part of the path, timed alone.

Validation and dumping are timed twice: through ``StrictSchema``'s compiled pass
and through marshmallow alone (``reference_only``); JSON through the
app's orjson provider and through the standard library as Flask would.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from flask import Flask

from bench.inprocess import per_call
from mlservice.schemas import base
from mlservice.diagnose import schemas as diagnose_schemas
from mlservice.diagnose import service as diagnose_service
from mlservice.classifier_service import to_rows
from mlservice.risk import schemas as risk_schemas
from mlservice.risk import service as risk_service

#: use case -> (row schema, batch schema, result schema, batch result schema, service call for many rows)
PATHS: dict[str, tuple[Any, ...]] = {
    "risk": (risk_schemas.ApplicantSchema(), risk_schemas.ApplicantBatchSchema(), risk_schemas.RiskResultSchema(),
             risk_schemas.RiskBatchResultSchema(), risk_service.assessments.batch, risk_service.assessments.one),
    "diagnose": (diagnose_schemas.PatientSchema(), diagnose_schemas.PatientBatchSchema(),
                 diagnose_schemas.DiagnoseResultSchema(), diagnose_schemas.DiagnoseBatchResultSchema(),
                 diagnose_service.diagnoses.batch, diagnose_service.diagnoses.one),
}


def parts(app: Flask, models: dict[str, Any], bodies: dict[str, dict[int, Path]]) -> dict[str, dict[str, float]]:
    """``{"risk 1": {part: µs}, "risk 1000": ...}`` for one row and 1,000 rows."""
    out = {}
    with app.test_request_context():
        for name, (row, batch, result, batch_result, many, one) in PATHS.items():
            for size in (1, 1000):
                body = orjson.loads(bodies[name][size].read_bytes())
                load, dump = (row, result) if size == 1 else (batch, batch_result)
                serve = one if size == 1 else (lambda valid, many=many: many(valid["rows"]))
                out[f"{name} {size}"] = _one_path(app, models[name], body, load, dump, serve)
    return out


def _one_path(app: Flask, model: Any, body: Any, load: Any, dump: Any, serve: Callable[[Any], Any]) -> dict[str, float]:
    valid = load.load(body)
    rows = to_rows(valid.get("rows", [valid]), model.input_fields)
    answer = serve(valid)
    dumped = dump.dump(answer)
    return {
        "validate (compiled)": _us(lambda: load.load(body)),
        "validate (marshmallow)": _marshmallow(lambda: load.load(body)),
        "probability and contributions (served path)": _us(lambda: model.runtime.scorer.score_rows(rows)),
        "service call (probability, explanations, warnings)": _us(lambda: serve(valid)),
        "dump (compiled)": _us(lambda: dump.dump(answer)),
        "dump (marshmallow)": _marshmallow(lambda: dump.dump(answer)),
        "JSON (orjson provider)": _us(lambda: app.json.response(dumped)),
        "JSON (standard library, as Flask)": _us(lambda: json.dumps(dumped, sort_keys=True, separators=(",", ":"))),
    }


def _us(fn: Callable[[], Any]) -> float:
    return per_call(fn, min_seconds=0.2) * 1e6


def _marshmallow(fn: Callable[[], Any]) -> float:
    with base.reference_only():
        return _us(fn)
