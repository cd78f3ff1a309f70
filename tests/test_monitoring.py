"""Live monitoring: drift against the card's training reference, live quality from outcomes, and both
right across the workers of a replica."""
from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from sklearn.metrics import brier_score_loss, roc_auc_score

from deploy.processes import Replica
from mlservice import create_app
from mlservice.monitoring.extension import SAMPLED_ROWS
from mlservice.monitoring.bins import CategoryBins, NumberBins, counts, cut
from mlservice.monitoring.reference import for_card, psi
from mlservice.monitoring.shelf import Shelf
from mlservice.monitoring.window import SlidingCounts
from mlservice.diagnose.schemas import EXAMPLE_PATIENT
from mlservice.risk.schemas import ApplicantSchema
from mlservice.training import risk, tabular
from tests.figures import record
from tests.stacks import scrape, value, wait_until

ROOT = Path(__file__).resolve().parents[1]
THRESHOLD = 0.2  # the alert's PSI threshold (deploy/prometheus/rules.yml)


@pytest.fixture(scope="module")
def applicants() -> tuple[list[dict[str, Any]], np.ndarray]:
    """2,000 rows of the credit data as API requests, with their real outcomes (seeded sample)."""
    frame = risk.load_data()
    rows, y = tabular.object_rows(frame, risk.NAMES), risk.target(frame)
    fields = [name for name, f in ApplicantSchema().fields.items() if "feature" in f.metadata]
    column_of = {f.metadata["feature"]: name for name, f in ApplicantSchema().fields.items() if name in fields}
    chosen = np.random.default_rng(7).choice(len(y), 2000, replace=False)
    records = [{column_of[n]: v for n, v in zip(risk.NAMES, rows[i].tolist())} for i in chosen]
    return records, y[chosen]


def monitored_app(**config: Any) -> Any:
    return create_app({"TESTING": True, "MODELS_POLL_SECONDS": 0, **config})


def assess(client: Any, records: list[dict[str, Any]], size: int = 1000) -> list[tuple[str, int, float]]:
    """(request id, row, probability) of every record, sent as batches of ``size``."""
    answered = []
    for start in range(0, len(records), size):
        response = client.post("/risk/batch", json={"rows": records[start:start + size]})
        assert response.status_code == 200, response.json
        rid = response.headers["X-Request-ID"]
        answered += [(rid, i, r["probability_of_default"]) for i, r in enumerate(response.json["results"])]
    return answered


def gauges(client: Any, name: str) -> dict[str, float]:
    """``name``'s samples for risk, keyed by their input label (or "" without one)."""
    text = client.get("/metrics").get_data(as_text=True)
    from prometheus_client.parser import text_string_to_metric_families

    return {s.labels.get("input", ""): s.value for f in text_string_to_metric_families(text) for s in f.samples
            if s.name == name and s.labels.get("model") == "risk"}


# --- the reference in the card ------------------------------------------------------------


def test_bins_cut_numbers_at_deciles_and_keep_categories_unseen_and_missing_apart():
    numbers = cut(list(range(100)) + [None] * 5, categorical=False)
    assert isinstance(numbers, NumberBins) and np.allclose(numbers.edges, [9.9 * k for k in range(1, 10)])
    assert counts(numbers, list(range(100)) + [None] * 5).tolist() == [10] * 10 + [5]
    categories = cut(["a", "b", None, "a"], categorical=True)
    assert isinstance(categories, CategoryBins) and categories.categories == ("a", "b")
    assert counts(categories, ["a", "c", None, None]).tolist() == [1, 0, 1, 2]  # a, b, other, missing


@pytest.mark.parametrize("use_case", ["risk", "diagnose"])
def test_each_served_card_holds_the_reference_of_its_fit_rows(use_case):
    card = json.loads((ROOT / "artifacts" / use_case / "1.1.0" / "card.json").read_text())
    reference = card["reference"]
    assert reference["rows"] == card["training"]["final_fit_rows"]
    assert [f["name"] for f in reference["features"]] == [f["name"] for f in card["features"]]
    for entry in [*reference["features"], reference["score"]]:
        assert sum(entry["counts"]) == reference["rows"]
    categorical = {f["name"] for f in card["features"] if f["type"] == "categorical"}
    assert {f["name"] for f in reference["features"] if f["type"] == "categorical"} == categorical


