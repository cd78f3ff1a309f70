"""A model swap on Kubernetes is a ConfigMap edit: the kubelet's own file layout and update, against real gunicorn under load.

A mounted ConfigMap is a folder whose files are symlinks (``models.toml ->
..data/models.toml``), ``..data`` itself a symlink to a timestamped folder. On an
update the kubelet writes a new timestamped folder, points a temporary symlink at
it, renames that over ``..data`` (atomic), and removes the old folder. The service
must follow ``..data`` on every poll, never the folder it first resolved.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
import requests

from deploy.processes import ROOT, Replica
from mlservice.registry.artifact import folder_digest
from tests.figures import record
from tests.load import Load
from tests.stacks import wait_until

pytestmark = pytest.mark.integration
POLL_SECONDS = 1.0
PATIENT = {"pregnancies": 2, "glucose": 120, "blood_pressure": 72, "skin_thickness": 29, "bmi": 32.8,
           "pedigree": 0.42, "age": 28}


def kubelet_update(folder: Path, files: dict[str, str], stamp: int) -> None:
    """What the kubelet's AtomicWriter does: new timestamped folder, ``..data`` renamed onto it, old folder removed."""
    folder.mkdir(exist_ok=True)
    new = folder / f"..2026_12_05_10_00_00.{stamp:09d}"
    new.mkdir()
    for name, text in files.items():
        (new / name).write_text(text)
    data = folder / "..data"
    old = os.readlink(data) if data.is_symlink() else None
    os.symlink(new.name, folder / "..data_tmp")
    os.rename(folder / "..data_tmp", data)
    for name in files:
        if not (folder / name).is_symlink():
            os.symlink(f"..data/{name}", folder / name)
    if old:
        shutil.rmtree(folder / old)


def models_toml(diagnose_version: str, diagnose_pin: str) -> str:
    """The committed models config with absolute artifact paths, diagnose at ``diagnose_version``."""
    text = (ROOT / "configs" / "models.toml").read_text().replace('"../artifacts/', f'"{ROOT}/artifacts/')
    start = text.index("[models.diagnose]")
    end = text.index("[models.diagnose.settings]")
    entry = (f'[models.diagnose]\nversion = "{diagnose_version}"\n'
             f'artifact = "{ROOT}/artifacts/diagnose/{diagnose_version.split("-")[0]}/model.joblib"\n'
             f'sha256 = "{diagnose_pin}"\n\n')
    return text[:start] + entry + text[end:]


def test_a_configmap_edit_swaps_the_model_under_load_and_a_bad_one_keeps_it(tmp_path):
    pins = {v: folder_digest(ROOT / "artifacts" / "diagnose" / v) for v in ("1.0.0", "1.1.0")}
    folder = tmp_path / "configmap"
    service = f'MODELS_CONFIG = "models.toml"\nMODELS_POLL_SECONDS = {POLL_SECONDS}\n'
    kubelet_update(folder, {"service.toml": service, "models.toml": models_toml("1.0.0", pins["1.0.0"])}, 1)
    replica = Replica(0, tmp_path, workers=2, env={"MLSERVICE_CONFIG": str(folder / "service.toml"),
                                                   "MLSERVICE_MODELS_STATE_DIR": str(tmp_path / "state")})
    replica.start()
    try:
        replica.wait_healthy()
        wait_until(lambda: requests.get(f"{replica.url}/readyz", timeout=5).status_code == 200, timeout=30)
        send = lambda s: s.post(f"{replica.url}/diagnose", json=PATIENT, timeout=10)  # noqa: E731
        with Load(send, threads=4, seconds=8) as load:
            time.sleep(1.5)
            kubelet_update(folder, {"service.toml": service, "models.toml": models_toml("1.1.0", pins["1.1.0"])}, 2)
            edited = time.monotonic()
            swapped = wait_until(lambda: any(o.version == "1.1.0" for o in load.since(edited)), timeout=10)
            time.sleep(2 * POLL_SECONDS + 0.5)  # every worker has polled since
            settled = time.monotonic()
            bad = models_toml("1.2.0", "0" * 64).replace('/diagnose/1.2.0/', '/diagnose/1.1.0/')
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
