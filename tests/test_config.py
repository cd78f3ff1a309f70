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
