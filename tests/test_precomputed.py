"""Known users answered from the table made at load: exactly the model's answers, or no table.

The table keeps each user's top 100 and answers k <= 100 with its first k, so every
user and k must get what ``recommend_for_user`` computes now (random models have
score ties, which the popularity order must break the same way at every k), and
whole HTTP answers must equal those of an app that ranks every request.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import pytest
from flask import Flask

from mlservice.recommend import precomputed, service
from tests.factories import committed_entry
from tests.test_recommend_votes import random_model

DEPTH = 100
KS = (1, 2, 3, 7, 10, 33, 64, 99, 100)


def as_lists(answer: tuple[Any, ...]) -> tuple[list, list, tuple]:
    items, scores, why = answer
    return items.tolist(), scores.tolist(), tuple(why)


@pytest.mark.parametrize("seed", range(4))
def test_every_user_at_every_k_gets_the_models_answer(seed: int) -> None:
    model = random_model(seed)
    table = precomputed.build(model, DEPTH)
    assert precomputed.checked(table, model)
    for user in model.user_ids_.tolist():
        for k in KS:
            got = table.get(user, k)
            assert got is not None
            assert as_lists(got) == as_lists(model.recommend_for_user(user, k, with_reasons=True)), (user, k)


def test_unknown_users_and_k_beyond_the_depth_are_not_in_the_table() -> None:
    model = random_model()
    table = precomputed.build(model, 20)
    assert table.get(int(model.user_ids_.max()) + 1, 10) is None
    assert table.get(0, 10) is None
    assert table.get(int(model.user_ids_[0]), 21) is None
    assert table.get(int(model.user_ids_[0]), 20) is not None


class ShuffledAtEachK:
    """A recommender whose top k is not the first k of its top 100 (reversed order)."""

    def __init__(self, model: Any) -> None:
        self.model, self.user_ids_ = model, model.user_ids_

    def recommend_for_user(self, user: int, k: int, with_reasons: bool = False) -> tuple[Any, ...]:
        items, scores, why = self.model.recommend_for_user(user, k, with_reasons=True)
        return items[::-1], scores[::-1], type(why)(*(list(reversed(part)) for part in why))


def test_a_model_whose_top_k_is_not_a_prefix_gets_no_table(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="mlservice.recommend.precomputed"):
        assert precomputed.checked_table(ShuffledAtEachK(random_model()), DEPTH, 10_000, "recommend") is None
    assert "refused name=recommend" in caplog.text


class FailsForOneUser(ShuffledAtEachK):
    def recommend_for_user(self, user: int, k: int, with_reasons: bool = False) -> tuple[Any, ...]:
        if user == self.user_ids_[-1]:
            raise MemoryError
        return self.model.recommend_for_user(user, k, with_reasons=True)


def test_a_table_that_cannot_be_built_means_ranking_every_request(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="mlservice.recommend.precomputed"):
        assert precomputed.checked_table(FailsForOneUser(random_model()), DEPTH, 10_000, "recommend") is None
    assert "failed name=recommend reason=MemoryError" in caplog.text


def test_too_many_users_means_no_table_and_zero_means_never() -> None:
    model = random_model()
    assert precomputed.checked_table(model, DEPTH, len(model.user_ids_) - 1, "recommend") is None
    assert precomputed.checked_table(model, DEPTH, 0, "recommend") is None
    assert precomputed.checked_table(model, DEPTH, len(model.user_ids_), "recommend") is not None


@pytest.fixture(scope="module")
def ranked_per_request(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The committed recommender with no table: every request ranked by the model."""
    from mlservice import create_app
    from tests.factories import write_models_config

    root = tmp_path_factory.mktemp("no-table")
    entry = committed_entry("recommend")
    entry["settings"]["precompute_users"] = 0
    models = write_models_config(root / "models.toml", {"recommend": entry})
    return create_app({"TESTING": True, "MODELS_CONFIG": str(models), "MODELS_STATE_DIR": str(root / "state")})


def test_the_committed_model_has_a_table_and_the_other_app_none(app: Flask, ranked_per_request: Flask) -> None:
    def rankings(a: Flask) -> Any:
        return a.extensions["model_registry"].deployments["recommend"].default.runtime.rankings

    table = rankings(app)
    assert table is not None and len(table.user_ids) > 600
    assert rankings(ranked_per_request) is None


def test_http_answers_equal_an_app_that_ranks_every_request(app: Flask, ranked_per_request: Flask) -> None:
    users = rankings_users(app)
    queries = [{"user_id": u, "k": 10} for u in users] + [{"user_id": u, "k": k} for u, k in zip(users[::50], KS)]
    queries += [{"user_id": users[3], "k": 5, "genres": ["Comedy"]}, {"user_id": users[4], "exclude_items": [1, 260]},
                {"user_id": 10**9, "k": 3}]
    fast, slow = app.test_client(), ranked_per_request.test_client()
    for query in queries:
        got, want = fast.post("/recommend", json=query), slow.post("/recommend", json=query)
        assert got.status_code == want.status_code == 200
        assert got.get_json() == want.get_json(), query
        assert len(got.get_json()["items"]) == query.get("k", 10)


def test_only_known_users_without_filters_skip_the_ranking(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    ranking: Callable[..., Any] = service.ranking_with_reasons
    monkeypatch.setattr(service, "ranking_with_reasons", lambda e, q: calls.append(q) or ranking(e, q))
    client, user = app.test_client(), rankings_users(app)[0]
    for query in ({"user_id": user}, {"user_id": user, "k": 100}):
        assert client.post("/recommend", json=query).get_json()["strategy"] == "collaborative"
    assert calls == []
    ranked = [{"user_id": user, "genres": ["Drama"]}, {"user_id": user, "exclude_items": [1]}, {"user_id": user, "k": 0},
              {"liked_items": [1, 260]}, {"user_id": 10**9}]
    statuses = [client.post("/recommend", json=q).status_code for q in ranked]
    assert statuses == [200, 200, 422, 200, 200]
    assert [set(q) for q in calls] == [{"user_id", "genres", "k"}, {"user_id", "exclude_items", "k"},
                                       {"liked_items", "k"}, {"user_id", "k"}]


def rankings_users(app: Flask) -> list[int]:
    return app.extensions["model_registry"].deployments["recommend"].default.runtime.rankings.user_ids.tolist()
