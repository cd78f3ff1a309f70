"""V2 requests on the domain's services: metadata from the model and its schemas, inference through
the use case's columnar path (the same validation, routing, metrics and records)."""
from __future__ import annotations

from importlib import metadata
from typing import Any

from flask import g
from marshmallow import ValidationError

from mlservice.errors import InvalidInput, NotFound
from mlservice.observability.request_id import SAFE
from mlservice.registry.extension import registry
from mlservice.registry.model import LoadedModel
from mlservice.v2 import tensors
from mlservice.v2.served import SERVED, Served, outputs_of

DATATYPE_OF = {"integer": "INT64", "number": "FP64", "category": "BYTES"}


def served(name: str) -> Served:
    if name not in SERVED:
        raise NotFound("No model with that name speaks V2 here (risk and diagnose do).")
    return SERVED[name]


def server_metadata() -> dict[str, Any]:
    return {"name": "mlservice", "version": metadata.version("mlservice"), "extensions": []}


def ready() -> bool:
    """Every V2 model is loaded."""
    return all(name in registry().deployments for name in SERVED)


def model(name: str, version: str | None) -> LoadedModel:
    """The default version, or the configured ``version`` (default, canary or shadow)."""
    served(name)
    return registry().version(name, version)


def model_metadata(name: str, version: str | None) -> dict[str, Any]:
    use_case, chosen = served(name), model(name, version)
    fields, kinds = chosen.input_fields, use_case.kinds
    width = {"contributions": len(fields), "predict_proba": 2}
    outputs = [{"name": out, "datatype": datatype, "shape": [-1, width[out]] if out in width else [-1]}
               for out, datatype, _ in (*use_case.outputs, *use_case.on_request)]
    deployment = registry().deployments[name]
    return {
        "name": name,
        "versions": [m.spec.version for m in deployment.models()],
        "platform": "scikit-learn",
        "inputs": [{"name": f, "datatype": DATATYPE_OF[kinds[f]], "shape": [-1]} for f in fields],
        "outputs": outputs,
        "parameters": {"version": chosen.spec.version, "digest": chosen.spec.sha256, "role": deployment.role_of(chosen),
                       "input_order": list(fields), "missing_value": "null"},
    }


def infer(name: str, version: str | None, body: dict[str, Any]) -> dict[str, Any]:
    use_case = served(name)
    chosen_fields = model(name, version).input_fields
    wanted = _wanted(use_case, body["outputs"])
    columns = tensors.columns(body["inputs"], chosen_fields, use_case.kinds)
    try:
        batch = use_case.columns.load({"columns": columns})
    except ValidationError as exc:  # the domain's own checks, worded per input and row
        raise InvalidInput("The input failed validation.", exc.messages) from None
    answer = use_case.service.columns(batch, version=version)
    ref = answer["model"]
    return {
        "model_name": name,
        "model_version": ref["version"],
        "id": body["id"] if body["id"] and SAFE.fullmatch(body["id"]) else g.get("request_id", ""),
        "parameters": {"digest": ref["digest"]},
        "outputs": outputs_of(use_case, answer, wanted),
    }


def _wanted(use_case: Served, requested: list[dict[str, Any]] | None) -> list[str] | None:
    if requested is None:
        return None
    known = {out for out, _, _ in (*use_case.outputs, *use_case.on_request)}
    names = [r["name"] for r in requested]
    if not set(names) <= known:
        raise InvalidInput(f"Outputs must be among {', '.join(sorted(known))}.")
    return names
