"""Hot swaps under real gunicorn (2 workers) with load running throughout: 0 failed requests."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from deploy.processes import ROOT, Replica, wait_for, workers
from tests.factories import (PATIENT, SETTINGS, corrupt, other_features, tiny_diagnose_model, with_canary, write_artifact,
                             write_models_config)
from tests.figures import record
from tests.load import Load, numbered
from tests.stacks import scrape, value

pytestmark = pytest.mark.integration  # real gunicorn

POLL = 0.3
BOUND = 10.0  # seconds within which every worker must serve a good change


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("swaps")
    root = tmp / "artifacts"
    versions = {v: {**write_artifact(root, tiny_diagnose_model(i), version=v), "settings": SETTINGS}
                for i, v in enumerate(["0.1.0", "0.2.0"])}
    config = write_models_config(tmp / "models.toml", {"diagnose": versions["0.1.0"]})
    env = {"MLSERVICE_MODELS_CONFIG": str(config), "MLSERVICE_MODELS_STATE_DIR": str(tmp / "state"),
           "MLSERVICE_MODELS_POLL_SECONDS": str(POLL), "MLSERVICE_USE_CASES": '["diagnose"]'}
    replica = Replica(0, tmp, workers=2, env=env)
    replica.start()
    try:
        wait_for(f"{replica.url}/readyz", timeout=60)
        yield {"url": replica.url, "proc": replica.proc, "config": config, "versions": versions, "tmp": tmp}
    finally:
        replica.stop()


def write(stack: dict[str, Any], entries: dict[str, Any]) -> None:
    """Replace the config the way editors do: write a temp file, then rename over."""
    tmp = stack["config"].with_suffix(".tmp")
    write_models_config(tmp, entries)
    os.replace(tmp, stack["config"])


def wait_for_version(load: Load, version: str) -> float:
    """Seconds until 40 consecutive responses (so both workers) come from ``version``."""
    start = time.monotonic()
    while time.monotonic() - start < BOUND:
        recent = load.since(time.monotonic() - 0.5)
        if len(recent) >= 40 and all(o.version == version for o in recent[-40:]):
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"not every worker serves {version} within {BOUND}s")


def versions_since(load: Load, t: float) -> set[str]:
    return {o.version for o in load.since(t) if o.version}


def rejection(url: str) -> str:
    """Ask several times so that both workers' views are seen; all must show the rejection."""
    reasons = {(requests.get(f"{url}/models/diagnose", timeout=5).json()["rejected"] or {}).get("reason") for _ in range(10)}
    assert None not in reasons, "a worker does not show the rejection"
    return " ".join(reasons)


def patient(n: int) -> dict[str, Any]:
    return {**PATIENT, "glucose": 90.0 + n % 100}


BAD = {
    "corrupt artifact": (lambda v, t: {"diagnose": corrupt(v["0.2.0"])}, "digest mismatch"),
    "missing file": (lambda v, t: {"diagnose": {**v["0.2.0"], "artifact": str(t / "nope.joblib")}}, "cannot read artifact"),
    "digest mismatch": (lambda v, t: {"diagnose": {**v["0.2.0"], "sha256": "1" * 64}}, "digest mismatch"),
    "other features": (lambda v, t: {"diagnose": other_features(t)}, "features differ"),
}


