"""``/metrics``: every request counted once across gunicorn workers, with bounded labels."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector

from mlservice.observability import metrics
from tests.figures import record
from tests.stacks import example, running_stack, scrape, value

HEALTHZ = {"endpoint": "/healthz", "method": "GET", "status": "200"}


@pytest.fixture(scope="module")
def replica(tmp_path_factory):
    """One replica with two workers, scraped directly."""
    with running_stack(tmp_path_factory.mktemp("metrics"), replicas=1, workers=2) as stack:
        yield stack.replicas[0]


def per_worker(replica, name: str, labels: dict[str, str]) -> dict[int, float]:
    """The same sample as each live worker wrote it to its own files."""
    found = {}
    for pid in replica.worker_pids():
        files = [str(f) for f in replica.metrics_dir.glob(f"*_{pid}.db")]
        found[pid] = sum(s.value for m in MultiProcessCollector.merge(files) for s in m.samples
                         if s.name == name and s.labels == labels)
    return found


@pytest.mark.integration
def test_a_burst_is_counted_exactly_once_across_workers(replica):
    before_text = scrape(replica.url)
    before = value(before_text, "mlservice_http_requests_total", HEALTHZ)
    before_hist = value(before_text, "mlservice_http_request_duration_seconds_count", HEALTHZ)
    split_before = per_worker(replica, "mlservice_http_requests_total", HEALTHZ)
    n = 200
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: requests.get(f"{replica.url}/healthz", timeout=5).status_code, range(n)))
    assert statuses == [200] * n
    after_text = scrape(replica.url)
    counted = value(after_text, "mlservice_http_requests_total", HEALTHZ) - before
    split = per_worker(replica, "mlservice_http_requests_total", HEALTHZ)
    served = {pid: split[pid] - split_before.get(pid, 0) for pid in split}
    record("metrics: a burst across 2 workers", f"{n} sent, {counted:g} counted, per worker {sorted(served.values())}")
    assert counted == n
    assert value(after_text, "mlservice_http_request_duration_seconds_count", HEALTHZ) - before_hist == n
    assert len(served) == 2 and all(v > 0 for v in served.values()), "both workers must have answered"


@pytest.mark.integration
def test_labels_are_url_rules_never_raw_paths(replica):
    requests.get(f"{replica.url}/models/canary-model-7f3a", timeout=5)
    requests.get(f"{replica.url}/canary/path-7f3a?glucose=123", timeout=5)
    requests.request("BREW", f"{replica.url}/healthz", timeout=5)
    text = scrape(replica.url)
    assert "7f3a" not in text and "glucose" not in text
    assert value(text, "mlservice_http_requests_total",
                 {"endpoint": "/models/<string:name>", "method": "GET", "status": "404"}) >= 1
    assert value(text, "mlservice_http_requests_total",
                 {"endpoint": metrics.UNMATCHED, "method": "GET", "status": "404"}) >= 1
    assert value(text, "mlservice_http_requests_total",
                 {"endpoint": metrics.UNMATCHED, "method": "OTHER", "status": "405"}) >= 1


@pytest.mark.integration
def test_predictions_are_counted_in_rows_by_model_and_version(replica):
    spec = requests.get(f"{replica.url}/openapi.json", timeout=5).json()
    patient = example(spec, "/diagnose")
    answer = requests.post(f"{replica.url}/diagnose", json=patient, timeout=10).json()
    labels = {"model": "diagnose", "version": answer["model"]["version"]}
    before = value(scrape(replica.url), "mlservice_predictions_total", labels)
    assert requests.post(f"{replica.url}/diagnose/batch", json={"rows": [patient] * 3}, timeout=10).ok
    assert requests.post(f"{replica.url}/diagnose", json=patient, timeout=10).ok
    assert requests.post(f"{replica.url}/diagnose", json={**patient, "age": "old"}, timeout=10).status_code == 422
    assert value(scrape(replica.url), "mlservice_predictions_total", labels) - before == 4


@pytest.mark.integration
def test_every_worker_reports_its_models_ready_and_the_master_does_not_count(replica):
    for name in ("risk", "diagnose", "recommend"):
        assert value(scrape(replica.url), "mlservice_model_ready", {"model": name}) == 1, name
        assert set(per_worker(replica, "mlservice_model_ready", {"model": name}).values()) == {1}, name
    assert not list(replica.metrics_dir.glob(f"gauge_live*_{replica.proc.pid}.db")), "the master's gauges count"


def test_registry_hooks_change_what_is_exposed(make_app, tiny_entry):
    client = make_app({"diagnose": tiny_entry}).test_client()
    metrics.record_model_load("hook-test", "9.9.9", ok=False)
    metrics.record_swap_rejected("hook-test")
    metrics.set_model_ready("hook-test", True)
    text = client.get("/metrics").get_data(as_text=True)
    assert value(text, "mlservice_model_loads_total", {"model": "hook-test", "version": "9.9.9", "outcome": "refused"}) == 1
    assert value(text, "mlservice_model_swaps_rejected_total", {"model": "hook-test"}) == 1
    assert value(text, "mlservice_model_ready", {"model": "hook-test"}) == 1


READINESS_ACROSS_WORKERS = textwrap.dedent("""
    import os, sys
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = sys.argv[1]
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess
    from mlservice.observability import metrics

    def ready():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry.get_sample_value("mlservice_model_ready", {"model": "m"})

    child = os.fork()
    if child == 0:
        metrics.set_model_ready("m", False)
        os._exit(0)
    os.waitpid(child, 0)
    metrics.set_model_ready("m", True)
    print(ready())
    multiprocess.mark_process_dead(child)
    print(ready())
""")


def test_readiness_is_the_minimum_over_live_workers(tmp_path):
    """One worker without the model makes the name not ready, until that worker is gone."""
    out = subprocess.run([sys.executable, "-c", READINESS_ACROSS_WORKERS, str(tmp_path)],
                         capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert out == ["0.0", "1.0"]
