"""A model swap on Kubernetes is a ConfigMap edit: the kubelet's own file layout and update, against real gunicorn under load.

A mounted ConfigMap is a folder whose files are symlinks (``models.toml ->
..data/models.toml``), ``..data`` itself a symlink to a timestamped folder. On an
update the kubelet writes a new timestamped folder, points a temporary symlink at
it, renames that over ``..data`` (atomic), and removes the old folder. The service
must follow ``..data`` on every poll, never the folder it first resolved.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from deploy.processes import ROOT, Replica
from mlservice.registry.artifact import folder_digest
from tests.figures import record
from tests.kubelet import kubelet_update, models_toml
from tests.load import Load
from tests.stacks import wait_until

pytestmark = pytest.mark.integration
POLL_SECONDS = 1.0
PATIENT = {"pregnancies": 2, "glucose": 120, "blood_pressure": 72, "skin_thickness": 29, "bmi": 32.8,
           "pedigree": 0.42, "age": 28}


def test_a_configmap_edit_swaps_the_model_under_load_and_a_bad_one_keeps_it(tmp_path):
    pins = {v: folder_digest(ROOT / "artifacts" / "diagnose" / v) for v in ("1.0.0", "1.1.0")}
    folder = tmp_path / "configmap"
    service = f'MODELS_CONFIG = "models.toml"\nMODELS_POLL_SECONDS = {POLL_SECONDS}\n'
    kubelet_update(folder, {"service.toml": service, "models.toml": models_toml(ROOT / "artifacts", "1.0.0", pins["1.0.0"])}, 1)
    replica = Replica(0, tmp_path, workers=2, env={"MLSERVICE_CONFIG": str(folder / "service.toml"),
                                                   "MLSERVICE_MODELS_STATE_DIR": str(tmp_path / "state")})
    replica.start()
    try:
        replica.wait_healthy()
        wait_until(lambda: requests.get(f"{replica.url}/readyz", timeout=5).status_code == 200, timeout=30)
        send = lambda s: s.post(f"{replica.url}/diagnose", json=PATIENT, timeout=10)  # noqa: E731
        with Load(send, threads=4, seconds=8) as load:
            time.sleep(1.5)
            kubelet_update(folder, {"service.toml": service, "models.toml": models_toml(ROOT / "artifacts", "1.1.0", pins["1.1.0"])}, 2)
            edited = time.monotonic()
            swapped = wait_until(lambda: any(o.version == "1.1.0" for o in load.since(edited)), timeout=10)
            time.sleep(2 * POLL_SECONDS + 0.5)  # every worker has polled since
            settled = time.monotonic()
            bad = models_toml(ROOT / "artifacts", "1.2.0", "0" * 64).replace('/diagnose/1.2.0/', '/diagnose/1.1.0/')
            kubelet_update(folder, {"service.toml": service, "models.toml": bad}, 3)
        after_bad = load.since(settled)
        record("configmap swap: kubelet-style edit under load",
               f"{load.failed()} failed of {load.total}; new version first served {swapped:.2f} s after the rename")
        assert load.total > 100 and load.failed() == 0
        assert swapped <= 2 * POLL_SECONDS + 1  # within the poll interval, both workers
        assert after_bad and {o.version for o in after_bad} == {"1.1.0"}  # the bad edit changed nothing
        assert sorted(p.name for p in folder.iterdir() if p.name.startswith("..2026")) == \
               ["..2026_12_05_10_00_00.000000003"]  # the kubelet removed the folders the service first read
        ready = requests.get(f"{replica.url}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["models"]["diagnose"] == "1.1.0"
        assert "digest mismatch" in ready.json()["rejected"]["diagnose"]
    finally:
        replica.stop()