def test_for_card_recomputes_the_committed_risk_reference(applicants):
    """The card's reference is what ``for_card`` gives on the training rows minus the golden ones."""
    card = json.loads((ROOT / "artifacts" / "risk" / "1.1.0" / "card.json").read_text())
    frame = risk.load_data()
    rows = tabular.object_rows(frame, risk.NAMES)
    golden = [g["input"] for g in card["golden"]]
    keep = np.array([row.tolist() not in golden for row in rows])
    import joblib

    model = joblib.load(ROOT / "artifacts" / "risk" / "1.1.0" / "model.joblib")
    fit = rows[keep]
    assert for_card(risk.NAMES, fit, model.predict_proba(fit)[:, 1]) == card["reference"]


def test_psi_is_zero_for_the_same_shares_and_grows_with_the_shift():
    train = np.array([100, 100, 100, 100, 0])
    assert psi(train * 3, train) == pytest.approx(0.0, abs=1e-12)
    assert 0 < psi(np.array([120, 100, 100, 80, 0]), train) < psi(np.array([200, 100, 100, 0, 0]), train)


# --- drift -----------------------------------------------------------------------------------


def test_doubled_incomes_drift_income_and_no_other_input(applicants):
    records, _ = applicants
    steady = monitored_app().test_client()
    assess(steady, records, size=SAMPLED_ROWS)  # every row counted
    steady.application.extensions["monitoring"].flush()
    before = gauges(steady, "mlservice_drift_input_psi")
    assert gauges(steady, "mlservice_drift_window_rows") == {"": 2000.0}
    assert len(before) == 13 and max(before.values()) < 0.1, before

    shifted = monitored_app().test_client()
    assess(shifted, [{**r, "income": None if r["income"] is None else 2 * r["income"]} for r in records],
           size=SAMPLED_ROWS)
    shifted.application.extensions["monitoring"].flush()
    after = gauges(shifted, "mlservice_drift_input_psi")
    record("monitoring: doubled incomes", f"income PSI {after['income']:.3f} (before {before['income']:.4f}); "
           f"largest other {max(v for k, v in after.items() if k != 'income'):.4f}; threshold {THRESHOLD}")
    assert {name for name, v in after.items() if v > THRESHOLD} == {"income"}
    assert gauges(shifted, "mlservice_drift_input_ks")["income"] > 0.2 > gauges(steady, "mlservice_drift_input_ks")["income"]


def test_a_large_request_is_counted_by_a_systematic_sample_of_its_rows(applicants):
    records, _ = applicants
    client = monitored_app().test_client()
    assess(client, records[:1000])
    body = {"columns": {f: [r[f] for r in records[:1000]] for f in records[0]}}
    assert client.post("/risk/columns", json=body).status_code == 200
    client.application.extensions["monitoring"].flush()
    assert gauges(client, "mlservice_drift_window_rows") == {"": 2.0 * SAMPLED_ROWS}  # every 10th row of each


def test_the_window_forgets_slots_older_than_its_length():
    window = SlidingCounts(Shelf(None), seconds=60, slots=6)
    window.add("x", np.array([1, 0]), now=1000.0)
    window.add("x", np.array([0, 2]), now=1035.0)
    assert window.total("x", 2, now=1039.0).tolist() == [1, 2]
    assert window.total("x", 2, now=1061.0).tolist() == [0, 2]  # the slot of t=1000 left the window
    window.add("x", np.array([5, 0]), now=1060.0)  # the same row as t=1000's slot, zeroed first
    assert window.total("x", 2, now=1060.0).tolist() == [5, 2]


