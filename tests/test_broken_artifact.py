"""A broken committed artifact (a changed byte, malformed arrays): that use case is refused, the others serve."""
from __future__ import annotations

from pathlib import Path

import joblib
import pytest

from tests.factories import APPLICANTS, PATIENTS, committed_specs, copy_of, repin


@pytest.mark.parametrize("broken", ["risk", "diagnose", "recommend"])
def test_flipped_byte_takes_down_only_its_use_case(make_app, tmp_path, broken):
    entries = {name: copy_of(name, tmp_path, version=spec.version) for name, spec in committed_specs().items()}
    artifact = Path(entries[broken]["artifact"])
    data = bytearray(artifact.read_bytes())
    data[-10] ^= 0xFF
    artifact.write_bytes(bytes(data))

    client = make_app(entries).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    [reason] = ready.json["errors"]["models"][broken]
    assert "digest mismatch" in reason and str(artifact.parent) in reason
    assert set(ready.json["errors"]["models"]) == {broken}

    requests = {"risk": ("/risk", APPLICANTS[0]), "diagnose": ("/diagnose", PATIENTS[0]),
                "recommend": ("/recommend", {"user_id": 15, "k": 3})}
    for name, (path, body) in requests.items():
        response = client.post(path, json=body)
        if name == broken:
            assert response.status_code == 503 and response.json["code"] == 503
        else:
            assert response.status_code == 200 and response.json["model"]["name"] == name


def test_recommender_with_malformed_arrays_is_refused_before_serving(make_app, tmp_path):
    """A pinned, well-signed artifact whose CSR structure would send the row loop out of bounds."""
    entry = copy_of("recommend", tmp_path)
    artifact = Path(entry["artifact"])
    model = joblib.load(artifact)
    model.similarity_.indptr[-1] += 1_000
    joblib.dump(model, artifact)
    repin(entry)

    client = make_app({"recommend": entry}).test_client()
    [reason] = client.get("/readyz").json["errors"]["models"]["recommend"]
    assert "cannot unpickle" in reason and "ValueError" in reason
    assert client.post("/recommend", json={"user_id": 15, "k": 3}).status_code == 503
