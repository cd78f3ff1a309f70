"""deploy/gunicorn.conf.py, read the way gunicorn reads it, in a fresh interpreter."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from deploy.processes import ROOT, free_port, stop_process, wait_for

READ = textwrap.dedent("""
    import json, os, runpy, sys
    import gc
    conf = runpy.run_path(sys.argv[1])
    gc_while_building = gc.isenabled()
    conf["pre_fork"](None, None)
    frozen = gc.get_freeze_count()
    conf["post_fork"](None, None)
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    for name in ("counter_1.db", "keep.txt"):
        open(os.path.join(metrics_dir, name), "w").close()
    os.makedirs(os.path.join(metrics_dir, "monitoring"))
    open(os.path.join(metrics_dir, "monitoring", "drift-risk-0.1.npy"), "w").close()
    conf["on_starting"](None)
    after_start = sorted(os.listdir(metrics_dir))
    conf["on_exit"](None)
    print(json.dumps({
        "settings": {k: conf[k] for k in ("bind", "workers", "worker_class", "preload_app", "worker_tmp_dir",
                                          "timeout", "graceful_timeout", "max_requests", "max_requests_jitter",
                                          "accesslog")},
        "env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
        "metrics_dir": metrics_dir, "after_start": after_start, "exists_after_exit": os.path.isdir(metrics_dir),
        "imported_mlservice": any(m.startswith("mlservice") for m in sys.modules),
        "gc": {"while_building": gc_while_building, "frozen_before_fork": frozen, "in_worker": gc.isenabled()},
    }))
""")


def read_config(**env: str) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MLSERVICE_", "PROMETHEUS_", "OMP_", "OPENBLAS_", "MKL_"))}
    out = subprocess.run([sys.executable, "-c", READ, str(ROOT / "deploy" / "gunicorn.conf.py")],
                         env={**clean, **env}, capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)


def test_defaults_are_safe_for_cpu_bound_sync_workers():
    conf = read_config()
    settings = conf["settings"]
    assert settings["bind"] == "127.0.0.1:8000"
    assert settings["worker_class"] == "deploy.gunicorn_worker.WholeResponseWorker"  # a SyncWorker
    assert settings["workers"] == max(2, len(os.sched_getaffinity(0)))
    assert settings["preload_app"] is True and settings["worker_tmp_dir"] == "/dev/shm"
    assert settings["timeout"] > 0 and settings["graceful_timeout"] > 0
    assert settings["max_requests"] > 0 and 0 < settings["max_requests_jitter"] < settings["max_requests"]
    assert settings["accesslog"] is None
    assert conf["env"] == {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    assert conf["imported_mlservice"] is False, "reading the config must not build the app"


def test_workers_garbage_collection_leaves_the_masters_objects_alone():
    """Without this, a worker's first full collection copies the master's whole heap (45 MiB here)."""
    gc = read_config()["gc"]
    assert gc["while_building"] is False  # no freed holes in the pages the workers will share
    assert gc["frozen_before_fork"] > 1000  # everything the master holds is out of the collector's reach
    assert gc["in_worker"] is True  # the worker collects its own garbage


def test_metrics_folder_is_wiped_at_start_and_a_made_up_one_removed_at_exit():
    conf = read_config()
    assert conf["metrics_dir"].startswith("/dev/shm/mlservice-metrics-")
    assert conf["after_start"] == ["keep.txt"]  # only prometheus_client's files and monitoring's are dropped
    assert conf["exists_after_exit"] is False


def test_the_environment_wins(tmp_path):
    conf = read_config(MLSERVICE_BIND="unix:/tmp/x.sock", MLSERVICE_WORKERS="3", OMP_NUM_THREADS="4",
                       PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    assert conf["settings"]["bind"] == "unix:/tmp/x.sock" and conf["settings"]["workers"] == 3
    assert conf["env"]["OMP_NUM_THREADS"] == "4" and conf["env"]["MKL_NUM_THREADS"] == "1"
    assert conf["metrics_dir"] == str(tmp_path) and conf["exists_after_exit"] is True  # not ours to remove


def _serve(port: int, **env: str) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("mlservice")), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    clean = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "PROMETHEUS_MULTIPROC_DIR")}
    return subprocess.Popen(command, env={**clean, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


@pytest.mark.integration
def test_masters_share_no_control_socket_and_leave_nothing_in_dev_shm(tmp_path):
    """Two masters side by side: none takes gunicorn's per-user socket; a named one is its own, and goes."""
    home, socket, state = tmp_path / "home", tmp_path / "b.ctl", str(tmp_path / "state")
    ports = free_port(), free_port()
    masters = [_serve(ports[0], HOME=str(home), MLSERVICE_MODELS_STATE_DIR=state),
               _serve(ports[1], HOME=str(home), MLSERVICE_MODELS_STATE_DIR=state, MLSERVICE_CONTROL_SOCKET=str(socket))]
    try:
        for port in ports:
            wait_for(f"http://127.0.0.1:{port}/healthz", 90)
        assert not (home / ".gunicorn").exists()
        deadline = time.monotonic() + 10  # gunicorn opens it beside its workers, not before them
        while not socket.is_socket() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert socket.is_socket()
        assert all(Path(f"/dev/shm/mlservice-metrics-{m.pid}").is_dir() for m in masters)
    finally:
        for master in masters:
            stop_process(master, signal.SIGTERM, 40)
    assert [m.returncode for m in masters] == [0, 0]
    assert not socket.exists()
    assert not any(Path(f"/dev/shm/mlservice-metrics-{m.pid}").exists() for m in masters)


def test_a_failed_start_leaves_no_metrics_folder_behind(tmp_path):
    """The master (the gunicorn process itself) cannot build the app: its made-up folder goes too."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MLSERVICE_", "PROMETHEUS_"))}
    command = [str(Path(sys.executable).with_name("gunicorn")), "--config", str(ROOT / "deploy" / "gunicorn.conf.py"),
               "--bind", f"127.0.0.1:{free_port()}", "wsgi:app"]
    master = subprocess.Popen(command, cwd=ROOT, env={**clean, "MLSERVICE_CONFIG": str(tmp_path / "missing.toml")},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, stderr = master.communicate(timeout=60)
    assert master.returncode != 0 and "missing.toml" in stderr
    assert not Path(f"/dev/shm/mlservice-metrics-{master.pid}").exists()
