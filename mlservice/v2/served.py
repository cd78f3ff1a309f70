"""The use cases V2 serves, and how their answers become output tensors.

``risk`` and ``diagnose`` map cleanly: rows of named inputs in, a probability, a decision
or label and per-input contributions out. ``recommend`` does not: its input is a user
or a set of liked items, a ragged list rather than a row of features, and its answer a
ranked, variable-length list of items with a reason each, which V2's fixed-shape tensors
would force into padding and a side channel for the reasons. It stays on ``/recommend``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from marshmallow import fields

from mlservice.classifier_service import ClassifierService
from mlservice.diagnose.schemas import PatientColumnsSchema, PatientSchema
from mlservice.diagnose.service import diagnoses
from mlservice.risk.schemas import ApplicantColumnsSchema, ApplicantSchema
from mlservice.risk.service import assessments
from mlservice.schemas.base import StrictSchema
from mlservice.schemas.columns import ColumnsSchema
from mlservice.v2.tensors import output

Answer = dict[str, Any]


@dataclass(frozen=True)
class Served:
    """One use case behind V2: its service, its schemas, and its outputs (name, datatype, from an answer)."""

    service: ClassifierService
    row_schema: type[StrictSchema]
    columns_schema: type[ColumnsSchema]
    outputs: tuple[tuple[str, str, Callable[[Answer], Any]], ...]
    #: Outputs answered only when a request names them.
    on_request: tuple[tuple[str, str, Callable[[Answer], Any]], ...] = ()

    @cached_property
    def kinds(self) -> dict[str, str]:
        """Per model input: "integer", "number" or "category" (the row schema's field types). Made once:
        a schema instance costs about 50 µs, a quarter of a V2 single-row request."""
        return {name: _kind(field) for name, field in self.row_schema().fields.items() if "feature" in field.metadata}

    @cached_property
    def columns(self) -> ColumnsSchema:
        """The columns schema, one instance (it holds no per-request state)."""
        return self.columns_schema()


def _kind(field: fields.Field) -> str:
    if isinstance(field, fields.Integer):
        return "integer"
    return "number" if isinstance(field, fields.Number) else "category"


def _predict_proba(probability: Any) -> np.ndarray:
    """[P(class 0), P(class 1)] per row: what MLServer's scikit-learn runtime answers, so its clients'
    requests for ``predict_proba`` work unchanged (asked for by name only)."""
    p = np.asarray(probability, dtype=np.float64)
    return np.column_stack([1.0 - p, p])


def _contributions(answer: Answer) -> np.ndarray:
    """Per row, every input's contribution to the log-odds, in the model's input order."""
    return np.column_stack(list(answer["contributions"].values()))


SERVED = {
    "risk": Served(assessments, ApplicantSchema, ApplicantColumnsSchema, (
        ("probability_of_default", "FP64", lambda a: a["probability_of_default"]),
        ("decision", "BYTES", lambda a: a["decision"]),
        ("contributions", "FP64", _contributions),
    ), (("predict_proba", "FP64", lambda a: _predict_proba(a["probability_of_default"])),)),
    "diagnose": Served(diagnoses, PatientSchema, PatientColumnsSchema, (
        ("probability", "FP64", lambda a: a["probability"]),
        ("label", "BYTES", lambda a: a["label"]),
        ("abstained", "BOOL", lambda a: a["abstained"]),
        ("contributions", "FP64", _contributions),
    ), (("predict_proba", "FP64", lambda a: _predict_proba(a["probability"])),)),
}


def outputs_of(served: Served, answer: Answer, wanted: list[str] | None) -> list[dict[str, Any]]:
    """The answer as output tensors, all or those ``wanted`` (unknown names were refused before)."""
    if wanted is None:
        return [output(name, pick(answer), datatype) for name, datatype, pick in served.outputs]
    every = {name: (datatype, pick) for name, datatype, pick in (*served.outputs, *served.on_request)}
    return [output(name, every[name][1](answer), every[name][0]) for name in wanted]
