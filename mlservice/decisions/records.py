"""Decision records from what a request answered: one per row, built off the request path.

A request notes its answer once (``Pending``); the writer thread turns it into rows
(``rows_of``): outputs as the client saw them, inputs only as the policy allows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from mlservice.decisions.policy import InputPolicy

#: Outputs a record never holds: per-field contributions are the model's, recomputable from kept inputs.
_LEFT_OUT = {"contributions", "model", "disclaimer"}


@dataclass(frozen=True)
class Pending:
    """One answered request, as noted on the request path (no copying, no per-row work)."""

    at: datetime
    request_id: str
    caller: str | None
    use_case: str
    ref: tuple[str, str, str]  # model name, version, full digest
    role: str
    #: "rows": (inputs, result) per row; "columns": (input columns, result columns, n); "one": (query, result)
    kind: str
    data: Any

    @property
    def rows(self) -> int:
        """How many records this request makes."""
        return len(self.data) if self.kind == "rows" else self.data[2] if self.kind == "columns" else 1


def rows_of(pending: Pending, policy: InputPolicy, inputs_days: float) -> list[dict[str, Any]]:
    """The database rows of one answered request."""
    base = {"at": pending.at, "request_id": pending.request_id, "caller": pending.caller,
            "use_case": pending.use_case, "model": pending.ref[0], "version": pending.ref[1],
            "digest": pending.ref[2], "role": pending.role}
    until = pending.at + timedelta(days=inputs_days) if policy.keeps else None
    out = []
    for row, (inputs, outputs) in enumerate(_pairs(pending, tuple(policy.fields))):
        kept = policy.apply(inputs) if inputs is not None else None
        out.append({**base, "row": row, "outputs": outputs, "inputs": kept, "inputs_until": until if kept else None})
    return out


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
