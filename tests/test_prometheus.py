"""One view of the fleet: the rules pass promtool, the dashboard asks only for what the service exports,
and a real Prometheus scraping two replicas sees a bad edit leave them on two digests and alerts."""
from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from deploy.processes import ROOT, Replica, free_port, stop_process, wait_for_port
from mlservice import create_app
from mlservice.registry.artifact import folder_digest
from tests.figures import record
from tests.stacks import wait_until

PROMETHEUS = ROOT / "deploy" / "prometheus"


def promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    assert shutil.which("promtool"), "promtool comes with Debian's prometheus package (make test installs it)"
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_the_rules_and_the_config_pass_promtool():
    checked = promtool("check", "rules", "rules.yml")
    assert checked.returncode == 0 and "SUCCESS: 16 rules found" in checked.stdout, checked.stdout + checked.stderr
    assert promtool("check", "config", "prometheus.yml").returncode == 0


def test_the_rules_unit_tests_pass_and_would_catch_a_change(tmp_path):
    passed = promtool("test", "rules", "rules_test.yml")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    shutil.copy(PROMETHEUS / "rules_test.yml", tmp_path)
    (tmp_path / "rules.yml").write_text((PROMETHEUS / "rules.yml").read_text().replace(
        'mlservice_model_info{role="default"} == 1', "mlservice_model_info == 1"))  # counting canaries too
    failed = promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert failed.returncode != 0 and "a canary is not a disagreement" in failed.stdout + failed.stderr


def exported_metrics() -> set[str]:
    """Every metric name the service's /metrics declares, with the names of histogram and counter samples."""
    app = create_app({"MODELS_POLL_SECONDS": 0})
    app.test_client().get("/healthz")
    text = app.test_client().get("/metrics").get_data(as_text=True)
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        names |= {name, f"{name}_total"} if kind == "counter" else {name}
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


def recorded() -> set[str]:
    rules = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())
    return {rule["record"] for group in rules["groups"] for rule in group["rules"] if "record" in rule}


def test_the_dashboard_and_the_rules_ask_only_for_what_the_service_exports():
    dashboard = json.loads((PROMETHEUS / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    rules = (PROMETHEUS / "rules.yml").read_text()
    exported, asked = exported_metrics(), set()
    for text in [*exprs, rules]:
        asked |= set(re.findall(r"\b(mlservice_[a-z_]+)\b", text))
    assert asked and asked <= exported, f"not exported by the service: {sorted(asked - exported)}"
    used = {name for expr in exprs for name in re.findall(r"\b(mlservice:[a-z0-9_:]+)\b", expr)}
    assert used and used <= recorded(), f"not recorded by rules.yml: {sorted(used - recorded())}"
    assert {"mlservice_model_info", "mlservice_model_swaps_total", "mlservice_artifact_fetch_failures_total"} <= asked


def test_the_kubernetes_job_reads_the_pods_annotations():
    job = yaml.safe_load((PROMETHEUS / "kubernetes-scrape.yml").read_text())["scrape_configs"][0]
    annotations = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "base" / "deployment.yaml").read_text())[
        "spec"]["template"]["metadata"]["annotations"]
    read = {re.sub(r"^__meta_kubernetes_pod_annotation_prometheus_io_", "prometheus.io/", label)
            for rule in job["relabel_configs"] for label in rule.get("source_labels", []) if "annotation" in label}
    assert read == set(annotations) == {"prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path"}
    assert job["job_name"] == "mlservice"  # the job the alerts name


# -- a real Prometheus over two replicas --------------------------------------------------------


def diagnose_config(version: str, sha256: str) -> str:
    text = (ROOT / "configs" / "models.toml").read_text().replace('"../artifacts/', f'"{ROOT}/artifacts/')
    return re.sub(r'\[models\.diagnose\]\nversion = .*\nartifact = .*\nsha256 = .*\n',
                  f'[models.diagnose]\nversion = "{version}"\n'
                  f'artifact = "{ROOT}/artifacts/diagnose/{version}/model.joblib"\nsha256 = "{sha256}"\n', text)


