"""The recommender's request path (CSR slices, scratch marks, top k) against brute force.

The reference scores the whole catalog the obvious way: dense votes added seed by seed,
one full lexsort. Both ways of gathering rows (scipy's C++ loop, NumPy offsets) and of
summing votes (dense ``bincount``, sparse labels) must give exactly its items, scores
and explanations, from any thread, leaving no trace.
"""
from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from scipy import sparse

from mlservice.recommend import votes
from mlservice.recommend.model import ItemKNNRecommender

GENRES = ["Action", "Comedy", "Drama", "Horror"]


def ratings(seed: int = 0, n_users: int = 80, n_items: int = 300) -> tuple[list, ...]:
    """Skewed random ratings: popularity ties, users without likes, items with few neighbours."""
    rng = np.random.default_rng(seed)
    users, items, stars = [], [], []
    for user in range(1, n_users + 1):
        chosen = np.unique(np.minimum(rng.pareto(1.0, int(rng.integers(1, 40))) * 20, n_items - 1).astype(int))
        users += [user] * len(chosen)
        items += (chosen * 3 + 1).tolist()  # ids are not positions
        stars += rng.choice([1.0, 2.5, 4.0, 5.0], len(chosen)).tolist()
    ids = np.unique(items)
    genres = dict(zip(ids.tolist(), ("|".join(rng.choice(GENRES, int(rng.integers(1, 3)), replace=False)) for _ in ids)))
    return users, items, stars, [f"Movie {i}" for i in items], None, [genres[i] for i in items]


def random_model(seed: int = 0) -> ItemKNNRecommender:
    return ItemKNNRecommender(n_neighbors=15, shrinkage=2.0, popularity_weight=0.5).fit(*ratings(seed))


def reference(model: ItemKNNRecommender, seeds: np.ndarray, seen: np.ndarray, k: int,
              genres: list[str] | None = None) -> tuple[list[int], list[float]]:
    """Top k over the whole catalog: votes added seed by seed in float64, ties by popularity rank."""
    sim = model.similarity_
    totals, voted = np.zeros(model.n_items), np.zeros(model.n_items, dtype=bool)
    for s in sorted(set(seeds.tolist())):
        span = slice(sim.indptr[s], sim.indptr[s + 1])
        totals[sim.indices[span]] += sim.data[span].astype(np.float64)
        voted[sim.indices[span]] = True
    allowed = np.ones(model.n_items, dtype=bool)
    allowed[seen] = False
    if genres is not None:
        allowed &= np.array([bool(set(str(g).split("|")) & set(genres)) for g in model.genres_])
    if not (voted & allowed).any():
        scores = model.popularity_.astype(np.float64)
    else:
        scores = model.popularity_weight * (model.popularity_ / model.popularity_.max()) + totals
    order = [p for p in np.lexsort((model.popularity_rank_, -scores)) if allowed[p]][:k]
    return model.item_ids_[order].tolist(), scores[order].tolist()


def queries(model: ItemKNNRecommender, n: int = 60, seed: int = 1) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    ids = model.item_ids_
    out: list[dict[str, Any]] = []
    for i, user in enumerate(rng.choice(model.user_ids_, n, replace=False).tolist()):
        out.append({"user_id": user, "k": [1, 10, 50][i % 3]})
        if i % 4 == 0:
            out.append({"user_id": user, "k": 20, "genres": ["Horror"], "exclude": rng.choice(ids, 5).tolist()})
    for i in range(n):
        liked = rng.choice(ids, int(rng.integers(1, 8))).tolist() + ([999_999] if i % 5 == 0 else [])
        out.append({"liked": liked, "k": [1, 10, 50][i % 3]})
        if i % 4 == 0:
            out.append({"liked": liked, "k": 30, "genres": ["Action", "Drama"], "exclude": liked[:1] + [7]})
    return out


def served(model: ItemKNNRecommender, q: dict[str, Any]) -> tuple[list[int], list[float]]:
    filters = {"genres": q.get("genres"), "exclude": q.get("exclude", ())}
    if "liked" in q:
        items, scores = model.recommend_for_items(q["liked"], q["k"], **filters)
    else:
        items, scores = model.recommend_for_user(q["user_id"], q["k"], **filters)
    return items.tolist(), scores.tolist()


def expected(model: ItemKNNRecommender, q: dict[str, Any]) -> tuple[list[int], list[float]]:
    if "liked" in q:
        seeds = model._known(q["liked"])
        seen = seeds
    else:
        seen = model._positions(model.rated_items(q["user_id"]))
        seeds = model._positions(model.liked_by(q["user_id"]))
    seen = np.concatenate([seen, model._known(q.get("exclude", []))]).astype(np.int64)
    return reference(model, seeds.astype(np.int64), seen, q["k"], q.get("genres"))