def _add_from_a_worker(folder: str, amount: int) -> None:
    SlidingCounts(Shelf(folder), seconds=60, slots=6).add("x", np.array([amount, 1]), now=time.time())


def test_workers_counts_add_up_and_outlive_them_in_the_next_worker_until_stale(tmp_path):
    context = multiprocessing.get_context("fork")
    for amount in (3, 4):
        worker = context.Process(target=_add_from_a_worker, args=(str(tmp_path), amount))
        worker.start()
        worker.join(10)
    shelf = Shelf(str(tmp_path))
    assert SlidingCounts(shelf, seconds=60, slots=6).total("x", 2, now=time.time()).tolist() == [7, 2]
    assert len(list(tmp_path.glob("x.*.npy"))) == 1  # the second worker took the dead first one's file over
    adopted = shelf.mine("x", np.int64, (6, 3))  # and so does this process: counts kept, renamed to its pid
    assert [p.name for p in tmp_path.glob("x.*.npy")] == [f"x.{os.getpid()}.npy"] and adopted[:, 1:].sum() == 9
    assert SlidingCounts(shelf, seconds=60, slots=6).total("x", 2, now=time.time()).tolist() == [7, 2]
    (tmp_path / f"x.{os.getpid()}.npy").rename(tmp_path / "x.999999999.npy")  # "dies" (no such pid)
    shelf.remove_stale(older_than=3600)
    assert len(list(tmp_path.glob("x.*.npy"))) == 1  # dead, but still within the window
    shelf.remove_stale(older_than=-1)
    assert not list(tmp_path.glob("x.*.npy"))


def test_a_dead_workers_file_of_another_layout_is_replaced_not_adopted(tmp_path):
    np.lib.format.open_memmap(tmp_path / "x.999999999.npy", mode="w+", dtype=np.int64, shape=(4, 2))[:] = 9
    fresh = Shelf(str(tmp_path)).mine("x", np.int64, (6, 3))
    assert fresh.shape == (6, 3) and not fresh.any()
    assert [p.name for p in tmp_path.glob("x.*.npy")] == [f"x.{os.getpid()}.npy"]


# --- outcomes and live quality ---------------------------------------------------------------


def test_live_auc_and_brier_equal_scikit_learns_on_the_same_rows(applicants):
    records, y = applicants
    client = monitored_app().test_client()
    answered = assess(client, records[:1500])
    outcomes = [{"request_id": rid, "row": row, "outcome": bool(o)} for (rid, row, _), o in zip(answered, y)]
    response = client.post("/risk/outcomes", json={"outcomes": outcomes[:1000]})
    assert response.status_code == 200 and response.json["accepted"] == 1000, response.json
    assert client.post("/risk/outcomes", json={"outcomes": outcomes[1000:]}).json["accepted"] == 500
    p = np.array([a[2] for a in answered])
    truth = y[:1500]
    live = {name: gauges(client, f"mlservice_live_{name}")[""] for name in ("roc_auc", "brier_score",
                                                                               "calibration_error", "outcomes")}
    record("monitoring: live AUC", f"{live['roc_auc']:.6f} against scikit-learn's {roc_auc_score(truth, p):.6f} "
           f"on {int(live['outcomes'])} outcomes")
    assert live["outcomes"] == 1500
    assert abs(live["roc_auc"] - roc_auc_score(truth, p)) <= 1e-9
    assert abs(live["brier_score"] - brier_score_loss(truth, p)) <= 1e-9
    bins = np.minimum((p * 10).astype(int), 9)
    ece = sum(abs(p[bins == b].mean() - truth[bins == b].mean()) * (bins == b).mean() for b in set(bins))
    assert abs(live["calibration_error"] - ece) <= 1e-9


