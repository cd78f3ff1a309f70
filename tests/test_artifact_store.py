"""Artifacts named by URL: fetched once into a cache keyed by the pin, every fault keeping the old model serving.

Against real stores on 127.0.0.1 (nginx serving the committed artifacts over HTTP,
moto's S3 server) and a real gunicorn replica under load: each fault is injected
while requests flow, and none of them may fail.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from deploy.processes import ROOT, Replica
from mlservice.registry import store
from mlservice.registry.artifact import folder_digest
from mlservice.registry.spec import ConfigError, parse_models_config
from tests.figures import record
from tests.load import Load
from tests.stacks import example, scrape, value, wait_until
from tests.stores import HttpStore, S3Store

ARTIFACTS = ROOT / "artifacts"
POLL, RETRY, TIMEOUT = 0.5, 1.0, 3.0


def pin(name: str, version: str) -> str:
    return folder_digest(ARTIFACTS / name / version)


def models_config(allow_http: bool = True, **entries: tuple[str, str, str]) -> str:
    """The committed models config (absolute paths), with ``name=(version, artifact, sha256)`` replaced;
    ``http://`` entries say ``allow_http = true`` unless ``allow_http`` is False."""
    text = (ROOT / "configs" / "models.toml").read_text().replace('"../artifacts/', f'"{ARTIFACTS}/')
    for name, (version, artifact, sha256) in entries.items():
        entry = f'[models.{name}]\nversion = "{version}"\nartifact = "{artifact}"\nsha256 = "{sha256}"\n'
        if artifact.startswith("http://") and allow_http:
            entry += "allow_http = true\n"
        text = re.sub(rf"\[models\.{name}\]\nversion = .*\nartifact = .*\nsha256 = .*\n", entry, text)
    return text


