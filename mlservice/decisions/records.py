"""Decision records from what a request answered: one per row, built off the request path.

A request notes its answer once (``Pending``: a tuple, the cheapest thing to make on the
request path); the writer thread turns it into ``Row``s (``rows_of``): outputs as the
client saw them, inputs only as the policy allows, JSON already encoded.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import orjson

from mlservice.decisions.policy import InputPolicy
from mlservice.decisions.store import Row

#: Outputs a record never holds: per-field contributions are the model's, recomputable from kept inputs.
_LEFT_OUT = {"contributions", "model", "disclaimer"}
_DAY = 86400.0


class Pending(NamedTuple):
    """One answered request by one version, as noted on the request path (no copying, no per-row work)."""

    at: float  # seconds since the epoch
    request_id: str
    caller: str | None
    use_case: str
    ref: tuple[str, str, str]  # model name, version, full digest
    role: str  # default, canary or shadow
    #: "rows": (inputs, result) per row; "columns": (input columns, result columns, n); "one": (query, result)
    kind: str
    data: Any

    @property
    def rows(self) -> int:
        """How many records this request makes."""
        return len(self.data) if self.kind == "rows" else self.data[2] if self.kind == "columns" else 1


def rows_of(pending: Pending, policy: InputPolicy, inputs_days: float) -> list[Row]:
    """The records of one answered request."""
    until = pending.at + inputs_days * _DAY if policy.keeps else None
    name, version, digest = pending.ref
    out = []
    for row, (inputs, outputs) in enumerate(_pairs(pending, tuple(policy.fields))):
        kept = policy.apply(inputs) if inputs is not None else None
        out.append(Row(pending.at, pending.request_id, row, pending.caller,
                       pending.use_case, name, version, digest, pending.role, json_text(outputs),
                       None if kept is None else json_text(kept), until if kept else None))
    return out


def json_text(value: Any) -> str:
    """orjson: the writer's CPU is taken from the same cores as the requests'."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def _pairs(pending: Pending, recorded: tuple[str, ...]) -> list[tuple[dict[str, Any] | None, dict[str, Any]]]:
    """(inputs, outputs) per row; columnar inputs only for the ``recorded`` fields."""
    if pending.kind == "rows":
        return [(inputs, _outputs(result)) for inputs, result in pending.data]
    if pending.kind == "one":
        query, result = pending.data
        return [(query, _outputs(result))]
    columns, result, n = pending.data
    lists = {k: _listed(v, n) for k, v in result.items() if k not in _LEFT_OUT and k != "warnings"}
    warnings: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for flag in result.get("warnings", []):
        warnings[flag["index"]].append({k: v for k, v in flag.items() if k != "index"})
    fields = [f for f in recorded if f in columns]
    inputs = [{f: _plain(columns[f][i]) for f in fields} for i in range(n)] if fields else [None] * n
    return [(inputs[i], {**{k: v[i] for k, v in lists.items()}, "warnings": warnings[i]}) for i in range(n)]


def _outputs(result: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in result.items() if k not in _LEFT_OUT}
    if "items" in out:  # a recommendation: the ids, their order and why; titles are the catalog's
        out["items"] = [{"id": i["id"], "score": i["score"], "reason": i["reason"]} for i in out["items"]]
    return out


def _listed(values: Any, n: int) -> list[Any]:
    if isinstance(values, np.ndarray):
        return [None if isinstance(v, float) and v != v else v for v in values.tolist()]
    return list(values) if len(values) == n else [values] * n


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and value != value else value
