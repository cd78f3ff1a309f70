"""The OCI image, built with the project's own script and run for real: two containers behind the project's nginx.

Built on a base made from Debian's packages (no registry is reachable here), with
podman; each container has a read-only root filesystem and its own loopback port.
"""
from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from deploy.processes import ROOT, Nginx, wait_for
from tests.containers import Container, build_image, inspect, nginx_in_front
from tests.figures import record
from tests.load import Load
from tests.stacks import example

pytestmark = pytest.mark.integration
#: Workers per container (tests.containers.Container).
WORKERS = 2
#: Every prediction endpoint, each asked its documented example.
PREDICTIONS = ("/risk", "/risk/batch", "/risk/columns", "/diagnose", "/diagnose/batch", "/diagnose/columns", "/recommend")


@pytest.fixture(scope="module")
def image() -> str:
    tag, seconds = build_image()
    size = inspect(tag)["Size"]
    record("image: build (base cached) and size", f"{seconds:.0f} s, {size / 2**20:.0f} MiB")
    return tag


@pytest.fixture(scope="module")
def fleet(image: str, tmp_path_factory) -> Iterator[tuple[list[Container], Nginx]]:
    """Two containers of the image behind the project's nginx, all on 127.0.0.1."""
    containers = [Container(image, f"mlservice-test-{i}") for i in range(2)]
    nginx = nginx_in_front(tmp_path_factory.mktemp("nginx"), containers)
    try:
        for container in containers:
            container.start()
        ready = [container.wait_ready() for container in containers]
        record("image: time to ready (podman run to /readyz 200)", ", ".join(f"{s:.2f} s" for s in ready))
        nginx.start()
        wait_for(f"{nginx.url}/healthz", 10)
        yield containers, nginx
    finally:
        nginx.stop()
        for container in containers:
            container.remove()


def test_the_image_is_labelled_and_runs_as_non_root_on_a_read_only_root_without_compilers(image, fleet):
    info = inspect(image)
    labels = info["Labels"] if "Labels" in info else info["Config"]["Labels"]
    version = re.search(r"^version = (.+)$", (ROOT / "setup.cfg").read_text(), re.M).group(1)
    revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert labels["org.opencontainers.image.version"] == version
    assert labels["org.opencontainers.image.revision"] == (revision or "unknown")
    assert labels["org.opencontainers.image.source"]
    assert info["Config"]["User"] == "10001:10001"
    container = fleet[0][0]
    assert container.exec("id", "-u").stdout.strip() == "10001"
    touched = container.exec("touch", "/app/mlservice/planted.py")
    assert touched.returncode != 0 and "Read-only file system" in touched.stderr
    assert container.exec("sh", "-c", "command -v gcc cc pip pip3").stdout.strip() == ""
    gunicorn = container.exec("sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '").stdout
    assert "gunicorn --config deploy/gunicorn.conf.py wsgi:app" in gunicorn