def query(url: str, promql: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{url}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def firing(url: str, name: str) -> list[dict[str, Any]]:
    alerts = requests.get(f"{url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return [a for a in alerts if a["labels"]["alertname"] == name and a["state"] == "firing"]


@pytest.mark.integration
def test_a_real_prometheus_sees_two_digests_and_the_disagreement_alert_fires_and_clears(tmp_path):
    pins = {v: folder_digest(ROOT / "artifacts" / "diagnose" / v) for v in ("1.0.0", "1.1.0")}
    replicas = []
    for i in range(2):
        (tmp_path / f"models-{i}.toml").write_text(diagnose_config("1.0.0", pins["1.0.0"]))
        replicas.append(Replica(i, tmp_path, workers=2, env={
            "MLSERVICE_MODELS_CONFIG": str(tmp_path / f"models-{i}.toml"), "MLSERVICE_MODELS_POLL_SECONDS": "0.5",
            "MLSERVICE_MODELS_STATE_DIR": str(tmp_path / f"state-{i}")}))
    port = free_port()
    # The disagreement alert waits 2 s here instead of 5 min; everything else is the shipped file.
    (tmp_path / "rules.yml").write_text((PROMETHEUS / "rules.yml").read_text().replace("for: 5m", "for: 2s", 1))
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "rule_files": ["rules.yml"],
        "scrape_configs": [{"job_name": "mlservice", "static_configs": [{"targets": [r.address for r in replicas]}]}]}))
    prometheus = None
    try:
        for replica in replicas:
            replica.start()
        for replica in replicas:
            replica.wait_healthy()
        prometheus = subprocess.Popen(
            ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "wb"), start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        wait_for_port(f"127.0.0.1:{port}", 30)
        wait_until(lambda: requests.get(f"{url}/-/ready", timeout=5).status_code == 200, timeout=30)
        wait_until(lambda: len([r for r in query(url, 'up{job="mlservice"} == 1')]) == 2, timeout=30)

        (tmp_path / "models-0.toml").write_text(diagnose_config("1.1.0", pins["1.1.0"]))  # a good swap
        (tmp_path / "models-1.toml").write_text(diagnose_config("1.1.0", "0" * 64))  # a bad edit: old digest stays
        edited = time.monotonic()
        serving = 'mlservice_model_info{model="diagnose", role="default"} == 1'
        expected = {(replicas[0].address, "1.1.0", pins["1.1.0"][:12]), (replicas[1].address, "1.0.0", pins["1.0.0"][:12])}
        seen = lambda: {(r["metric"]["instance"], r["metric"]["version"], r["metric"]["digest"])  # noqa: E731
                        for r in query(url, serving)}
        wait_until(lambda: seen() == expected, timeout=20)  # one query shows both versions, one per replica
        wait_until(lambda: firing(url, "MlserviceModelVersionsDisagree"), timeout=30)
        fired = time.monotonic() - edited
        [alert] = firing(url, "MlserviceModelVersionsDisagree")
        assert alert["labels"]["model"] == "diagnose" and float(alert["value"]) == 2
        refused = firing(url, "MlserviceSwapRefused")
        assert {(a["labels"]["model"], a["labels"]["reason"]) for a in refused} == {("diagnose", "digest_mismatch")}

        (tmp_path / "models-1.toml").write_text(diagnose_config("1.1.0", pins["1.1.0"]))  # the edit fixed
        fixed = time.monotonic()
        wait_until(lambda: not firing(url, "MlserviceModelVersionsDisagree"), timeout=30)
        assert {r["metric"]["version"] for r in query(url, serving)} == {"1.1.0"}
        record("prometheus: disagreement alert", f"fired {fired:.1f} s after the edits (for: 2 s, scrape and "
               f"evaluation every 1 s), cleared {time.monotonic() - fixed:.1f} s after the fix")
    finally:
        if prometheus is not None:
            stop_process(prometheus, signal.SIGTERM, 10)
        for replica in replicas:
            replica.stop()
