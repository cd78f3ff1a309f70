"""The evaluation figures behind the cards' claims: bootstrap intervals and the per-user holdout."""
from __future__ import annotations

import numpy as np

from mlservice.training import intervals, ranking, user_holdout
from mlservice.training.ranking import Ratings


def test_paired_interval_sees_a_small_consistent_gain_that_separate_ones_miss() -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, 300)
    better = base + 0.02 + rng.normal(0, 0.01, 300)
    apart = intervals.bootstrap_mean(better, 1)["ci95"], intervals.bootstrap_mean(base, 1)["ci95"]
    assert apart[0][0] < apart[1][1]  # the separate intervals overlap
    diff = intervals.paired_difference(better, base, 1)
    assert diff["excludes_zero"] and 0.018 < diff["ci95"][0] < diff["mean"] < diff["ci95"][1] < 0.022
    assert diff["units_better"] > 250


def test_interval_of_pure_noise_covers_zero_and_is_reproducible() -> None:
    noise = np.random.default_rng(3).normal(0, 1, 200)
    diff = intervals.paired_difference(noise, np.zeros(200), 5)
    assert not diff["excludes_zero"] and diff == intervals.paired_difference(noise, np.zeros(200), 5)


def _ratings() -> Ratings:
    """Users 1..4 with 10 ratings each at increasing times; user 5 with 3 (too few)."""
    rows = [(u, u * 100 + i, 5.0 if i % 2 else 3.0, u * 1000 + i) for u in range(1, 5) for i in range(10)]
    rows += [(5, 900 + i, 5.0, i) for i in range(3)]
    return Ratings(*(np.array(c) for c in zip(*rows)))


def test_latest_out_split_holds_out_each_users_latest_liked_ratings() -> None:
    train, relevant = user_holdout.latest_out_split(_ratings())
    assert sorted(relevant) == [1, 2, 3, 4]  # user 5 has fewer than MIN_RATINGS
    for user, items in relevant.items():
        assert items.tolist() == [user * 100 + 9]  # of the latest two, only the 5-star one is relevant
        mine = train.items[train.users == user]
        assert len(mine) == 8 and mine.max() == user * 100 + 7
    assert np.sum(train.users == 5) == 3


def test_recency_popularity_prefers_recent_ratings_and_skips_seen() -> None:
    day = 86_400
    train = Ratings(np.array([1, 2, 3, 1]), np.array([10, 10, 20, 30]), np.ones(4), np.array([0, 0, 1000, 1000]) * day)
    rank = user_holdout.recency_popularity_ranker(train, half_life_days=30)
    assert rank(9, 3).tolist() == [20, 30, 10]  # two old ratings weigh less than one recent
    assert rank(1, 3).tolist() == [20]  # user 1 rated 10 and 30
    plain = ranking.popularity_ranker(train)
    assert plain(9, 1).tolist() == [10]


def test_ease_recommends_co_liked_unseen_items() -> None:
    # users 1..6 like {1, 2, 3}; user 7 liked 1 and 2 only; item 4 is liked by users 5..7
    pairs = [(u, i) for u in range(1, 7) for i in (1, 2, 3)] + [(7, 1), (7, 2)] + [(u, 4) for u in (5, 6, 7)]
    users, items = (np.array(c) for c in zip(*pairs))
    train = Ratings(users, items, np.full(len(pairs), 5.0), np.arange(len(pairs)))
    rank = user_holdout.ease_ranker(train, lam=1.0, min_raters=1)
    assert rank(7, 5).tolist() == [3]  # 1, 2 and 4 are its own
    assert rank(99, 2).tolist() == ranking.popularity_ranker(train)(99, 2).tolist()


def test_compare_pairs_every_model_with_the_reference_on_the_same_users() -> None:
    relevant = {1: np.array([1]), 2: np.array([2]), 3: np.array([3])}
    perfect = lambda user, k: np.array([user])  # noqa: E731
    never = lambda user, k: np.array([0])  # noqa: E731
    found = user_holdout.compare({"ref": never, "perfect": perfect}, relevant, "ref", 0)
    assert found["users"] == 3
    ndcg = found["difference_from_ref"]["perfect"]["ndcg_at_10"]
    assert ndcg["mean"] == 1.0 and ndcg["excludes_zero"] and ndcg["units_better"] == 3
    assert found["metrics"]["ref"]["precision_at_10"]["mean"] == 0.0


def test_recency_as_of_user_ignores_ratings_after_the_users_own_time() -> None:
    day = 86_400
    # user 1 last rated at day 10; item 30 becomes popular only at day 500
    train = Ratings(np.array([1, 2, 3, 4, 5]), np.array([5, 20, 20, 30, 30]), np.ones(5),
                    np.array([10, 0, 0, 500, 500]) * day)
    rank = user_holdout.recency_popularity_as_of_user(train, half_life_days=30)
    assert rank(1, 2).tolist() == [20]
    assert rank(4, 1).tolist() == [20] and user_holdout.recency_popularity_ranker(train, 30)(1, 1).tolist() == [30]


def test_spline_scorecard_has_an_exact_additive_form_in_both_paths() -> None:
    """The spline scorecard's reason codes are the model's own log-odds, as the binned one's are."""
    from mlservice.scoring.curve import SplineTerm
    from mlservice.scoring.linear import scorecard_form
    from mlservice.scoring.classifier import verified_scorer
    from mlservice.scoring.verify import probe_rows
    from mlservice.registry.card import ModelCard
    from mlservice.training import classifier_card, risk, tabular
    from tests.test_training import credit_frame

    frame = credit_frame(n=300, seed=2)
    rows, y = tabular.object_rows(frame, risk.NAMES), risk.target(frame)
    pipeline = risk.build_pipeline(0, c=0.3).fit(rows, y)
    card = ModelCard.from_dict({
        "name": "risk", "version": "t", "kind": "binary_classifier", "use_case": "risk",
        "artifact": {"sha256": "0" * 64}, "libraries": {}, "golden": [{"input": rows[0].tolist()}],
        "features": classifier_card.describe_features(rows, risk.FEATURES),
        "explanation": risk._explanation(pipeline, rows),
    })
    form = verified_scorer(scorecard_form(pipeline, card), pipeline, card).form  # refuses a gap over 1e-9
    assert sum(isinstance(t, SplineTerm) for t in form.terms) == len(risk.NAMES) - len(risk.CATEGORICAL)
    probes = np.concatenate([rows, probe_rows(form, card, 300, seed=9)])
    single = np.array([form.add_up(form.row_contributions(row)) for row in probes])
    assert np.abs(single - pipeline.decision_function(probes)).max() < 1e-9
    assert np.allclose(form.contributions(rows)[1].mean(axis=0), 0, atol=1e-9)  # centred on training rows
