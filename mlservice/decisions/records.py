"""Decision records: a request's answer as one compact line on the request path, then a record per row.

On the request path a request costs one orjson call (``line_of``): the answer as the client
saw it, and of its inputs only what the policy allows, so no personal value reaches even the
spool's files. Nothing of the request outlives it: a line is one bytes object, which the
garbage collector never scans (the first design kept each request's dicts for the writer's
next turn, and the collector paid for them). Expanding a line into ``Row``s (one per row,
outputs as JSON text) is the work of whoever writes to the store: the host's recorder, in a
process of its own, or the worker's thread when no recorder runs.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from mlservice.decisions.policy import InputPolicy
from mlservice.decisions.store import Row

#: Outputs a record never holds: per-field contributions are the model's, recomputable from kept inputs.
_LEFT_OUT = {"contributions", "model", "disclaimer"}
_DAY = 86400.0


def line_of(head: tuple[float, str, str | None, str], ref: tuple[str, str, str], role: str, kind: str,
            inputs: Any, answer: Any, policy: InputPolicy, inputs_days: float) -> tuple[bytes, int]:
    """One request's records as a line of JSON, and how many records it makes: ``head`` (time, request id,
    caller, use case), the model's ``ref`` (name, version, full digest), its role, and the answer with the
    inputs the policy allows.

    ``kind`` says what ``inputs`` and ``answer`` are: "rows" (the request's records, one answer per row),
    "columns" (a ``ColumnBatch`` and a dict of output columns) or "one" (a query and its answer).
    """
    n = len(answer) if kind == "rows" else len(inputs) if kind == "columns" else 1
    kept = _kept(kind, inputs, policy) if policy.records_inputs else None
    until = head[0] + inputs_days * _DAY if kept is not None and policy.keeps else None
    line = orjson.dumps([*head, *ref, role, kind, until, kept, answer, n],
                        option=orjson.OPT_SERIALIZE_NUMPY, default=_plain_json)
    return line, n


def rows_of(line: bytes) -> list[Row]:
    """The records of one line."""
    at, request_id, caller, use_case, name, version, digest, role, kind, until, kept, answer, n = orjson.loads(line)
    out = []
    for row, (inputs, outputs) in enumerate(_pairs(kind, kept, answer, n)):
        out.append(Row(at, request_id, row, caller, use_case, name, version, digest, role, json_text(outputs),
                       None if inputs is None else json_text(inputs), until if inputs else None))
    return out


def rows_of_lines(lines: list[bytes]) -> list[Row]:
    """The records of a batch of lines (a spool file's, or what a worker's thread took)."""
    return [row for line in lines if line for row in rows_of(line)]


def json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _kept(kind: str, inputs: Any, policy: InputPolicy) -> Any:
    """What a record may hold of a request's inputs: per row (a list), per column (a dict) or one dict."""
    if kind == "rows":
        return [policy.apply(record) for record in inputs]
    if kind == "one":
        return policy.apply(inputs)
    return {field: (inputs[field] if how == "keep" else [policy.digest(_plain(v)) for v in inputs[field]])
            for field, how in policy.fields.items() if field in inputs.data}


def _pairs(kind: str, kept: Any, answer: Any, n: int) -> list[tuple[Any, dict[str, Any]]]:
    """(inputs, outputs) per row, from a parsed line."""
    if kind == "rows":
        return list(zip(kept or [None] * n, map(_outputs, answer)))
    if kind == "one":
        return [(kept, _outputs(answer))]
    lists = {k: v if isinstance(v, list) and len(v) == n else [v] * n
             for k, v in answer.items() if k not in _LEFT_OUT and k != "warnings"}
    warnings: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for flag in answer.get("warnings", []):
        warnings[flag["index"]].append({k: v for k, v in flag.items() if k != "index"})
    inputs = [{f: column[i] for f, column in kept.items()} for i in range(n)] if kept else [None] * n
    return [(inputs[i], {**{k: v[i] for k, v in lists.items()}, "warnings": warnings[i]}) for i in range(n)]


def _outputs(result: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in result.items() if k not in _LEFT_OUT}
    if "items" in out:  # a recommendation: the ids, their order and why; titles are the catalog's
        out["items"] = [{"id": i["id"], "score": i["score"], "reason": i["reason"]} for i in out["items"]]
    return out


def _plain_json(value: Any) -> Any:
    """What orjson cannot write itself: NumPy arrays of other kinds (strings, objects), as lists."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return _plain(value.item())
    raise TypeError(type(value).__name__)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and value != value else value