def test_swaps_under_load(stack):
    url, versions, tmp = stack["url"], stack["versions"], stack["tmp"]
    current, took_longest = "0.1.0", 0.0
    with Load(numbered(patient, f"{url}/diagnose"), threads=3, seconds=120, stop_on_exit=True) as load:
        wait_for_version(load, current)
        for name, (make, reason) in BAD.items():
            good = "0.2.0" if current == "0.1.0" else "0.1.0"
            mark = time.monotonic()
            write(stack, make(versions, tmp))
            time.sleep(POLL * 5)
            assert versions_since(load, mark) == {current}, name
            assert reason in rejection(url), name
            write(stack, {"diagnose": versions[good]})
            took = wait_for_version(load, good)
            took_longest = max(took_longest, took)
            assert took < BOUND
            current = good
        half = stack["config"].read_text()
        stack["config"].write_text(half[: len(half) // 2])  # a half-written config, in place
        time.sleep(POLL * 5)
        assert "not valid TOML" in rejection(url)
        assert versions_since(load, time.monotonic() - POLL * 3) == {current}
        write(stack, {"diagnose": versions["0.2.0" if current == "0.1.0" else "0.1.0"]})
        current = "0.2.0" if current == "0.1.0" else "0.1.0"
        wait_for_version(load, current)
    record("swaps: bad changes then good ones under load",
           f"{len(BAD) + 1} bad changes, {load.failed()} failed of {load.total} requests, "
           f"every good change served within {took_longest:.2f} s (bound {BOUND:g} s)")
    assert load.failed() == 0, load.outcomes
    assert load.total > 500


def test_killed_worker_comes_back_serving_the_last_good_version(stack):
    url, proc, versions = stack["url"], stack["proc"], stack["versions"]
    serving = requests.get(f"{url}/readyz", timeout=5).json()["models"]["diagnose"]
    write(stack, {"diagnose": corrupt(versions["0.1.0"])})
    time.sleep(POLL * 5)
    with Load(numbered(patient, f"{url}/diagnose"), threads=2, seconds=120, stop_on_exit=True) as load:
        before = set(workers(proc.pid))  # not the decision recorder, the master's other child
        os.kill(min(before), signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (set(workers(proc.pid)) - before and len(workers(proc.pid)) == 2):
            time.sleep(0.1)
        replaced = set(workers(proc.pid)) - before
        assert replaced, "the master did not replace the killed worker"
        mark = time.monotonic()
        time.sleep(2)
    record("swaps: worker SIGKILL with a bad config on disk",
           f"{load.failed()} failed of {load.total}; the replacement serves {sorted(versions_since(load, mark))}")
    assert proc.poll() is None, "the gunicorn master exited"
    assert versions_since(load, mark) == {serving}
    assert load.failed() <= 2  # at most the requests in flight on the killed worker
    write(stack, {"diagnose": versions[serving]})


def test_canary_share_and_stickiness_across_workers(stack):
    url, versions = stack["url"], stack["versions"]
    write(stack, with_canary(versions, 0.2))
    session = requests.Session()
    deadline = time.monotonic() + BOUND
    while requests.get(f"{url}/models/diagnose", timeout=5).json()["canary"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(POLL * 4)  # let the other worker apply it too
    seen = {}
    for i in range(2000):
        body = session.post(f"{url}/diagnose", json={**PATIENT, "patient_id": f"subject-{i}"}, timeout=5).json()
        seen[f"subject-{i}"] = body["model"]["version"]
    share = sum(v == "0.2.0" for v in seen.values()) / len(seen)
    record("swaps: canary at 20%", f"{share:.1%} of {len(seen)} subjects")
    assert 0.17 <= share <= 0.23, share
    for key in list(seen)[:300]:
        again = session.post(f"{url}/diagnose", json={**PATIENT, "patient_id": key}, timeout=5).json()
        assert again["model"]["version"] == seen[key]
    write(stack, {"diagnose": versions["0.1.0"]})


def test_models_check_cli_on_the_committed_config():
    import subprocess
    import sys

    done = subprocess.run([str(Path(sys.executable).parent / "mlservice"), "models", "check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(f"OK   {name}" in done.stdout for name in ("risk", "diagnose", "recommend")), done.stdout


def shadow_total(url: str) -> float:
    """Mirrored requests counted for diagnose's shadow 0.2.0, summed over outcomes and workers."""
    return value(scrape(url), "mlservice_shadow_predictions_total", {"model": "diagnose", "version": "0.2.0"})


def test_shadow_is_counted_across_workers_and_never_answers(stack):
    url, versions = stack["url"], stack["versions"]
    shadow = {k: v for k, v in versions["0.2.0"].items() if k != "settings"}
    write(stack, {"diagnose": {**versions["0.1.0"], "shadow": shadow}})
    deadline = time.monotonic() + BOUND
    while not all(requests.get(f"{url}/models/diagnose", timeout=5).json()["shadow"] for _ in range(10)):
        assert time.monotonic() < deadline, "not every worker loaded the shadow"
        time.sleep(0.1)
    before = shadow_total(url)
    session = requests.Session()
    answers = {session.post(f"{url}/diagnose", json=patient(i), timeout=5).json()["model"]["version"] for i in range(100)}
    record("swaps: shadow", f"100 requests answered by {sorted(answers)}, shadow counted {shadow_total(url) - before:g}")
    assert answers == {"0.1.0"}
    assert shadow_total(url) - before == 100
    write(stack, {"diagnose": versions["0.1.0"]})
