"""The application factory."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from mlservice import admin, diagnose, recommend, risk
from mlservice.blueprint import ServiceApi
from mlservice.config import load_config
from mlservice.registry.extension import ModelRegistry

#: The one registration list: adding a use case means adding its package here.
USE_CASES = (risk.USE_CASE, diagnose.USE_CASE, recommend.USE_CASE)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build an app: layered config, API and error handlers, blueprints, then models."""
    app = Flask(__name__)
    load_config(app, config)
    api = ServiceApi(app)
    for use_case in USE_CASES:
        api.register_blueprint(use_case.blueprint)
    api.register_blueprint(admin.blp)
    ModelRegistry(app, USE_CASES)
    return app