def write(path: Path, text: str) -> None:
    """As an editor that saves safely does: a new file renamed over the old one."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


# -- the config ----------------------------------------------------------------------


@pytest.mark.parametrize(("artifact", "allowed"), [
    ("https://store.example/risk/1.1.0/model.joblib", True),
    ("s3://bucket/risk/1.1.0/model.joblib", True),
    ("http://store.example/risk/1.1.0/model.joblib", False),
    ("https://user:hunter2@store.example/risk/1.1.0/model.joblib", False),
    ("https://store.example/risk/1.1.0/model.joblib?X-Amz-Signature=abc", False),
    ("ftp://store.example/risk/1.1.0/model.joblib", False),
    ("https://store.example/", False),
])
def test_which_urls_may_name_an_artifact(tmp_path, artifact, allowed):
    config = models_config(allow_http=False, risk=("1.1.0", artifact, "a" * 64)).encode()
    if allowed:
        spec = parse_models_config(config, tmp_path / "models.toml", tmp_path / "cache")["risk"].default
        assert spec.source == artifact
        assert spec.artifact == tmp_path / "cache" / ("a" * 64) / "model.joblib"
    else:
        with pytest.raises(ConfigError) as refused:
            parse_models_config(config, tmp_path / "models.toml", tmp_path / "cache")
        assert "hunter2" not in str(refused.value) and "Signature=abc" not in str(refused.value)


def test_http_only_where_the_entry_allows_it(tmp_path):
    config = models_config(risk=("1.1.0", "http://store.example/risk/1.1.0/model.joblib", "a" * 64)).encode()
    assert b"allow_http = true" in config
    spec = parse_models_config(config, tmp_path / "models.toml", tmp_path / "cache")["risk"].default
    assert spec.source.startswith("http://")


def test_eviction_removes_unpinned_entries_least_recently_used_first(tmp_path):
    for i, name in enumerate(["1" * 64, "2" * 64, "3" * 64, "4" * 64]):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.joblib").write_bytes(b"x" * 100)
        os.utime(tmp_path / name, (1000 + i, 1000 + i))
    removed = store.evict(tmp_path, pinned={"1" * 64}, max_bytes=250)
    assert removed == ["2" * 64, "3" * 64]  # the oldest unpinned ones, until 200 bytes remain
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1" * 64, "4" * 64]
    assert store.evict(tmp_path, pinned={"1" * 64, "4" * 64}, max_bytes=0) == []  # pinned ones stay


# -- real stores under load -------------------------------------------------------------


@pytest.fixture(scope="module")
def bodies(app) -> dict[str, Any]:
    spec = app.test_client().get("/openapi.json").get_json()
    return {path: example(spec, path) for path in ("/risk", "/diagnose", "/recommend")}


def replica_for(tmp_path: Path, config: str, **env: str) -> Replica:
    (tmp_path / "models.toml").write_text(config)
    settings = {"MLSERVICE_MODELS_CONFIG": str(tmp_path / "models.toml"), "MLSERVICE_MODELS_POLL_SECONDS": str(POLL),
                "MLSERVICE_MODELS_STATE_DIR": str(tmp_path / "state"),
                "MLSERVICE_ARTIFACT_CACHE_DIR": str(tmp_path / "cache"),
                "MLSERVICE_ARTIFACT_FETCH_TIMEOUT": str(TIMEOUT), "MLSERVICE_ARTIFACT_FETCH_RETRY_SECONDS": str(RETRY)}
    return Replica(0, tmp_path, workers=2, env={**settings, **env})


def start(replica: Replica) -> None:
    replica.start()
    replica.wait_healthy()
    wait_until(lambda: requests.get(f"{replica.url}/readyz", timeout=5).status_code == 200, timeout=30)


def under_load(replica: Replica, path: str, body: Any, fault: Callable[[], None], until: Callable[[], Any],
               seconds: float = 4.0) -> Load:
    """``fault()`` injected 1 s into a load on ``path``, which runs ``seconds``; ``until()`` must then hold."""
    with Load(lambda s: s.post(f"{replica.url}{path}", json=body, timeout=20), threads=3, seconds=seconds) as load:
        time.sleep(1.0)
        fault()
        wait_until(until, timeout=seconds + 10)
    return load


def refused_for(replica: Replica, name: str, kind: str) -> Callable[[], bool]:
    """The edit was refused for ``kind``: /models says so, and the fetch-failure counter has counted it."""
    def check() -> bool:
        rejected = requests.get(f"{replica.url}/models/{name}", timeout=5).json()["rejected"]
        counted = value(scrape(replica.url), "mlservice_artifact_fetch_failures_total", {"model": name, "reason": kind})
        return bool(rejected) and f"({kind})" in rejected["reason"] and counted > 0
    return check


def serving(replica: Replica, name: str, version: str) -> Callable[[], bool]:
    return lambda: requests.get(f"{replica.url}/models/{name}", timeout=5).json()["version"] == version


def editor(config: Path) -> Callable[..., Callable[[], None]]:
    """``edit(name=(version, artifact, sha256))``: a fault (or swap) that rewrites the models config so."""
    def edit(**entries: tuple[str, str, str]) -> Callable[[], None]:
        return lambda: write(config, models_config(**entries))
    return edit


def swap_by_url(replica: Replica, edit: Callable[..., Callable[[], None]], url: Callable[[str], str],
                body: Any) -> Load:
    """The replica starts on diagnose 1.0.0 by URL; 1.1.0 by URL is swapped in under load."""
    start(replica)
    assert serving(replica, "diagnose", "1.0.0")()
    swap = edit(diagnose=("1.1.0", url("diagnose/1.1.0/model.joblib"), pin("diagnose", "1.1.0")))
    return under_load(replica, "/diagnose", body, swap, serving(replica, "diagnose", "1.1.0"))


@pytest.mark.integration
def test_models_from_an_http_store_with_every_fault_under_load(tmp_path, bodies):
    http = HttpStore(ARTIFACTS, tmp_path / "store", rate="100k").start()
    config = tmp_path / "models.toml"
    replica = replica_for(tmp_path, models_config(diagnose=("1.0.0", http.url("diagnose/1.0.0/model.joblib"),
                                                            pin("diagnose", "1.0.0"))))
    figures, loads, edit = {}, [], editor(config)
    try:
        loads.append(swap_by_url(replica, edit, http.url, bodies["/diagnose"]))
        figures["swap to 1.1.0 by URL"] = loads[-1]
        faults = [
            ("missing", "diagnose", edit(diagnose=("1.2.0", http.url("diagnose/1.2.0/model.joblib"), "b" * 64))),
            ("digest_mismatch", "diagnose", edit(diagnose=("1.0.0", http.url("diagnose/1.0.0/model.joblib"), "c" * 64))),
            ("timeout", "recommend", edit(recommend=("1.0.0", http.url("recommend/1.0.0/model.joblib", slow=True),
                                                     pin("recommend", "1.0.0")))),
        ]
        for kind, name, fault in faults:
            path = f"/{name}"
            loads.append(under_load(replica, path, bodies[path], fault, refused_for(replica, name, kind)))
            figures[kind] = loads[-1]
            assert {o.version for o in loads[-1].results} == {"1.1.0"}  # the old model answered throughout

        def cut_short() -> None:  # the slow download of recommend 1.0.0 begins, then the store goes away
            write(config, models_config(recommend=("1.0.0", http.url("recommend/1.0.0/model.joblib", slow=True),
                                                   "d" * 64)))
            time.sleep(POLL + 1.0)
            http.stop()

        loads.append(under_load(replica, "/recommend", bodies["/recommend"], cut_short,
                                refused_for(replica, "recommend", "partial")))
        figures["partial"] = loads[-1]
        store_down = edit(risk=("1.0.0", http.url("risk/1.0.0/model.joblib"), pin("risk", "1.0.0")))
        loads.append(under_load(replica, "/risk", bodies["/risk"], store_down, refused_for(replica, "risk", "unreachable")))
        figures["unreachable"] = loads[-1]
        assert requests.get(f"{replica.url}/readyz", timeout=5).status_code == 200  # every use case still serves

        http.start()  # the store is back: the edit still in the config is fetched on a retry, with no new edit
        wait_until(serving(replica, "risk", "1.0.0"), timeout=RETRY + POLL + TIMEOUT + 5)

        replica.stop()  # a host restarting while the store is down serves what it cached
        http.stop()
        write(config, models_config(diagnose=("1.1.0", http.url("diagnose/1.1.0/model.joblib"), pin("diagnose", "1.1.0"))))
        start(replica)
        assert serving(replica, "diagnose", "1.1.0")()
        answer = requests.post(f"{replica.url}/diagnose", json=bodies["/diagnose"], timeout=10)
        assert answer.status_code == 200 and answer.json()["model"]["version"] == "1.1.0"
    finally:
        replica.stop()
        http.stop()
    record("store (http): failed requests per fault",
           ", ".join(f"{k} {v.failed()} of {v.total}" for k, v in figures.items()))
    assert all(load.failed() == 0 for load in loads) and all(load.total > 20 for load in loads)
    cached = sorted(p.name for p in (tmp_path / "cache").iterdir() if not p.name.startswith("."))
    assert cached == sorted({pin("diagnose", "1.0.0"), pin("diagnose", "1.1.0"), pin("risk", "1.0.0")})


@pytest.mark.integration
def test_models_from_an_s3_store_with_faults_under_load(tmp_path, bodies):
    s3 = S3Store(ARTIFACTS, tmp_path / "s3").start()
    config = tmp_path / "models.toml"
    replica = replica_for(tmp_path, models_config(diagnose=("1.0.0", s3.url("diagnose/1.0.0/model.joblib"),
                                                            pin("diagnose", "1.0.0"))), **s3.env)
    figures, loads, edit = {}, [], editor(config)
    try:
        loads.append(swap_by_url(replica, edit, s3.url, bodies["/diagnose"]))
        figures["swap to 1.1.0 by s3:// URL"] = loads[-1]
        for kind, fault in [
            ("missing", edit(diagnose=("1.2.0", s3.url("diagnose/1.2.0/model.joblib"), "b" * 64))),
            ("digest_mismatch", edit(diagnose=("1.0.0", s3.url("diagnose/1.0.0/model.joblib"), "c" * 64))),
        ]:
            loads.append(under_load(replica, "/diagnose", bodies["/diagnose"], fault, refused_for(replica, "diagnose", kind)))
            figures[kind] = loads[-1]
            assert {o.version for o in loads[-1].results} == {"1.1.0"}
        store_down = lambda: (s3.stop(), write(config, models_config(  # noqa: E731
            risk=("1.0.0", s3.url("risk/1.0.0/model.joblib"), pin("risk", "1.0.0")))))
        loads.append(under_load(replica, "/risk", bodies["/risk"], store_down,
                                refused_for(replica, "risk", "unreachable"), seconds=6))
        figures["unreachable"] = loads[-1]
    finally:
        replica.stop()
        s3.stop()
    record("store (s3): failed requests per fault", ", ".join(f"{k} {v.failed()} of {v.total}" for k, v in figures.items()))
    assert all(load.failed() == 0 for load in loads) and all(load.total > 20 for load in loads)