def test_unknown_duplicate_late_and_abstained_outcomes_are_counted_never_joined_twice(applicants):
    records, _ = applicants
    client = monitored_app(MONITORING_OUTCOME_MAX_DELAY_SECONDS=0.5).test_client()
    [(rid, _, _)] = assess(client, records[:1])
    unknown_before = value(client.get("/metrics").get_data(as_text=True), "mlservice_outcomes_total",
                           {"model": "risk", "result": "unknown"})  # the counters are the process's
    response = client.post("/risk/outcomes", json={"outcomes": [
        {"request_id": rid, "outcome": True}, {"request_id": rid, "outcome": False},
        {"request_id": "never-predicted", "outcome": True}, {"request_id": rid, "row": 1, "outcome": True}]})
    assert response.json == {"accepted": 1, "duplicate": 1, "unknown": 2, "late": 0, "abstained": 0}
    assert client.post("/risk/outcomes", json={"outcomes": [{"request_id": rid, "outcome": True}]}).json["duplicate"] == 1
    [(old, _, _)] = assess(client, records[1:2])
    time.sleep(0.6)
    assert client.post("/risk/outcomes", json={"outcomes": [{"request_id": old, "outcome": True}]}).json["late"] == 1
    abstained = client.post("/diagnose", json={**EXAMPLE_PATIENT, "glucose": 400})
    assert abstained.json["abstained"] is True
    report = {"outcomes": [{"request_id": abstained.headers["X-Request-ID"], "outcome": True}]}
    assert client.post("/diagnose/outcomes", json=report).json["abstained"] == 1
    assert gauges(client, "mlservice_live_outcomes") == {"": 1.0}
    text = client.get("/metrics").get_data(as_text=True)
    assert value(text, "mlservice_outcomes_total", {"model": "risk", "result": "unknown"}) == unknown_before + 2


@pytest.mark.parametrize("records_kept", [True, False])
def test_an_outcome_the_ledger_forgot_is_joined_from_the_decision_records_when_kept(applicants, tmp_path, records_kept):
    records, y = applicants
    app = monitored_app(MONITORING_PREDICTIONS_KEPT=3, DECISIONS_ENABLED=records_kept,
                        DECISIONS_URL=f"sqlite:///{tmp_path / 'records.db'}", DECISIONS_SPOOL_DIR=str(tmp_path / "spool"))
    client = app.test_client()
    answered = [assess(client, [record_])[0] for record_ in records[:6]]  # the ledger keeps the last 3
    if records_kept:
        app.extensions["decisions"].writer.flush()
    report = [{"request_id": rid, "outcome": bool(o)} for (rid, _, _), o in zip(answered, y)]
    receipt = client.post("/risk/outcomes", json={"outcomes": report}).json
    assert receipt["accepted"] == (6 if records_kept else 3) and receipt["unknown"] == (0 if records_kept else 3)
    if records_kept:
        p = [a[2] for a in answered]
        assert gauges(client, "mlservice_live_brier_score")[""] == pytest.approx(brier_score_loss(y[:6], p), abs=1e-12)


@pytest.mark.parametrize("body", [
    {"outcomes": [{"request_id": "a", "outcome": "yes"}]},
    {"outcomes": [{"request_id": "a", "outcome": 1}]},
    {"outcomes": [{"request_id": "a b", "outcome": True}]},
    {"outcomes": [{"outcome": True}]},
    {"outcomes": []},
    {"outcomes": [{"request_id": "a", "outcome": True}] * 1001},
    [{"request_id": "a", "outcome": True}],
])
def test_bad_outcome_reports_are_refused_in_the_error_shape_without_their_values(client, body):
    response = client.post("/risk/outcomes", json=body)
    assert response.status_code == 422 and set(response.json) >= {"code", "message", "errors"}
    assert "yes" not in response.get_data(as_text=True) and "a b" not in response.get_data(as_text=True)


