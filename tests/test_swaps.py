"""Transactional swaps in one process: a good change applies, a bad one changes nothing."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from deploy.processes import ROOT
from mlservice import create_app
from mlservice.registry.extension import EXTENSION
from mlservice.registry.deployment import bucket
from mlservice.registry.spec import missing_entry, unknown_name
from tests.factories import (PATIENT, SETTINGS, corrupt, other_features, tiny_diagnose_model, with_canary, write_artifact,
                             write_models_config)

@pytest.fixture()
def versions(tmp_path: Path) -> dict[str, dict[str, Any]]:
    root = tmp_path / "artifacts"
    return {
        "0.1.0": {**write_artifact(root, tiny_diagnose_model(0), version="0.1.0"), "settings": SETTINGS},
        "0.2.0": {**write_artifact(root, tiny_diagnose_model(1), version="0.2.0"), "settings": SETTINGS},
    }


@pytest.fixture()
def deploy(tmp_path: Path):
    """Write the models config, then build an app on it (or refresh an existing one)."""
    config = tmp_path / "models.toml"

    def write(entries: dict[str, Any]) -> Path:
        return write_models_config(config, entries)

    def app() -> Any:
        return create_app({"TESTING": True, "MODELS_CONFIG": str(config), "MODELS_STATE_DIR": str(tmp_path / "state"),
                           "USE_CASES": ["diagnose"]})

    write.app = app  # type: ignore[attr-defined]
    return write


def served_version(client: Any, body: dict[str, Any] = PATIENT) -> str:
    response = client.post("/diagnose", json=body)
    assert response.status_code == 200, response.get_json()
    return response.json["model"]["version"]


def test_good_change_applies_on_refresh(deploy, versions):
    deploy({"diagnose": versions["0.1.0"]})
    app = deploy.app()
    client = app.test_client()
    assert served_version(client) == "0.1.0"
    deploy({"diagnose": versions["0.2.0"]})
    assert app.extensions[EXTENSION].refresh() is True
    assert served_version(client) == "0.2.0"
    assert client.get("/readyz").json["rejected"] == {}
    assert app.extensions[EXTENSION].refresh() is False


BAD_CHANGES = {
    "corrupt artifact": (lambda v, t: {"diagnose": corrupt(v["0.2.0"])}, "digest mismatch"),
    "missing file": (lambda v, t: {"diagnose": {**v["0.2.0"], "artifact": str(t / "nope.joblib")}}, "cannot read artifact"),
    "digest mismatch": (lambda v, t: {"diagnose": {**v["0.2.0"], "sha256": "0" * 64}}, "digest mismatch"),
    "typo'd key": (lambda v, t: {"diagnose": {**{k: x for k, x in v["0.2.0"].items() if k != "sha256"}, "sha265": "x"}}, "lacks sha256"),
    "other features": (lambda v, t: {"diagnose": other_features(t)}, "features differ"),
    "bad settings": (lambda v, t: {"diagnose": {**v["0.2.0"], "settings": {"threshold": "high"}}}, "invalid settings"),
    "device as artifact": (lambda v, t: {"diagnose": {**v["0.2.0"], "artifact": "/dev/zero"}}, "not a regular file"),
}


@pytest.mark.parametrize("change", sorted(BAD_CHANGES))
def test_bad_change_changes_nothing_and_is_visible(deploy, versions, tmp_path, change):
    make, reason = BAD_CHANGES[change]
    deploy({"diagnose": versions["0.1.0"]})
    app = deploy.app()
    client = app.test_client()
    deploy(make(versions, tmp_path))
    assert app.extensions[EXTENSION].refresh() is False
    assert served_version(client) == "0.1.0"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and reason in ready.json["rejected"]["diagnose"]
    detail = client.get("/models/diagnose").json
    assert detail["version"] == "0.1.0" and reason in detail["rejected"]["reason"] and detail["rejected"]["at"]

    deploy({"diagnose": versions["0.2.0"]})
    assert app.extensions[EXTENSION].refresh() is True
    assert served_version(client) == "0.2.0"
    assert client.get("/models/diagnose").json["rejected"] is None


def test_half_written_config_changes_nothing(deploy, versions, tmp_path):
    config = deploy({"diagnose": versions["0.1.0"]})
    app = deploy.app()
    text = config.read_text()
    deploy({"diagnose": versions["0.2.0"]})
    config.write_text(config.read_text()[: len(text) // 2])
    app.extensions[EXTENSION].refresh()
    assert served_version(app.test_client()) == "0.1.0"
    assert "not valid TOML" in app.test_client().get("/readyz").json["rejected"]["diagnose"]


def test_a_fresh_worker_facing_a_bad_config_serves_the_last_good_version(deploy, versions, tmp_path):
    deploy({"diagnose": versions["0.2.0"]})
    first = deploy.app()
    assert served_version(first.test_client()) == "0.2.0"
    deploy({"diagnose": corrupt(versions["0.1.0"])})
    restarted = deploy.app()
    assert served_version(restarted.test_client()) == "0.2.0"
    assert "digest mismatch" in restarted.test_client().get("/readyz").json["rejected"]["diagnose"]


def test_a_worker_forked_from_an_older_master_catches_up_before_serving(deploy, versions):
    """With ``preload_app`` a worker inherits the models the master loaded at boot."""
    deploy({"diagnose": versions["0.1.0"]})
    master = deploy.app()
    deploy({"diagnose": versions["0.2.0"]})
    registry = master.extensions[EXTENSION]
    registry.poll_seconds = 3600  # only the check before the first poll can apply the change
    registry.start_watching()
    try:
        assert served_version(master.test_client()) == "0.2.0"
    finally:
        registry._watcher.stopped.set()


def test_a_worker_forked_from_an_older_master_serves_its_siblings_version_under_a_bad_config(deploy, versions):
    deploy({"diagnose": versions["0.1.0"]})
    master = deploy.app()  # boot: 0.1.0
    deploy({"diagnose": versions["0.2.0"]})
    assert served_version(deploy.app().test_client()) == "0.2.0"  # a sibling accepted the swap
    deploy({"diagnose": corrupt(versions["0.1.0"])})
    master.extensions[EXTENSION].refresh()  # a worker forked from the master, catching up
    assert served_version(master.test_client()) == "0.2.0"
    assert "digest mismatch" in master.test_client().get("/readyz").json["rejected"]["diagnose"]


def test_an_artifact_finished_after_its_config_is_picked_up(deploy, versions, tmp_path):
    deploy({"diagnose": versions["0.1.0"]})
    app = deploy.app()
    target = tmp_path / "late" / "0.2.0"
    shutil.copytree(Path(versions["0.2.0"]["artifact"]).parent, target)
    complete = (target / "model.joblib").read_bytes()
    (target / "model.joblib").write_bytes(complete[: len(complete) // 2])
    deploy({"diagnose": {**versions["0.2.0"], "artifact": str(target / "model.joblib")}})
    app.extensions[EXTENSION].refresh()
    assert served_version(app.test_client()) == "0.1.0"
    (target / "model.joblib").write_bytes(complete)
    assert app.extensions[EXTENSION].refresh() is True
    assert served_version(app.test_client()) == "0.2.0"


def test_canary_share_is_sticky_per_subject(deploy, versions):
    deploy(with_canary(versions, 0.2))
    client = deploy.app().test_client()
    seen = {f"p-{i}": served_version(client, {**PATIENT, "patient_id": f"p-{i}"}) for i in range(2000)}
    share = sum(v == "0.2.0" for v in seen.values()) / len(seen)
    assert 0.17 <= share <= 0.23
    for key in list(seen)[:200]:
        assert served_version(client, {**PATIENT, "patient_id": key}) == seen[key]
    assert all((bucket("diagnose", k) < 0.2) == (v == "0.2.0") for k, v in seen.items())


def test_canary_config_entries_are_checked(deploy, versions):
    deploy({"diagnose": {**versions["0.1.0"], "canary": {**corrupt(versions["0.2.0"]), "share": 0.5}}})
    client = deploy.app().test_client()
    assert "canary 0.2.0: digest mismatch" in client.get("/models/diagnose").json["rejected"]["reason"]


def shadow_count(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "mlservice_shadow_predictions_total", {"model": "diagnose", "version": "0.2.0", "outcome": outcome}
    )
    return value or 0.0


def test_shadow_sees_traffic_but_never_answers(deploy, versions):
    shadow = {k: v for k, v in versions["0.2.0"].items() if k != "settings"}
    deploy({"diagnose": {**versions["0.1.0"], "shadow": shadow}})
    client = deploy.app().test_client()
    before = shadow_count("agree") + shadow_count("disagree")
    versions_seen = {served_version(client, {**PATIENT, "glucose": 80.0 + i}) for i in range(50)}
    assert versions_seen == {"0.1.0"}
    assert shadow_count("agree") + shadow_count("disagree") - before == 50
    assert client.get("/models/diagnose").json["shadow"]["version"] == "0.2.0"


def test_models_check_gate(tmp_path, versions):
    from click.testing import CliRunner

    from mlservice.cli import main

    good = write_models_config(tmp_path / "good.toml", {"diagnose": versions["0.1.0"]})
    bad = write_models_config(tmp_path / "bad.toml", {"diagnose": corrupt(versions["0.2.0"])})
    ok = CliRunner().invoke(main, ["models", "check", "--only", "diagnose", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "diagnose" in ok.output and "OK" in ok.output
    failed = CliRunner().invoke(main, ["models", "check", "--only", "diagnose", str(bad)])
    assert failed.exit_code == 1
    assert "diagnose" in failed.output and "digest mismatch" in failed.output
    stray = write_models_config(tmp_path / "stray.toml", {"fraud": versions["0.1.0"]})
    out = CliRunner().invoke(main, ["models", "check", "--only", "diagnose", str(stray)])
    assert out.exit_code == 1  # the service's own words for both (registry.spec)
    known = ["diagnose", "recommend", "risk"]
    assert missing_entry("diagnose", stray) in out.output and unknown_name("fraud", known) in out.output
    fleet = CliRunner().invoke(main, ["models", "check", "--only", "diagnose", str(ROOT / "configs" / "models.toml")])
    assert fleet.exit_code == 0, fleet.output  # risk and recommend entries belong to other fleets, as in the service


def _within(seconds: float, work: Any) -> None:
    """Run ``work`` in a thread; fail (rather than hang the suite) if it blocks."""
    import threading

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked reading a file"


def test_a_fifo_never_blocks_the_watcher_and_later_edits_still_apply(deploy, versions, tmp_path):
    config = deploy({"diagnose": versions["0.1.0"]})
    app = deploy.app()
    registry = app.extensions[EXTENSION]
    fifo = tmp_path / "fifo.joblib"
    os.mkfifo(fifo)
    deploy({"diagnose": {**versions["0.2.0"], "artifact": str(fifo)}})
    _within(5, registry.refresh)
    assert "not a regular file" in app.test_client().get("/readyz").json["rejected"]["diagnose"]
    config.unlink()
    os.mkfifo(config)  # the config itself
    _within(5, registry.refresh)
    assert "not a regular file" in app.test_client().get("/readyz").json["rejected"]["diagnose"]
    config.unlink()
    deploy({"diagnose": versions["0.2.0"]})
    assert registry.refresh() is True
    assert served_version(app.test_client()) == "0.2.0"


def test_an_artifact_over_the_size_limit_is_refused_unread(deploy, versions, tmp_path):
    deploy({"diagnose": versions["0.1.0"]})
    size = Path(versions["0.1.0"]["artifact"]).stat().st_size
    app = create_app({"TESTING": True, "MODELS_CONFIG": str(tmp_path / "models.toml"), "USE_CASES": ["diagnose"],
                      "MODELS_STATE_DIR": str(tmp_path / "state"), "MODEL_MAX_BYTES": size - 1})
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503, ready.json
    assert "larger than the limit" in ready.json["errors"]["models"]["diagnose"][0]
