"""Decision records: one per predicted row, the answer the client got, inputs only as the policy says."""
from __future__ import annotations

import hashlib
import hmac
import json
import fcntl
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlservice import create_app
from mlservice.cli import main
from mlservice.decisions import recorder
from mlservice.decisions.extension import EXTENSION
from mlservice.decisions.policy import InputPolicy, PolicyError
from mlservice.decisions.records import line_of
from mlservice.decisions.spool import Spool
from mlservice.decisions.store import RecordStore, Row
from mlservice.registry.artifact import folder_digest
from mlservice.risk.schemas import ApplicantSchema
from tests.factories import APPLICANTS, PATIENTS, ROOT, committed_entry, copy_of, write_models_config
from tests.stacks import wait_until

CANARY_NUMBER = 123456.789  # in range for income, never a value any other field or answer holds
KEY = "a test key, never a production one"


def make(tmp_path: Path, **config: Any):
    settings = {"TESTING": True, "MODELS_POLL_SECONDS": 0, "DECISIONS_ENABLED": True,
                "DECISIONS_URL": f"sqlite:///{tmp_path / 'records.db'}",
                "DECISIONS_SPOOL_DIR": str(tmp_path / "spool"), **config}
    return create_app(settings)


def written(app: Any) -> list[dict[str, Any]]:
    log = app.extensions[EXTENSION]
    log.writer.flush()
    return list(log.store.export())


def without(answer: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in keys}


def test_a_record_per_row_holding_the_answer_and_which_model_gave_it(tmp_path):
    app = make(tmp_path)
    client = app.test_client()
    one = client.post("/risk", json=APPLICANTS[0], headers={"X-Request-ID": "one"})
    batch = client.post("/diagnose/batch", json={"rows": PATIENTS[:2] * 2}, headers={"X-Request-ID": "batch"})
    liked = client.post("/recommend", json={"liked_items": [1, 2], "k": 3}, headers={"X-Request-ID": "liked"})
    assert one.status_code == batch.status_code == liked.status_code == 200
    records = {(r["request_id"], r["row"]): r for r in written(app)}
    assert set(records) == {("one", 0), ("batch", 0), ("batch", 1), ("batch", 2), ("batch", 3), ("liked", 0)}
    risk = app.extensions["model_registry"].deployments["risk"].default.spec
    assert records["one", 0]["digest"] == risk.sha256 and records["one", 0]["version"] == risk.version
    assert records["one", 0]["role"] == "default" and records["one", 0]["caller"] is None
    assert records["one", 0]["outputs"] == without(one.get_json(), "model")
    for i in range(4):
        assert records["batch", i]["outputs"] == without(batch.get_json()["results"][i], "model")
    assert [item["id"] for item in records["liked", 0]["outputs"]["items"]] == \
           [item["id"] for item in liked.get_json()["items"]]
    assert all(r["inputs"] is None for r in records.values())  # nothing kept by default


def test_columnar_batches_are_recorded_row_by_row(tmp_path):
    app = make(tmp_path)
    columns = {field: [row.get(field) for row in PATIENTS * 2] for field in PATIENTS[0]}
    answer = app.test_client().post("/diagnose/columns", json={"columns": columns}, headers={"X-Request-ID": "cols"})
    assert answer.status_code == 200
    records = sorted((r for r in written(app) if r["request_id"] == "cols"), key=lambda r: r["row"])
    assert [r["outputs"]["label"] for r in records] == answer.get_json()["label"]
    assert [r["outputs"]["probability"] for r in records] == answer.get_json()["probability"]


def test_no_record_for_a_refused_request(tmp_path):
    app = make(tmp_path)
    response = app.test_client().post("/risk", json={**APPLICANTS[0], "age": -1}, headers={"X-Request-ID": "bad"})
    assert response.status_code == 422
    assert not [r for r in written(app) if r["request_id"] == "bad"]


