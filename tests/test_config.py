"""Config layers: defaults < file < MLSERVICE_* environment < mapping."""
from __future__ import annotations

import pytest

from mlservice import create_app


def test_layers_override_in_order(tmp_path, monkeypatch):
    config = tmp_path / "service.toml"
    config.write_text('MODELS_CONFIG = "elsewhere/models.toml"\nMAX_CONTENT_LENGTH = 2048\nAPI_TITLE = "from-file"\n')
    monkeypatch.setenv("MLSERVICE_CONFIG", str(config))
    monkeypatch.setenv("MLSERVICE_MAX_CONTENT_LENGTH", "4096")
    app = create_app({"API_TITLE": "from-mapping"})
    assert app.config["MODELS_CONFIG"] == str(tmp_path / "elsewhere" / "models.toml")
    assert app.config["MAX_CONTENT_LENGTH"] == 4096
    assert app.config["API_TITLE"] == "from-mapping"
    assert app.config["OPENAPI_JSON_PATH"] == "openapi.json"


def test_a_named_config_file_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("MLSERVICE_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(OSError, match="missing.toml"):
        create_app()


def test_paths_given_by_the_user_are_relative_to_the_current_directory(tmp_path, monkeypatch):
    """As every Unix tool reads them; paths inside a config file stay relative to that file."""
    from flask import Flask

    from mlservice.config import load_config

    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "service.toml").write_text('MODELS_CONFIG = "models.toml"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLSERVICE_CONFIG", "conf/service.toml")
    monkeypatch.setenv("MLSERVICE_API_KEYS_FILE", "keys/api-keys.toml")
    app = Flask("t")
    load_config(app)
    assert app.config["MODELS_CONFIG"] == str(tmp_path / "conf" / "models.toml")
    assert app.config["API_KEYS_FILE"] == str(tmp_path / "keys" / "api-keys.toml")


def test_the_documented_production_command_reads_the_repository_file(monkeypatch):
    """``MLSERVICE_CONFIG=configs/production.toml`` from the repository root, for the app and nginx's renderer."""
    from deploy import render
    from deploy.processes import ROOT

    monkeypatch.chdir(ROOT)
    env = {"MLSERVICE_CONFIG": "configs/production.toml"}
    assert render.app_setting("AUTH_ENABLED", env) is True
    assert render.app_setting("API_KEYS_FILE", env) == str(ROOT / "configs" / "api-keys.toml")


def test_a_process_started_elsewhere_gets_absolute_paths(tmp_path, monkeypatch):
    from mlservice.config import absolute_path_env

    monkeypatch.chdir(tmp_path)
    env = absolute_path_env({"MLSERVICE_CONFIG": "a.toml", "MLSERVICE_MODELS_CONFIG": "/abs/m.toml", "HOME": "h"})
    assert env == {"MLSERVICE_CONFIG": str(tmp_path / "a.toml"), "MLSERVICE_MODELS_CONFIG": "/abs/m.toml", "HOME": "h"}
