"""Movie recommendations from MovieLens ratings."""
from mlservice.recommend.resources import blp
from mlservice.recommend.runtime import build_runtime
from mlservice.recommend.schemas import RecommendSettingsSchema
from mlservice.recommend.strategy import golden_mismatches
from mlservice.registry.contract import UseCase

USE_CASE = UseCase("recommend", "recommender", blp, RecommendSettingsSchema, golden_mismatches, build_runtime)