def test_personal_values_are_in_no_record_export_or_log_unless_kept(tmp_path, caplog, capfd):
    applicant = {**APPLICANTS[0], "income": CANARY_NUMBER, "applicant_id": "canary-subject-77"}
    policies = {"risk": {"income": "hash", "amount": "keep"}}
    app = make(tmp_path, DECISIONS_INPUTS=policies, DECISIONS_HASH_KEY=KEY)
    assert app.test_client().post("/risk", json=applicant, headers={"X-Request-ID": "p"}).status_code == 200
    [record] = [r for r in written(app) if r["request_id"] == "p"]
    exported = CliRunner().invoke(main, ["decisions", "export", "--use-case", "risk"],
                                  env={"MLSERVICE_DECISIONS_URL": app.config["DECISIONS_URL"]})
    assert exported.exit_code == 0
    everything = json.dumps(record) + exported.output + caplog.text + "".join(capfd.readouterr())
    everything += (tmp_path / "records.db").read_bytes().decode("latin-1")
    assert str(CANARY_NUMBER) not in everything and "canary-subject-77" not in everything
    assert record["inputs"]["amount"] == applicant["amount"]  # keep: the value itself, for replay
    data = json.dumps(CANARY_NUMBER, separators=(",", ":")).encode()
    assert record["inputs"]["income"] == hmac.new(KEY.encode(), data, hashlib.sha256).hexdigest()  # hash: keyed
    assert record["inputs"]["income"] != hashlib.sha256(data).hexdigest()  # not an unkeyed hash anyone can try
    assert set(record["inputs"]) == {"income", "amount"}  # every other field omitted
    assert record["inputs_until"] is not None


@pytest.mark.parametrize(("inputs", "config", "says"), [
    ({"risk": {"income": "store"}}, {}, "must be one of"),
    ({"risk": {"income": "hash"}}, {}, "DECISIONS_HASH_KEY"),
    ({"risk": {"salary": "keep"}}, {}, "does not have"),
])
def test_a_wrong_policy_refuses_to_start(tmp_path, inputs, config, says):
    with pytest.raises(PolicyError, match=says):
        make(tmp_path, DECISIONS_INPUTS=inputs, **config)


def test_a_store_that_fails_spools_and_the_records_arrive_once_it_is_back(tmp_path):
    app = make(tmp_path, DECISIONS_URL=f"sqlite:///{tmp_path / 'missing-folder' / 'records.db'}")
    client = app.test_client()
    for i in range(5):
        assert client.post("/diagnose", json=PATIENTS[i % 2], headers={"X-Request-ID": f"s{i}"}).status_code == 200
    log = app.extensions[EXTENSION]
    log.writer.flush()
    status = client.get("/readyz").get_json()["decisions"]
    assert status["spooled_batches"] >= 1 and status["dropped"] == 0 and status["last_error"]
    (tmp_path / "missing-folder").mkdir()  # the store is back
    log.writer.flush()
    assert sorted(r["request_id"] for r in log.store.export()) == [f"s{i}" for i in range(5)]  # each once
    assert client.get("/readyz").get_json()["decisions"]["spooled_batches"] == 0


def test_a_full_spool_drops_and_counts_and_the_service_keeps_serving(tmp_path):
    app = make(tmp_path, DECISIONS_URL=f"sqlite:///{tmp_path / 'missing-folder' / 'records.db'}",
               DECISIONS_SPOOL_MAX_BYTES=10)
    client = app.test_client()
    assert client.post("/diagnose", json=PATIENTS[0]).status_code == 200
    app.extensions[EXTENSION].writer.flush()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["decisions"]["dropped"] == 1
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'mlservice_decision_records_total{outcome="dropped"}' in metrics