def test_outcomes_need_the_feedback_scope(tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps([{"id": "caller", "key": "k" * 32, "scopes": ["predict"]},
                                {"id": "lender", "key": "f" * 32, "scopes": ["feedback"]}]))
    client = monitored_app(AUTH_ENABLED=True, API_KEYS=keys.read_text()).test_client()
    body = {"outcomes": [{"request_id": "r1", "outcome": True}]}
    assert client.post("/risk/outcomes", json=body, headers={"Authorization": "Bearer " + "k" * 32}).status_code == 403
    answered = client.post("/risk/outcomes", json=body, headers={"Authorization": "Bearer " + "f" * 32})
    assert answered.status_code == 200 and answered.json["unknown"] == 1
    assert client.post("/risk", json={}, headers={"Authorization": "Bearer " + "f" * 32}).status_code == 403
    spec = client.get("/openapi.json").json
    assert spec["paths"]["/{use_case}/outcomes"]["post"]["x-required-scope"] == "feedback"


@pytest.mark.parametrize("rows", [1, 200])
def test_a_failure_to_count_costs_no_answer_and_is_counted_without_values(applicants, monkeypatch, caplog, rows):
    records, _ = applicants
    client = monitored_app().test_client()
    monitor = client.application.extensions["monitoring"]
    before = value(client.get("/metrics").get_data(as_text=True), "mlservice_monitoring_failures_total", {})
    quoted = "could not convert 987654.321"  # an error message that quotes an input value
    monkeypatch.setattr(monitor, "_count", lambda *a: (_ for _ in ()).throw(ValueError(quoted)))
    answered = client.post("/risk/batch", json={"rows": records[:rows]})
    monitor.flush()
    assert answered.status_code == 200 and len(answered.json["results"]) == rows
    after = value(client.get("/metrics").get_data(as_text=True), "mlservice_monitoring_failures_total", {})
    assert after - before == 1 and "ValueError" in caplog.text and "987654.321" not in caplog.text


def test_a_card_without_a_reference_serves_with_no_drift_gauges(make_app, tiny_entry):
    app = make_app({"diagnose": tiny_entry}, USE_CASES=["diagnose"], MODELS_POLL_SECONDS=0)
    client = app.test_client()
    assert client.post("/diagnose", json=EXAMPLE_PATIENT).status_code == 200
    app.extensions["monitoring"].flush()
    text = client.get("/metrics").get_data(as_text=True)
    assert "mlservice_drift_input_psi{" not in text and "mlservice_drift_window_rows{" not in text


# --- across the workers of a real replica -----------------------------------------------------


@pytest.mark.integration
def test_every_scrape_of_a_two_worker_replica_sees_every_workers_rows_and_outcomes(tmp_path, applicants):
    records, y = applicants
    replica = Replica(0, tmp_path, workers=2)
    replica.start()
    try:
        replica.wait_healthy()
        answered = []
        with requests.Session() as session:
            for record_ in records[:400]:
                response = session.post(f"{replica.url}/risk", json=record_, timeout=10)
                assert response.status_code == 200
                answered.append((response.headers["X-Request-ID"], response.json()["probability_of_default"]))
            time.sleep(1.0)  # each worker's thread records within a tenth of a second
            outcomes = [{"request_id": rid, "outcome": bool(o)} for (rid, _), o in zip(answered, y)]
            for start in range(0, 400, 100):
                receipt = session.post(f"{replica.url}/risk/outcomes", json={"outcomes": outcomes[start:start + 100]},
                                       timeout=10).json()
                assert receipt["accepted"] == 100, receipt
        scrapes = [scrape(replica.url) for _ in range(6)]
        per_worker = list((replica.metrics_dir / "monitoring").glob("drift-risk-*.npy"))
        rows = {value(s, "mlservice_drift_window_rows", {"model": "risk"}) for s in scrapes}
        aucs = {value(s, "mlservice_live_roc_auc", {"model": "risk"}) for s in scrapes}
        p = np.array([a[1] for a in answered])
        record("monitoring: two workers", f"6 scrapes all saw {rows} rows and AUC {aucs} "
               f"(scikit-learn {roc_auc_score(y[:400], p):.6f})")
        assert rows == {400.0} and len(aucs) == 1
        assert abs(aucs.pop() - roc_auc_score(y[:400], p)) <= 1e-9
        assert len(per_worker) == 2  # both workers predicted: the scrapes summed their files
    finally:
        replica.stop()