@pytest.fixture(params=["scipy-loop", "numpy-offsets"])
def gather_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test that takes it runs with scipy's row loop and with the NumPy fallback."""
    if request.param == "numpy-offsets":
        monkeypatch.setattr(votes, "csr_row_index", None)
    else:
        assert votes.csr_row_index is not None  # the pinned scipy has it: the fast path is what serves
    return request.param


@pytest.mark.parametrize("dense_ratio", [0, 10**9], ids=["sparse-labels", "dense-bincount"])
def test_rankings_equal_brute_force_exactly(monkeypatch: pytest.MonkeyPatch, dense_ratio: int, gather_path: str) -> None:
    monkeypatch.setattr(votes, "_DENSE_RATIO", dense_ratio)
    model = random_model()
    for q in queries(model):
        assert served(model, q) == expected(model, q), q


@pytest.mark.parametrize("dense_ratio", [0, 10**9], ids=["sparse-labels", "dense-bincount"])
def test_explanations_equal_the_similarity_block(monkeypatch: pytest.MonkeyPatch, dense_ratio: int,
                                                 gather_path: str) -> None:
    """Votes are the block's column sums; the top voter is the lowest id among the largest."""
    monkeypatch.setattr(votes, "_DENSE_RATIO", dense_ratio)
    model = random_model()
    for q in queries(model):
        items, _ = served(model, q)
        seeds = q.get("liked") or model.liked_by(q["user_id"]).tolist()
        got = model.votes_for(seeds, items)
        sources = model._known(seeds)
        block = model.similarity_[sources][:, model._positions(items)].toarray().astype(np.float64)
        assert np.allclose(got[0], block.sum(axis=0), rtol=0, atol=1e-12)
        assert got[2].tolist() == np.count_nonzero(block, axis=0).tolist()
        top = [model.item_ids_[sources[block[:, j].argmax()]] if block[:, j].any() else -1 for j in range(len(items))]
        assert got[1].tolist() == top


def test_gather_equals_scipy_row_indexing(gather_path: str) -> None:
    """Rows in any order, repeated, empty (items nobody else watched) or none at all."""
    rng = np.random.default_rng(2)
    dense = (rng.random((50, 30)) < 0.2) * rng.random((50, 30))
    dense[[3, 10, 11]] = 0
    sim = sparse.csr_matrix(dense.astype(np.float32))
    empty = np.flatnonzero(np.diff(sim.indptr) == 0)
    for rows in (rng.integers(0, sim.shape[0], 40), np.r_[empty[:2], 7, 7, 3, empty[:1]], np.array([5]),
                 np.empty(0, dtype=np.int64), rng.integers(0, sim.shape[0], 40).astype(np.int32)):
        got = votes.gather(sim.indptr, sim.indices, sim.data, rows)
        want = sim[rows] if len(rows) else sim[:0]
        assert got.columns.dtype == np.intp and got.values.dtype == sim.data.dtype
        assert got.columns.tolist() == want.indices.tolist() and got.values.tolist() == want.data.tolist()
        assert got.ends.tolist() == want.indptr[1:].tolist()
    for outside in (np.array([2, -1]), np.array([sim.shape[0]])):
        with pytest.raises(IndexError):
            votes.gather(sim.indptr, sim.indices, sim.data, outside)


@pytest.mark.parametrize("damage", ["indptr-decreases", "indptr-past-the-end", "column-out-of-range",
                                    "ratings-of-another-catalog"])
def test_arrays_the_row_loop_cannot_read_safely_refuse_to_unpickle(damage: str) -> None:
    model = random_model()
    sim = model.similarity_
    if damage == "indptr-decreases":
        sim.indptr[3] = sim.indptr[-1]
    elif damage == "indptr-past-the-end":
        sim.indptr[-1] += 50
    elif damage == "column-out-of-range":
        sim.indices[0] = model.n_items
    else:
        model.user_items_ = model.user_items_[:, :-1]
    with pytest.raises(ValueError):
        pickle.loads(pickle.dumps(model))


def test_a_sound_model_unpickles_to_the_same_answers() -> None:
    model = random_model()
    again = pickle.loads(pickle.dumps(model))
    assert [served(again, q) for q in queries(model, n=10)] == [served(model, q) for q in queries(model, n=10)]