def test_get_decisions_by_request_id(tmp_path):
    app = make(tmp_path)
    client = app.test_client()
    client.post("/diagnose/batch", json={"rows": PATIENTS[:2]}, headers={"X-Request-ID": "find-me"})
    app.extensions[EXTENSION].writer.flush()
    found = client.get("/decisions/find-me").get_json()["decisions"]
    assert [d["row"] for d in found] == [0, 1] and {d["use_case"] for d in found} == {"diagnose"}
    missing = client.get("/decisions/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["code"] == 404


def test_retention_removes_old_records_and_kept_inputs_past_their_date(tmp_path):
    store = RecordStore(f"sqlite:///{tmp_path / 'r.db'}")
    store.migrate()
    now = datetime.now(timezone.utc)

    def row(days_ago: float, inputs: str | None, inputs_days: float | None) -> Row:
        until = None if inputs_days is None else (now + timedelta(days=inputs_days)).timestamp()
        return Row((now - timedelta(days=days_ago)).timestamp(), "r", 0, None, "risk", "risk", "1", "0" * 64,
                   "default", "{}", inputs, until)

    batch = [row(500, None, None), row(100, '{"amount": 800}', -10), row(0, '{"amount": 900}', 90)]
    assert store.insert([("batch-1", batch)]) == 3
    assert store.insert([("batch-1", batch)]) == 0  # the same batch again (its first commit's answer was lost): skipped
    assert store.expire(keep_days=400, now=now) == (1, 1)
    assert [r["inputs"] for r in store.export()] == [None, {"amount": 900}]
    assert store.migrate() == 3  # applied once; a second start changes nothing


def test_replay_reports_what_a_candidate_would_change_exactly_as_serving_it_would(tmp_path):
    """Recorded with risk 1.1.0 and every input kept, replayed with 1.0.0: the changed decisions are those an
    app serving 1.0.0 gives for the same applicants."""
    fields = [name for name, f in ApplicantSchema().fields.items() if "feature" in f.metadata]
    app = make(tmp_path, DECISIONS_INPUTS={"risk": {f: "keep" for f in fields}})
    applicants = [{**a, "amount": amount} for a in APPLICANTS for amount in (300, 800, 2000, 5000)]
    client = app.test_client()
    served_now = [client.post("/risk", json=a).get_json()["decision"] for a in applicants]
    written(app)
    candidate = tmp_path / "candidate.toml"
    config = (ROOT / "configs" / "models.toml").read_text().replace('"../artifacts/', f'"{ROOT}/artifacts/')
    config = config.replace('version = "1.1.0"\nartifact = "' + f"{ROOT}/artifacts/risk/1.1.0/model.joblib",
                            'version = "1.0.0"\nartifact = "' + f"{ROOT}/artifacts/risk/1.0.0/model.joblib")
    config = config.replace(folder_digest(ROOT / "artifacts" / "risk" / "1.1.0"), folder_digest(ROOT / "artifacts" / "risk" / "1.0.0"))
    candidate.write_text(config)
    old = create_app({"TESTING": True, "MODELS_POLL_SECONDS": 0, "MODELS_CONFIG": str(candidate), "DECISIONS_ENABLED": False})
    served_old = [old.test_client().post("/risk", json=a).get_json()["decision"] for a in applicants]
    result = CliRunner().invoke(main, ["decisions", "replay", "--use-case", "risk", "--candidate", str(candidate)],
                                env={"MLSERVICE_DECISIONS_URL": app.config["DECISIONS_URL"]})
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["records"] == report["replayed"] == len(applicants)
    assert report["candidate"]["version"] == "1.0.0"
    expected = {f"{a} -> {b}": 0 for a, b in zip(served_now, served_old) if a != b}
    for a, b in zip(served_now, served_old):
        if a != b:
            expected[f"{a} -> {b}"] += 1
    assert report["changes"] == dict(sorted(expected.items()))
    assert report["decisions_changed"] == sum(expected.values())
    assert report["probability_shift"]["max_absolute"] > 0
    assert report["decisions_changed"] > 0  # the two versions do disagree on some of these applicants


def test_replay_without_kept_inputs_says_so(tmp_path):
    app = make(tmp_path)
    app.test_client().post("/risk", json=APPLICANTS[0])
    written(app)
    result = CliRunner().invoke(main, ["decisions", "replay", "--use-case", "risk", "--candidate",
                                       str(ROOT / "configs" / "models.toml")],
                                env={"MLSERVICE_DECISIONS_URL": app.config["DECISIONS_URL"]})
    report = json.loads(result.output[result.output.index("{"):])
    assert report["replayed"] == 0 and report["records"] >= 1 and "keep" in report["message"]


def test_memory_is_bounded_by_rows_not_requests(tmp_path, monkeypatch):
    """A 10,000-row batch is one request but 10,000 records: the queue's bound counts records."""
    from mlservice.decisions import writer

    monkeypatch.setattr(writer, "MAX_QUEUED_ROWS", 3)
    app = make(tmp_path)
    response = app.test_client().post("/diagnose/batch", json={"rows": PATIENTS * 2}, headers={"X-Request-ID": "big"})
    assert response.status_code == 200
    log = app.extensions[EXTENSION]
    log.writer.flush()
    assert log.writer.dropped == 4 and log.writer.queued_rows == 0
    assert not [r for r in log.store.export() if r["request_id"] == "big"]


def test_a_shadow_answer_is_recorded_beside_the_served_one_with_its_role(tmp_path):
    """Both versions' answers to the same request, so a data scientist can compare them on live traffic."""
    shadow = copy_of("diagnose", tmp_path / "artifacts", version="9.0.0")
    config = write_models_config(tmp_path / "models.toml", {
        "diagnose": {**committed_entry("diagnose"), "shadow": {k: v for k, v in shadow.items() if k != "settings"}}})
    app = make(tmp_path, MODELS_CONFIG=str(config))
    answer = app.test_client().post("/diagnose/batch", json={"rows": PATIENTS[:2]}, headers={"X-Request-ID": "sh"})
    assert answer.status_code == 200 and answer.get_json()["model"]["version"] != "9.0.0"
    records = [r for r in written(app) if r["request_id"] == "sh"]
    by_role = {role: sorted((r for r in records if r["role"] == role), key=lambda r: r["row"]) for role in ("default", "shadow")}
    assert [r["row"] for r in by_role["default"]] == [r["row"] for r in by_role["shadow"]] == [0, 1]
    assert {r["version"] for r in by_role["shadow"]} == {"9.0.0"}
    assert [r["outputs"] for r in by_role["shadow"]] == [without(x, "model") for x in answer.get_json()["results"]]


def test_with_a_recorder_running_workers_only_spool_and_the_recorder_writes(tmp_path):
    app = make(tmp_path)
    log = app.extensions[EXTENSION]
    stop = threading.Event()
    running = threading.Thread(target=recorder.record, args=(RecordStore(app.config["DECISIONS_URL"]), log.spool, stop))
    running.start()
    try:
        assert wait_until(log.spool.recorder_running, timeout=5) >= 0
        client = app.test_client()
        for i in range(3):
            assert client.post("/diagnose", json=PATIENTS[0], headers={"X-Request-ID": f"r{i}"}).status_code == 200
        log.writer.flush()
        status = client.get("/readyz").get_json()["decisions"]
        assert status["recorder"] is True
        assert log.spool.waiting() >= 1 or log.store.count() == 3  # spooled, or the recorder was quicker
        wait_until(lambda: log.store.count() == 3, timeout=5)
    finally:
        stop.set()
        running.join(10)
    assert not running.is_alive() and not log.spool.recorder_running()
    assert sorted(r["request_id"] for r in log.store.export()) == ["r0", "r1", "r2"]


def test_a_recorder_starved_of_cpu_catches_up_at_its_own_priority_before_records_drop(tmp_path, monkeypatch):
    """The recorder's writing thread runs at the lowest priority; through sustained saturation it gets no CPU
    (simulated: its passes write nothing). Past ``CATCH_UP_SHARE`` of the spool, the thread that kept the
    recorder's priority writes everything that waits."""
    from mlservice.decisions import writer

    real_pass = recorder._pass
    monkeypatch.setattr(recorder, "_pass", lambda store, spool: real_pass(store, spool)
                        if threading.current_thread().name == "decision-catch-up" else recorder.IDLE_SECONDS)
    monkeypatch.setattr(recorder, "IDLE_SECONDS", 0.05)
    monkeypatch.setattr(writer, "LINGER", 60.0)  # batches are spooled by this test's flushes only
    app = make(tmp_path, DECISIONS_SPOOL_MAX_BYTES=20_000)
    log, client = app.extensions[EXTENSION], app.test_client()
    stop = threading.Event()
    running = threading.Thread(target=recorder.record, args=(RecordStore(app.config["DECISIONS_URL"]), log.spool, stop))
    running.start()
    try:
        assert wait_until(log.spool.recorder_running, timeout=5) >= 0
        for i in range(2):
            assert client.post("/diagnose", json=PATIENTS[0], headers={"X-Request-ID": f"f{i}"}).status_code == 200
            log.writer.flush()
        time.sleep(0.3)
        assert log.spool.bytes() < recorder.CATCH_UP_SHARE * log.spool.max_bytes
        assert log.store.count() == 0 and log.spool.waiting() == 2  # below the share: left to the starved thread
        for i in range(2, 30):  # one batch (flushed once) that takes the spool past the share
            assert client.post("/diagnose", json=PATIENTS[0], headers={"X-Request-ID": f"f{i}"}).status_code == 200
        log.writer.flush()
        assert wait_until(lambda: log.store.count() == 30, timeout=10) >= 0
    finally:
        stop.set()
        running.join(10)
    assert log.writer.dropped == 0 and log.spool.waiting() == 0 and not running.is_alive()


def test_a_spooled_batch_is_written_once_whatever_happens_to_whoever_claimed_it(tmp_path):
    store = RecordStore(f"sqlite:///{tmp_path / 'r.db'}")
    spool = Spool(tmp_path / "spool", 10**6)
    x, y = _line("x", rows=2), _line("y")
    assert spool.put("b1", [x]) and spool.put("b2", [y])
    [first, _] = spool.batches()
    dead = _a_dead_pid()
    first.rename(first.with_name(f".claimed-{dead}-{first.name}"))  # claimed by a process that died since
    (spool.folder / "0-1-bad.rows.json").write_text("not a batch")
    assert spool.replay(store) == (3, None)
    assert spool.replay(store) == (0, None) and spool.waiting() == 0
    assert spool.put("b1", [x]) and spool.replay(store) == (0, None)  # b1 again: already written, skipped
    assert sorted((r["request_id"], r["row"]) for r in store.export()) == [("x", 0), ("x", 1), ("y", 0)]
    assert (spool.folder / ".corrupt-0-1-bad.rows.json").exists()  # kept aside, never retried


def test_a_batch_spooled_by_the_first_format_is_still_written(tmp_path):
    """Records spooled before an upgrade (one JSON object holding the records) arrive after it."""
    store = RecordStore(f"sqlite:///{tmp_path / 'r.db'}")
    spool = Spool(tmp_path / "spool", 10**6)
    spool.folder.mkdir()
    row = Row(datetime.now(timezone.utc).timestamp(), "old", 0, None, "risk", "risk", "1", "0" * 64, "default",
              '{"decision":"approve"}', None, None)
    (spool.folder / "0-1-old.rows.json").write_text(json.dumps({"batch_id": "old", "rows": [list(row)]}))
    assert spool.replay(store) == (1, None)
    [record] = store.export()
    assert record["request_id"] == "old" and record["outputs"] == {"decision": "approve"}


def _line(request_id: str, rows: int = 1) -> bytes:
    answers = [{"decision": "approve", "probability_of_default": 0.1 * i} for i in range(rows)]
    head = (datetime.now(timezone.utc).timestamp(), request_id, None, "risk")
    line, count = line_of(head, ("risk", "1", "0" * 64), "default", "rows", [{}] * rows, answers,
                          InputPolicy({}), 90)
    assert count == rows
    return line


def _a_dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def an_older_store(url: str) -> None:
    """A store as migration 2 left it: records indexed by their request id, with no request key."""
    import sqlalchemy as sa

    from mlservice.decisions.store import BATCHES, VERSION

    metadata = sa.MetaData()
    old = sa.Table("mlservice_decisions", metadata,
                   sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
                   sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
                   sa.Column("request_id", sa.String(128), nullable=False, index=True),
                   *(sa.Column(name, sa.String(64)) for name in ("caller", "use_case", "model", "version", "digest",
                                                                  "role")),
                   sa.Column("row", sa.Integer, nullable=False), sa.Column("outputs", sa.JSON, nullable=False),
                   sa.Column("inputs", sa.JSON), sa.Column("inputs_until", sa.DateTime(timezone=True)))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        metadata.create_all(conn)
        for table in (VERSION, BATCHES):
            table.create(conn)
        conn.execute(VERSION.insert(), [{"version": 1}, {"version": 2}])
        conn.execute(old.insert(), [{"at": datetime.now(timezone.utc), "request_id": f"old-{i // 2}", "row": i % 2,
                                     "use_case": "risk", "model": "risk", "version": "1", "digest": "0" * 64,
                                     "role": "default", "outputs": {"row": i}} for i in range(6)])
    engine.dispose()


def assert_migrated_and_found(store: RecordStore) -> None:
    import sqlalchemy as sa

    assert store.migrate() == 3
    found = store.by_request("old-1")
    assert [(r["request_id"], r["row"], r["outputs"]) for r in found] == [("old-1", 0, {"row": 2}), ("old-1", 1, {"row": 3})]
    assert "request_key" not in found[0]
    new = Row(datetime.now(timezone.utc).timestamp(), "new-1", 0, None, "risk", "risk", "1", "0" * 64, "default",
              '{"row": 9}', None, None)
    assert store.insert([("b-new", [new])]) == 1
    assert [r["outputs"] for r in store.by_request("new-1")] == [{"row": 9}]
    indexes = {i["name"] for i in sa.inspect(store.engine).get_indexes("mlservice_decisions")}
    # the full request-id index is gone; old records are found through one that covers only them
    assert {"ix_mlservice_decisions_request_key", "ix_mlservice_decisions_request_id_unkeyed"} <= indexes
    assert "ix_mlservice_decisions_request_id" not in indexes


def test_records_from_before_request_keys_are_found_beside_new_ones(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    an_older_store(url)
    assert_migrated_and_found(RecordStore(url))
