"""The Open Inference Protocol (V2, KServe and Triton's REST API) beside the domain endpoints.

Standard clients, gateways and load tools speak it. A V2 request is turned into the
columnar batch the domain's ``/<use case>/columns`` takes and goes through the same
validation, routing, metrics and decision records; its answer is turned back into
tensors (docs/api.md, "Open Inference Protocol").
"""
from mlservice.v2.resources import blp

__all__ = ["blp"]
