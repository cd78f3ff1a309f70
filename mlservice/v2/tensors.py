"""V2 input tensors to the columns a use case validates, and answers back to output tensors.

Two forms of input, as V2 clients send them: one tensor per model input (shape ``[N]``
or ``[N, 1]``; numbers as FP64/FP32/INT64/INT32, categories as BYTES; a missing value of
an optional input is ``null``, or ``NaN`` for a number and ``""`` for a category, as NumPy
clients send them), or, for a model whose inputs are all numbers, one ``[N, F]`` tensor
in the model's input order (MLServer's and Triton's scikit-learn examples).
Errors name the tensor and the row, never a value.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mlservice.errors import InvalidInput

NUMBERS = frozenset({"FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8"})
#: What a model input takes: "integer", "number" or "category".
Kinds = Mapping[str, str]


def columns(inputs: Sequence[Mapping[str, Any]], fields: Sequence[str], kinds: Kinds) -> dict[str, list[Any]]:
    """``{field: values}`` from the request's input tensors, for the use case's columns schema."""
    if len(inputs) == 1 and inputs[0]["name"] not in kinds:
        return _from_matrix(inputs[0], fields, kinds)
    out: dict[str, list[Any]] = {}
    for position, tensor in enumerate(inputs):
        name = tensor["name"]
        if name not in kinds:
            raise InvalidInput(f"Input {position} is not one of this model's inputs (GET /v2/models/<name> lists them).")
        if name in out:
            raise InvalidInput(f"Input {name} is sent twice.")
        _check_type(name, tensor["datatype"], kinds[name])
        values = _flat(tensor, name)
        shape = tensor["shape"]
        if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1) or shape[0] != len(values):
            raise InvalidInput(f"Input {name} must have shape [N] or [N, 1] and hold N values.")
        out[name] = _typed(values, kinds[name])
    return out


def _from_matrix(tensor: Mapping[str, Any], fields: Sequence[str], kinds: Kinds) -> dict[str, list[Any]]:
    """Columns from one ``[N, F]`` tensor of numbers in the model's input order."""
    if any(kinds[f] == "category" for f in fields):
        raise InvalidInput("This model takes one tensor per input (some of its inputs are categories); "
                           "the tensor sent is not one of its inputs.")
    width = len(fields)
    shape = tensor["shape"]
    if tensor["datatype"] not in NUMBERS or len(shape) != 2 or shape[1] != width:
        raise InvalidInput(f"A single tensor must be [N, {width}] numbers, in the model's input order "
                           f"({', '.join(fields)}).")
    values = _flat(tensor, "the tensor")
    if len(values) != shape[0] * width:
        raise InvalidInput(f"The tensor's data must hold N x {width} values, as its shape says.")
    return {field: _typed(values[j::width], kinds[field]) for j, field in enumerate(fields)}


def _check_type(name: str, datatype: str, kind: str) -> None:
    if kind == "category" and datatype != "BYTES":
        raise InvalidInput(f"Input {name} is a category: send it as BYTES.")
    if kind != "category" and datatype not in NUMBERS:
        raise InvalidInput(f"Input {name} is a number: send it as FP64, FP32, INT64 or INT32.")


def _flat(tensor: Mapping[str, Any], name: str) -> list[Any]:
    """The tensor's data, row-major, from a flat list or a list of rows."""
    data = tensor["data"]
    if not isinstance(data, list):
        raise InvalidInput(f"The data of {name} must be a list.")
    if data and isinstance(data[0], list):
        if not all(isinstance(row, list) and not any(isinstance(v, list) for v in row) for row in data):
            raise InvalidInput(f"The data of {name} must be a flat list or a list of rows.")
        return [v for row in data for v in row]
    return data


def _typed(values: list[Any], kind: str) -> list[Any]:
    """NaN (how a NumPy client sends a missing number) and "" (a missing category) become missing values; whole numbers sent as
    floats (an FP64 tensor) become integers for an integer input; the schema judges the rest."""
    values = [None if (isinstance(v, float) and v != v) or v == "" else v for v in values]
    if kind != "integer":
        return values
    return [int(v) if isinstance(v, float) and math.isfinite(v) and v.is_integer() else v for v in values]


def output(name: str, values: Any, datatype: str) -> dict[str, Any]:
    """One output tensor from a list or an array (``[N]``, or ``[N, F]`` for a 2-D array)."""
    if isinstance(values, np.ndarray):
        shape = list(values.shape)
        data = values.ravel()
    else:
        shape, data = [len(values)], values
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}
