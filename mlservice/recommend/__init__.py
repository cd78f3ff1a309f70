"""Movie recommendations from MovieLens ratings."""
from mlservice.recommend.prepare import prepare
from mlservice.recommend.resources import blp
from mlservice.recommend.schemas import RecommendSettingsSchema
from mlservice.usecase import UseCase

USE_CASE = UseCase("recommend", "recommender", blp, RecommendSettingsSchema, prepare=prepare)
