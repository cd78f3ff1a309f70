"""Model metadata and health: ``/models``, ``/healthz``, ``/readyz``."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView

from mlservice.admin import service
from mlservice.admin.schemas import DecisionListSchema, HealthSchema, ModelDetailSchema, ModelListSchema, ReadySchema
from mlservice.blueprint import ServiceBlueprint

blp = ServiceBlueprint("admin", __name__, description="Model metadata and health checks.")


@blp.route("/models")
class Models(MethodView):
    @blp.response(200, ModelListSchema)
    def get(self) -> dict[str, Any]:
        """List every configured model with its serving version or its failure."""
        return service.list_models()


@blp.route("/models/<string:name>")
class Model(MethodView):
    @blp.response(200, ModelDetailSchema)
    @blp.errors(404)
    def get(self, name: str) -> dict[str, Any]:
        """A model's card (metrics, features, provenance), version, digest and status."""
        return service.detail(name)


@blp.route("/decisions/<string:request_id>")
class Decision(MethodView):
    @blp.response(200, DecisionListSchema)
    @blp.errors(404)
    def get(self, request_id: str) -> dict[str, Any]:
        """The decision records of one request: model, version, digest, role and answer per row (admin scope)."""
        return service.decisions_of(request_id)


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, str]:
        """Liveness: the process answers requests."""
        return {"status": "alive"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.response(200, ReadySchema)
    @blp.errors(503)
    def get(self) -> dict[str, Any]:
        """Readiness: 200 only when every configured model is loaded."""
        return service.readiness()
