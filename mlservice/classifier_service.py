"""The service half the classifier use cases share: rows, batches and columns, routed and counted.

A use case says how to score rows and a columnar batch on one model, and which
output a shadow must agree on; this module routes each request to its version
(``registry.routing``), counts out-of-range warnings, and adds what every answer
carries: the model that answered and the use case's constant fields.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlservice.column_batch import ColumnBatch
from mlservice.decisions.extension import note
from mlservice.monitoring.extension import observe
from mlservice.observability import metrics
from mlservice.registry.model import LoadedModel
from mlservice.registry.routing import run_routed
from mlservice.scoring.classifier import ClassifierRuntime

Classifier = LoadedModel[ClassifierRuntime]
Answer = dict[str, Any]


@dataclass(frozen=True)
class ClassifierService:
    """One classifier use case's requests: ``one``, ``batch`` and ``columns``."""

    name: str
    #: The request field whose value routes a single row to one canary version.
    subject_key: str
    #: Results for rows in the model's column order, one per row.
    score_rows: Callable[[Classifier, list[list[Any]]], list[Answer]]
    #: Results for a columnar batch, one list per output.
    score_columns: Callable[[Classifier, ColumnBatch], Answer]
    #: The output a shadow must agree on (the decision, or the label).
    compared: str
    #: The output holding the model's probability of class 1 (``UseCase.score_output``: what monitoring watches).
    probability: str
    #: Fields every answer carries besides the model (the diagnose disclaimer).
    constant: Mapping[str, Any] = field(default_factory=dict)

    def rows(self, records: list[dict[str, Any]], key: str | None = None) -> tuple[list[Answer], Classifier]:
        """Results by the version routed for ``key``, mirrored to the shadow if one is set."""
        results, model = run_routed(self.name, key, lambda m: self.score_rows(m, to_rows(records, m.input_fields)),
                                    self._same_rows)
        metrics.count_warnings(self.name, [r["warnings"] for r in results])
        note(self.name, model, "rows", records, results)
        observe(self.name, model, "rows", records, results)
        return results, model

    def one(self, record: dict[str, Any]) -> Answer:
        [result], model = self.rows([record], record.get(self.subject_key))
        return {**result, **self.constant, "model": model.ref}

    def batch(self, records: list[dict[str, Any]]) -> Answer:
        results, model = self.rows(records)
        return {"results": results, **self.constant, "model": model.ref}

    def columns(self, batch: ColumnBatch, version: str | None = None) -> Answer:
        """Every row of a columnar batch by the version routed for the batch as a whole (or by ``version``)."""
        result, model = run_routed(self.name, None, lambda m: self.score_columns(m, batch), self._same_columns,
                                   rows=len(batch), version=version)
        metrics.count_warnings(self.name, [result["warnings"]])
        note(self.name, model, "columns", batch, result)
        observe(self.name, model, "columns", batch, result)
        return {**result, **self.constant, "model": model.ref}

    def _same_rows(self, served: list[Answer], shadow: list[Answer]) -> bool:
        return [r[self.compared] for r in served] == [r[self.compared] for r in shadow]

    def _same_columns(self, served: Answer, shadow: Answer) -> bool:
        return served[self.compared] == shadow[self.compared]


def to_rows(records: list[dict[str, Any]], fields: tuple[str, ...]) -> list[list[Any]]:
    """Validated records as rows in the model's column order."""
    return [[record[f] for f in fields] for record in records]
