"""One changed byte in a committed artifact: that use case is refused, the others serve."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlservice.registry.spec import read_models_config
from tests.test_predictions import APPLICANTS, PATIENTS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("broken", ["risk", "diagnose", "recommend"])
def test_flipped_byte_takes_down_only_its_use_case(make_app, tmp_path, broken):
    specs = read_models_config(ROOT / "configs" / "models.toml")
    entries = {}
    for name, deployment in specs.items():
        spec = deployment.default
        folder = tmp_path / name
        shutil.copytree(spec.artifact_dir, folder)
        entries[name] = {"version": spec.version, "artifact": str(folder / spec.artifact.name),
                         "sha256": spec.sha256, "settings": spec.settings}
    artifact = Path(entries[broken]["artifact"])
    data = bytearray(artifact.read_bytes())
    data[-10] ^= 0xFF
    artifact.write_bytes(bytes(data))

    client = make_app(entries).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    [reason] = ready.json["errors"]["models"][broken]
    assert "digest mismatch" in reason and str(artifact) in reason
    assert set(ready.json["errors"]["models"]) == {broken}

    requests = {"risk": ("/risk", APPLICANTS[0]), "diagnose": ("/diagnose", PATIENTS[0]),
                "recommend": ("/recommend", {"user_id": 15, "k": 3})}
    for name, (path, body) in requests.items():
        response = client.post(path, json=body)
        if name == broken:
            assert response.status_code == 503 and response.json["code"] == 503
        else:
            assert response.status_code == 200 and response.json["model"]["name"] == name