def test_explain_handles_no_seeds_repeated_items_and_unknown_items() -> None:
    model = random_model()
    items, _ = model.popular(4)
    votes_, because, voters = model.votes_for([], items)
    assert votes_.tolist() == [0.0] * 4 and because.tolist() == [-1] * 4 and voters.tolist() == [0] * 4
    seeds = model.item_ids_[model.popular_order_[4:12]]
    twice = np.concatenate([items, items[:2]])
    once, again = model.votes_for(seeds, items), model.votes_for(seeds, twice)
    for a, b in zip(once, again):
        assert b.tolist() == a.tolist() + a[:2].tolist()
    with pytest.raises(KeyError):
        model.votes_for(seeds, [int(items[0]), 2])  # 2 is not an id (ids are 3n + 1)


def test_describe_is_explain_with_titles() -> None:
    model = random_model()
    seeds = model.item_ids_[model.popular_order_[:6]]
    items, _ = model.recommend_for_items(seeds, 10)
    unvoted = model.item_ids_[model.votes_for(seeds, model.item_ids_)[2] == 0][:2]
    items = np.concatenate([items, unvoted])
    why = model.describe(seeds, items)
    votes_, because, voters = model.votes_for(seeds, items)
    assert why.votes == votes_.tolist() and why.because == because.tolist() and why.voters == voters.tolist()
    assert why.titles == [model.title(i) for i in items.tolist()]
    assert why.because_titles == [model.title(b) if b >= 0 else None for b in because.tolist()]
    assert -1 in why.because


def test_a_users_description_is_that_of_the_items_they_liked() -> None:
    model = random_model()
    users = [int(u) for u in model.user_ids_[:25]] + [-5]  # -5: unknown, so no seeds
    for user in users:
        items, _ = model.recommend_for_user(user, 8)
        liked = model.liked_by(user) if model.has_user(user) else []
        assert model.recommend_for_user(user, 8, with_reasons=True)[2] == model.describe(liked, items), user


@pytest.mark.parametrize("seed", [0, 3])
def test_explaining_in_the_ranking_pass_equals_ranking_then_describing(seed: int) -> None:
    """``with_reasons=True`` reuses the rows the ranking read; the answer is that of the two calls."""
    model = random_model(seed)
    work = queries(model, n=30, seed=seed + 10) + [{"user_id": -5, "k": 7}, {"liked": [999_999], "k": 4}]
    for q in work:
        filters = {"genres": q.get("genres"), "exclude": q.get("exclude", ())}
        if "liked" in q:
            items, scores, why = model.recommend_for_items(q["liked"], q["k"], **filters, with_reasons=True)
            separately = model.describe(q["liked"], items)
        else:
            items, scores, why = model.recommend_for_user(q["user_id"], q["k"], **filters, with_reasons=True)
            separately = model.describe(model.liked_by(q["user_id"]), items)
        assert (items.tolist(), scores.tolist()) == served(model, q), q
        assert why == separately, q
    items, scores, why = model.popular(6, exclude=model.item_ids_[:2].tolist(), with_reasons=True)
    assert [items.tolist(), scores.tolist()] == [a.tolist() for a in model.popular(6, exclude=model.item_ids_[:2].tolist())]
    assert why == model.describe([], items) and set(why.because) == {-1}


def test_threads_get_the_answers_of_one_thread_and_leave_the_scratch_clean() -> None:
    model = random_model(seed=3)
    work = queries(model, n=40, seed=4) * 3
    alone = [(served(model, q), model.votes_for(q.get("liked", [1]), served(model, q)[0])[1].tolist()) for q in work]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda q: (served(model, q), model.votes_for(q.get("liked", [1]), served(model, q)[0])[1].tolist()), work))
    assert together == alone
    free = model._marks().free
    assert free and all(not marks.array.any() for marks in free)


def test_a_failed_request_leaves_no_marks() -> None:
    pool = votes.MarksPool(10)
    with pytest.raises(RuntimeError):
        with pool.borrowed() as marks:
            marks.write(np.array([1, 5]), 3)
            raise RuntimeError
    with pool.borrowed() as marks:
        assert not marks.array.any()


def test_serving_state_is_never_pickled() -> None:
    model = random_model()
    fresh = pickle.dumps(model)
    served(model, {"user_id": int(model.user_ids_[0]), "k": 5})
    model.votes_for([int(model.item_ids_[0])], model.popular(3)[0])
    assert model.__dict__.keys() > pickle.loads(fresh).__dict__.keys()  # it did build some
    assert pickle.dumps(model) == fresh


def test_refitting_drops_what_serving_derived() -> None:
    users, items, stars, *meta = ratings(seed=5)
    model = ItemKNNRecommender(n_neighbors=15).fit(users, items, stars, *meta)
    liked = {"liked": sorted(set(items))[:4], "k": 10}
    served(model, liked)
    model.fit(users, items, stars[::-1], *meta)  # same catalog, other neighbours
    assert served(model, liked) == expected(model, liked)
