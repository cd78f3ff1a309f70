"""The Kubernetes manifests render offline, validate against a named Kubernetes version, and agree with the app.

``kubectl kustomize`` renders them (kubectl 1.32 with kustomize 5.5 is on these
machines); ``kubernetes-validate`` checks every object against the OpenAPI schemas
of Kubernetes 1.32, rejecting unknown fields. The cross-checks read the app and its
gunicorn settings themselves, so a renamed setting, probe path or port fails here.
"""
from __future__ import annotations

import json
import signal
import re
import shutil
import subprocess
import tomllib
from http import HTTPStatus
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from deploy import render
from deploy.processes import ROOT
from mlservice import create_app
from mlservice.config import Defaults

KUBERNETES_VERSION = "1.32.0"
MANIFESTS = ROOT / "deploy" / "kubernetes"
OVERLAYS = {"base": MANIFESTS / "base", "production": MANIFESTS / "overlays" / "production"}
GUNICORN_CONF = (ROOT / "deploy" / "gunicorn.conf.py").read_text(encoding="utf-8")
CONTAINERFILE = (ROOT / "Containerfile").read_text(encoding="utf-8")


def rendered(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (1.32, with kustomize) is needed to render deploy/kubernetes"
    out = subprocess.run([kubectl, "kustomize", str(OVERLAYS[overlay])], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="module", params=sorted(OVERLAYS))
def objects(request) -> list[dict[str, Any]]:
    return rendered(request.param)


def one(objects: list[dict[str, Any]], kind: str, name: str = "mlservice") -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    [main] = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return main


def env(objects: list[dict[str, Any]]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(objects)["env"]}


def config_files(objects: list[dict[str, Any]]) -> dict[str, str]:
    return one(objects, "ConfigMap", "mlservice-config")["data"]


def test_every_object_is_valid_for_the_named_kubernetes_version(objects):
    kinds = sorted({o["kind"] for o in objects})
    assert kinds == ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress", "NetworkPolicy",
                     "PodDisruptionBudget", "Service"]
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_an_invalid_object_is_refused():
    """The validator is not vacuous: a misspelt field and a wrong type are both errors."""
    deployment = one(rendered("base"), "Deployment")
    deployment["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment = one(rendered("base"), "Deployment")
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_probes_and_port_are_the_apps(objects):
    main = container(objects)
    routes = {rule.rule for rule in create_app({"MODELS_POLL_SECONDS": 0}).url_map.iter_rules()}
    assert main["startupProbe"]["httpGet"]["path"] == main["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/readyz", "/healthz"} <= routes
    [port] = main["ports"]
    assert f"EXPOSE {port['containerPort']}" in CONTAINERFILE
    assert f"MLSERVICE_BIND=0.0.0.0:{port['containerPort']}" in CONTAINERFILE
    service = one(objects, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    assert service["spec"]["selector"] == one(objects, "Deployment")["spec"]["selector"]["matchLabels"]


def test_every_environment_variable_is_one_the_service_reads(objects):
    read_by_gunicorn = set(re.findall(r'environ(?:\.get|\.setdefault)?\(\s*"([A-Z_]+)"', GUNICORN_CONF))
    settings = {f"MLSERVICE_{name}" for name in vars(Defaults) if name.isupper()} | {"MLSERVICE_CONFIG"}
    unknown = set(env(objects)) - read_by_gunicorn - settings
    assert not unknown, f"set in the Deployment, read by nothing: {unknown}"
    assert "MLSERVICE_WORKERS" in read_by_gunicorn and "PROMETHEUS_MULTIPROC_DIR" in read_by_gunicorn


def test_config_paths_point_into_the_mounted_configmap(objects):
    main, spec = container(objects), one(objects, "Deployment")["spec"]["template"]["spec"]
    mounts = {m["name"]: m for m in main["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    config = next(m for m in mounts.values() if volumes[m["name"]].get("configMap"))
    assert "subPath" not in config, "files mounted with subPath never update: a swap would never arrive"
    assert volumes[config["name"]]["configMap"]["name"] == "mlservice-config"
    service_file = Path(env(objects)["MLSERVICE_CONFIG"])
    assert service_file.parent == Path(config["mountPath"])
    files = config_files(objects)
    settings = tomllib.loads(files[service_file.name])
    assert settings["MODELS_CONFIG"] in files  # relative to the service file: the same folder


def test_the_metrics_and_state_folders_are_writable_memory_volumes(objects):
    main, spec = container(objects), one(objects, "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    for variable in ("PROMETHEUS_MULTIPROC_DIR", "MLSERVICE_MODELS_STATE_DIR"):
        folder = Path(env(objects)[variable])
        [mount] = [m for m in main["volumeMounts"] if folder.is_relative_to(m["mountPath"])]
        assert volumes[mount["name"]]["emptyDir"]["medium"] == "Memory"
        assert not mount.get("readOnly")
    assert f"PROMETHEUS_MULTIPROC_DIR={env(objects)['PROMETHEUS_MULTIPROC_DIR']}" in CONTAINERFILE


def test_the_pod_is_locked_down_and_drains_before_it_is_killed(objects):
    deployment = one(objects, "Deployment")
    pod, main = deployment["spec"]["template"]["spec"], container(objects)
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert main["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                       "capabilities": {"drop": ["ALL"]}}
    graceful = int(re.search(r"^graceful_timeout = (\d+)", GUNICORN_CONF, re.M).group(1))
    pause = int(main["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] > graceful + pause
    assert float(main["resources"]["requests"]["cpu"]) == int(env(objects)["MLSERVICE_WORKERS"])
    assert "USER 10001:10001" in CONTAINERFILE


def test_the_configmap_pins_the_same_models_as_the_repository(objects):
    """The image's artifacts under the same pins as configs/models.toml; loading them serves every use case."""
    files = config_files(objects)
    in_cluster = tomllib.loads(files["models.toml"])["models"]
    in_repo = tomllib.loads((ROOT / "configs" / "models.toml").read_text())["models"]
    assert {n: (m["version"], m["sha256"], m["settings"]) for n, m in in_cluster.items()} == \
           {n: (m["version"], m["sha256"], m["settings"]) for n, m in in_repo.items()}
    for name, entry in in_cluster.items():
        assert entry["artifact"] == f"/app/artifacts/{name}/{entry['version']}/model.joblib"


def test_the_configmap_serves_when_loaded_by_the_app(objects, tmp_path):
    """The service settings and models config as the pods read them (artifacts from this checkout)."""
    files = config_files(objects)
    for name, text in files.items():
        (tmp_path / name).write_text(text.replace("/app/artifacts/", f"{ROOT}/artifacts/"))
    settings = tomllib.loads(files["service.toml"])
    app = create_app({**settings, "MODELS_CONFIG": str(tmp_path / settings["MODELS_CONFIG"]), "AUTH_ENABLED": False,
                      "MODELS_POLL_SECONDS": 0, "MODELS_STATE_DIR": str(tmp_path / "state")})
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["rejected"] == {}
    assert set(ready.get_json()["models"]) == {"risk", "diagnose", "recommend"}


def test_the_ingress_carries_over_what_the_projects_nginx_enforces(objects):
    ingress = one(objects, "Ingress")
    notes, nginx = ingress["metadata"]["annotations"], render.NginxSettings
    prefix = "nginx.ingress.kubernetes.io/"
    settings = tomllib.loads(config_files(objects)["service.toml"])
    assert notes[prefix + "proxy-body-size"] == "1m" and settings["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert int(notes[prefix + "limit-rps"]) == nginx.rate_per_second
    assert int(notes[prefix + "limit-rps"]) * int(notes[prefix + "limit-burst-multiplier"]) == nginx.burst
    assert int(notes[prefix + "proxy-read-timeout"]) == nginx.read_timeout
    assert notes[prefix + "proxy-next-upstream"] == "error timeout non_idempotent"
    assert "503" not in notes[prefix + "custom-http-errors"].split(",")  # the app's own "model not loaded"
    paths = {p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    routes = {rule.rule for rule in create_app({"MODELS_POLL_SECONDS": 0}).url_map.iter_rules()}
    assert all(any(r == p or r.startswith(p + "/") for r in routes) for p in paths)
    admin = {"/metrics", "/models", "/readyz"}
    assert not any(a == p or a.startswith(p + "/") for a in admin for p in paths)


def test_the_error_backend_answers_the_projects_error_bodies(objects):
    """default.conf's bodies are the ones deploy/nginx answers with, for every code the ingress hands it."""
    conf = (MANIFESTS / "base" / "errors" / "default.conf").read_text()
    codes = one(objects, "Ingress")["metadata"]["annotations"]["nginx.ingress.kubernetes.io/custom-http-errors"]
    for code in [*map(int, codes.split(",")), 404]:
        body = json.dumps({"code": code, "status": HTTPStatus(code).phrase, "message": render.NGINX_ERRORS[code]},
                          separators=(",", ":"))
        assert f"return {code} '{body}';" in conf


def test_swaps_are_configmap_edits_not_rollouts():
    """No hash suffix on the config ConfigMap: a suffixed name would change with every edit and roll every pod."""
    objects = rendered("production")
    assert any(o["kind"] == "ConfigMap" and o["metadata"]["name"] == "mlservice-config" for o in objects)
    kustomization = yaml.safe_load((MANIFESTS / "base" / "kustomization.yaml").read_text())
    [generator] = [g for g in kustomization["configMapGenerator"] if g["name"] == "mlservice-config"]
    assert generator["options"]["disableNameSuffixHash"] is True


@pytest.mark.integration
def test_the_error_backend_answers_in_the_error_shape_under_real_nginx(tmp_path):
    """default.conf served by nginx itself, as the ingress controller's default backend calls it (X-Code)."""
    import requests

    from deploy.processes import NGINX, free_port, stop_process, wait_for_port

    port = free_port()
    conf = (MANIFESTS / "base" / "errors" / "default.conf").read_text().replace("listen 8080;", f"listen 127.0.0.1:{port};")
    (tmp_path / "default.conf").write_text(conf)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path}; include {tmp_path}/default.conf; }}\n")
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for_port(f"127.0.0.1:{port}", 10)
        codes = one(rendered("base"), "Ingress")["metadata"]["annotations"]["nginx.ingress.kubernetes.io/custom-http-errors"]
        for code in [*map(int, codes.split(",")), None]:
            headers = {"X-Request-ID": "abc-123", **({"X-Code": str(code)} if code else {})}
            response = requests.get(f"http://127.0.0.1:{port}/risk", headers=headers, timeout=5)
            want = code or 404
            assert response.status_code == want
            assert response.headers["Content-Type"] == "application/json"
            assert response.headers["X-Request-ID"] == "abc-123"
            assert response.json() == {"code": want, "status": HTTPStatus(want).phrase, "message": render.NGINX_ERRORS[want]}
    finally:
        stop_process(proc, signal.SIGTERM, 10)
