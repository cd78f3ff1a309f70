"""``/recommend``: parse, call the service, serialize. Nothing else."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView

from mlservice.blueprint import PREDICTION_ERRORS, ServiceBlueprint
from mlservice.recommend import service
from mlservice.recommend.schemas import RecommendQuerySchema, RecommendResultSchema

blp = ServiceBlueprint("recommend", __name__, url_prefix="/recommend", description="Movie recommendations (MovieLens).")


@blp.route("")
class Recommend(MethodView):
    @blp.arguments(RecommendQuerySchema, example={"user_id": 15, "k": 5})
    @blp.response(200, RecommendResultSchema)
    @blp.errors(*PREDICTION_ERRORS)
    def post(self, query: dict[str, Any]) -> dict[str, Any]:
        """Recommend up to k movies for a user or for a set of liked movies."""
        return service.recommend(query)