def answers(url: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Every use case's documented example (rows, batch, columns), as answered at ``url``."""
    out = {}
    for path in PREDICTIONS:
        response = requests.post(f"{url}{path}", json=example(spec, path), timeout=20)
        assert response.status_code == 200, (path, response.text[:300])
        out[path] = response.json()
    return out


def test_two_containers_behind_nginx_answer_as_the_in_process_artifacts(fleet, app):
    containers, nginx = fleet
    spec = app.test_client().get("/openapi.json").get_json()
    ready = requests.get(f"{nginx.url}/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json()["rejected"] == {}
    in_process = {path: app.test_client().post(path, json=example(spec, path)).get_json()
                  for path in PREDICTIONS}
    for url in (nginx.url, *(c.url for c in containers)):
        assert answers(url, spec) == in_process
    served_by = {line.split('"upstream":"')[1].split('"')[0] for line in nginx.access_log.read_text().splitlines()
                 if '"upstream":"' in line}
    assert {c.address for c in containers} <= served_by  # nginx spread the requests over both containers


def test_a_mounted_config_folder_replaces_the_baked_in_one(image, tmp_path):
    configs = tmp_path / "configs"
    configs.mkdir()
    for name in ("service.toml", "api-keys.toml"):
        (configs / name).write_text((ROOT / "configs" / name).read_text())
    models = (ROOT / "configs" / "models.toml").read_text().replace("review_at = 0.25", "review_at = 0.3")
    assert "review_at = 0.3" in models
    (configs / "models.toml").write_text(models)
    configs.chmod(0o755)
    container = Container(image, "mlservice-test-config", volumes=[f"{configs}:/app/configs:ro"]).start()
    try:
        container.wait_ready()
        settings = requests.get(f"{container.url}/models/risk", timeout=5).json()["settings"]
        assert settings == {"review_at": 0.3, "decline_at": 0.5}
    finally:
        container.remove()


def test_sigterm_drains_the_requests_in_flight(image, app):
    """Large columnar batches in the workers when the container gets SIGTERM all complete; then it exits cleanly.

    One request per worker: gunicorn stops accepting at once, so a connection still waiting in
    the listen queue is reset, not served (behind nginx it is retried on another replica, and on
    Kubernetes the preStop pause keeps new ones away: tests of their own).
    """
    spec = app.test_client().get("/openapi.json").get_json()
    body = example(spec, "/risk/columns")
    body = {"columns": {field: values * (5000 // len(values)) for field, values in body["columns"].items()}}
    container = Container(image, "mlservice-test-drain").start()
    try:
        container.wait_ready()
        statuses: list[int] = []
        finished: list[float] = []

        def post() -> None:
            try:
                statuses.append(requests.post(f"{container.url}/risk/columns", json=body, timeout=30).status_code)
            except requests.RequestException:
                statuses.append(0)
            finished.append(time.monotonic())

        threads = [threading.Thread(target=post) for _ in range(WORKERS)]
        for thread in threads:
            thread.start()
        time.sleep(0.05)  # each request is in a worker (each takes ~0.1-0.3 s)
        signalled = time.monotonic()
        container.signal("TERM")
        for thread in threads:
            thread.join(35)
        # podman passes through "stopping" and "stopped" (its clean-up not yet done) on the way to "exited"
        while container.state() in ("running", "stopping", "stopped") and time.monotonic() - signalled < 35:
            time.sleep(0.1)
        stopped = time.monotonic() - signalled
        record(f"image: SIGTERM with {WORKERS} large requests in the workers", f"{statuses.count(200)} of {WORKERS} "
               f"answered, container stopped after {stopped:.2f} s")
        assert statuses == [200] * WORKERS
        assert max(finished) > signalled  # at least one was still in flight when the signal came
        assert container.state() == "exited" and container.exit_code() == 0
        assert stopped < 30  # gunicorn's graceful_timeout
    finally:
        container.remove()


def test_a_container_killed_under_load_costs_no_failed_request(fleet, app):
    containers, nginx = fleet
    body = example(app.test_client().get("/openapi.json").get_json(), "/diagnose")
    with Load(lambda s: s.post(f"{nginx.url}/diagnose", json=body, timeout=20), threads=4, seconds=5) as load:
        time.sleep(1.5)
        containers[0].signal("KILL")
    record("image: container killed under load", f"{load.failed()} failed of {load.total}")
    assert load.total > 100 and load.failed() == 0
    assert containers[0].state() != "running"
    containers[0].start().wait_ready()


def test_a_configmap_style_swap_across_two_containers_under_load_fails_no_request(image, tmp_path):
    """The kubelet's layout bind-mounted into both containers at /etc/mlservice, edited under load through nginx."""
    from mlservice.registry.artifact import folder_digest
    from tests.kubelet import kubelet_update, models_toml

    pins = {v: folder_digest(ROOT / "artifacts" / "diagnose" / v) for v in ("1.0.0", "1.1.0")}
    folder = tmp_path / "configmap"
    service = 'MODELS_CONFIG = "models.toml"\nMODELS_POLL_SECONDS = 1.0\n'
    app_artifacts = Path("/app/artifacts")
    kubelet_update(folder, {"service.toml": service, "models.toml": models_toml(app_artifacts, "1.0.0", pins["1.0.0"])}, 1)
    folder.chmod(0o755)
    mounted = {"volumes": [f"{folder}:/etc/mlservice:ro"], "env": {"MLSERVICE_CONFIG": "/etc/mlservice/service.toml"}}
    containers = [Container(image, f"mlservice-test-swap-{i}", **mounted) for i in range(2)]
    nginx = nginx_in_front(tmp_path / "nginx", containers)
    try:
        for container in containers:
            container.start()
        for container in containers:
            container.wait_ready()
        nginx.start()
        body = {"pregnancies": 2, "glucose": 120, "blood_pressure": 72, "skin_thickness": 29, "bmi": 32.8,
                "pedigree": 0.42, "age": 28}
        with Load(lambda s: s.post(f"{nginx.url}/diagnose", json=body, timeout=20), threads=4, seconds=7) as load:
            time.sleep(1.5)
            kubelet_update(folder, {"service.toml": service,
                                    "models.toml": models_toml(app_artifacts, "1.1.0", pins["1.1.0"])}, 2)
            edited = time.monotonic()
            time.sleep(3.5)  # two polls of every worker of both containers
            settled = time.monotonic()
        versions_after = {o.version for o in load.since(settled)}
        first_new = min(o.at for o in load.results if o.version == "1.1.0") - edited
        record("image: ConfigMap-style swap across two containers under load",
               f"{load.failed()} failed of {load.total}; 1.1.0 first served {first_new:.2f} s after the rename")
        assert load.total > 100 and load.failed() == 0
        assert versions_after == {"1.1.0"}
        for container in containers:
            assert requests.get(f"{container.url}/readyz", timeout=5).json()["models"]["diagnose"] == "1.1.0"
    finally:
        nginx.stop()
        for container in containers:
            container.remove()
