"""``/v2``: the Open Inference Protocol's REST endpoints. Parse, call the service, serialize."""
from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask.views import MethodView

from mlservice.blueprint import ServiceBlueprint
from mlservice.diagnose.schemas import EXAMPLE_PATIENT
from mlservice.errors import InvalidInput, ModelNotReady
from mlservice.parsing import ProtocolJSONParser
from mlservice.v2 import service
from mlservice.v2.schemas import (
    V2ErrorSchema,
    V2InferRequestSchema,
    V2InferResponseSchema,
    V2LiveSchema,
    V2ModelMetadataSchema,
    V2ReadySchema,
    V2ServerMetadataSchema,
)



class ProtocolBlueprint(ServiceBlueprint):
    """Bodies as V2 clients send them; errors documented (and answered) in V2's ``{"error"}`` shape."""

    ARGUMENTS_PARSER = ProtocolJSONParser()
    ERROR_SCHEMA = V2ErrorSchema

    @staticmethod
    def _prepare_response_doc(doc: Any, doc_info: Any, **kwargs: Any) -> Any:
        """Without the API's default error response: it is the domain's shape, not V2's (each status is listed)."""
        doc = ServiceBlueprint._prepare_response_doc(doc, doc_info, **kwargs)
        doc.get("responses", {}).pop("default", None)
        return doc


blp = ProtocolBlueprint("v2", __name__, url_prefix="/v2",
                        description="The Open Inference Protocol (KServe V2, Triton): risk and diagnose as tensors.")
#: One patient for ``diagnose``, one tensor per input (``risk`` takes the same form with its own inputs).
EXAMPLE_REQUEST = {"id": "example-1", "inputs": [
    {"name": name, "shape": [1], "datatype": "INT64" if isinstance(value, int) else "FP64", "data": [value]}
    for name, value in EXAMPLE_PATIENT.items() if name != "patient_id"]}
#: Triton's binary tensor extension: a JSON header followed by raw bytes. Refused in words, not as bad JSON.
BINARY_HEADER = "Inference-Header-Content-Length"


@blp.before_request
def _json_only() -> None:
    if BINARY_HEADER in request.headers:
        raise InvalidInput("This server speaks V2 over JSON only: send tensors with binary_data=False.")


@blp.route("")
class Server(MethodView):
    @blp.response(200, V2ServerMetadataSchema)
    def get(self) -> dict[str, Any]:
        """Server metadata."""
        return service.server_metadata()


@blp.route("/health/live")
class Live(MethodView):
    @blp.response(200, V2LiveSchema)
    def get(self) -> dict[str, Any]:
        """The process answers."""
        return {"live": True}


@blp.route("/health/ready")
class Ready(MethodView):
    @blp.response(200, V2ReadySchema)
    @blp.errors(503)
    def get(self) -> dict[str, Any]:
        """Every V2 model is loaded (503 if not)."""
        if not service.ready():
            raise ModelNotReady("Not every model is loaded; /readyz says why.")
        return {"ready": True}


@blp.route("/models/<name>")
@blp.route("/models/<name>/versions/<version>")
class Model(MethodView):
    @blp.response(200, V2ModelMetadataSchema)
    @blp.errors(401, 403, 404, 503)
    def get(self, name: str, version: str | None = None) -> dict[str, Any]:
        """A model's inputs and outputs, and its configured versions."""
        return service.model_metadata(name, version)


@blp.route("/models/<name>/ready")
@blp.route("/models/<name>/versions/<version>/ready")
class ModelReady(MethodView):
    @blp.response(200, V2ReadySchema)
    @blp.errors(401, 403, 404, 503)
    def get(self, name: str, version: str | None = None) -> dict[str, Any]:
        """The model (or that version of it) is loaded and serving (503 if not)."""
        service.model(name, version)
        return {"name": name, "ready": True}


@blp.route("/models/<name>/infer")
@blp.route("/models/<name>/versions/<version>/infer")
class Infer(MethodView):
    @blp.arguments(V2InferRequestSchema, error_status_code=400, example=EXAMPLE_REQUEST)
    @blp.response(200, V2InferResponseSchema)
    @blp.errors(400, 401, 403, 404, 408, 413, 415, 429, 503)
    def post(self, body: dict[str, Any], name: str, version: str | None = None) -> Response:
        """Probabilities, decisions or labels, and per-input contributions, as tensors."""
        # Serialized as built: the tensors are already in the documented shape, and a marshmallow
        # dump of them cost an eighth of a single-row V2 request (schemathesis checks the shape).
        return jsonify(service.infer(name, version, body))
