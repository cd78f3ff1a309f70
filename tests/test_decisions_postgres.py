"""Decision records in a real PostgreSQL under load: none lost through a 30 s outage of the store, a worker's
SIGTERM and the recorder's SIGKILL."""
from __future__ import annotations

import os
import signal
import time

import pytest

from deploy.processes import Replica
from mlservice.decisions.store import RecordStore
from tests.figures import record
from tests.load import Load
from tests.postgres import Postgres
from tests.stacks import wait_until

pytestmark = pytest.mark.integration
PATIENT = {"pregnancies": 2, "glucose": 120, "blood_pressure": 72, "skin_thickness": 29, "bmi": 32.8,
           "pedigree": 0.42, "age": 28}
OUTAGE = 30.0


def test_records_written_equal_predictions_served_through_an_outage_a_sigterm_and_a_sigkill(tmp_path):
    postgres = Postgres().init()
    postgres.start()
    store = RecordStore(postgres.url)
    replica = Replica(0, tmp_path, workers=2, env={
        "MLSERVICE_DECISIONS_ENABLED": "true", "MLSERVICE_DECISIONS_URL": postgres.url, "MLSERVICE_DECISIONS_SPOOL_DIR": str(tmp_path / "spool"),
        "MLSERVICE_MODELS_STATE_DIR": str(tmp_path / "state")})
    try:
        replica.start()
        replica.wait_healthy()
        wait_until(replica.recorder_pids, timeout=10)
        [recorder] = replica.recorder_pids()
        send = lambda s: s.post(f"{replica.url}/diagnose", json=PATIENT, timeout=20)  # noqa: E731
        with Load(send, threads=3, seconds=OUTAGE + 14) as load:
            time.sleep(3)
            postgres.stop()
            time.sleep(OUTAGE)
            waiting = len(list((tmp_path / "spool").glob("*.rows.json")))
            postgres.start()
            time.sleep(2)
            os.kill(recorder, signal.SIGKILL)  # the workers write themselves until the master starts another
            time.sleep(2)
            worker = replica.worker_pids()[0]
            os.kill(worker, signal.SIGTERM)  # gunicorn replaces it (and the recorder); its queue is handed off first
        served = sum(o.status == 200 for o in load.results)
        wait_until(lambda: store.count() >= served, timeout=30)
        time.sleep(1)  # any duplicate would show now
        written = store.count()
        record("decisions (postgresql): records under load", f"{written} written of {served} predictions served; "
               f"store down {OUTAGE:.0f} s ({waiting} batches spooled), the recorder SIGKILLed, a worker SIGTERMed; "
               f"{load.failed()} failed requests")
        assert load.failed() == 0 and served > 1000 and waiting > 10
        assert written == served  # not one lost, not one twice
        assert worker not in replica.worker_pids()
        assert replica.recorder_pids() and recorder not in replica.recorder_pids()  # started again
        assert not list((tmp_path / "spool").glob("*.rows.json"))  # the spool is empty again
    finally:
        replica.stop()
        postgres.remove()


def test_records_from_before_request_keys_are_found_beside_new_ones_in_postgresql():
    from tests.test_decisions import an_older_store, assert_migrated_and_found

    postgres = Postgres().init()
    postgres.start()
    try:
        an_older_store(postgres.url)
        assert_migrated_and_found(RecordStore(postgres.url))
    finally:
        postgres.remove()
