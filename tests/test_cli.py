"""The ``mlservice`` command as a user meets it: serve, models check, train without its extra."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from deploy.processes import ROOT, free_port, wait_for, workers
from mlservice.cli import main


def test_models_check_refuses_an_unknown_name():
    result = CliRunner().invoke(main, ["models", "check", "--only", "typo"])
    assert result.exit_code == 2
    assert "'typo' is not one of 'risk', 'diagnose', 'recommend'" in result.output


def test_train_names_the_extra_to_install_when_it_is_missing(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pandas" else real(name, *a))
    result = CliRunner().invoke(main, ["train", "diagnose", "--artifacts", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == ("Error: training needs the train extra (pandas missing): run `make train`, "
                             "or pip install -e '.[train]'\n")
    assert not (tmp_path / "diagnose").exists()


@pytest.mark.integration
def test_serve_runs_gunicorn_with_the_production_config_as_documented():
    """``MLSERVICE_CONFIG=configs/production.toml mlservice serve`` from the repository root."""
    port = free_port()
    env = {**os.environ, "MLSERVICE_CONFIG": "configs/production.toml"}
    command = [str(Path(sys.executable).with_name("mlservice")), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz", 90)
        assert len(workers(proc.pid)) == 1  # --workers, and the exec'd gunicorn master kept the pid
        assert requests.get(f"http://127.0.0.1:{port}/models", timeout=5).status_code == 401  # production: auth on
        assert requests.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 404  # and docs off
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=40)
    assert b"Traceback" not in stderr


def test_serve_names_a_missing_config_file_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLSERVICE_CONFIG", "configs/production.toml")  # from the wrong directory
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1
    assert result.output == f"Error: MLSERVICE_CONFIG names no file: {tmp_path / 'configs' / 'production.toml'}\n"
