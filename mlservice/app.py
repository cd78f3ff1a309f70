"""The application factory."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from mlservice import admin, auth, diagnose, jsonprovider, observability, outcomes, recommend, risk, security, v2
from mlservice.auth.openapi import ScopesPlugin
from mlservice.blueprint import ServiceApi
from mlservice.config import load_config
from mlservice.decisions.extension import DecisionLog
from mlservice.monitoring.extension import Monitor
from mlservice.registry.extension import ModelRegistry
from mlservice.schemas.openapi import SchemaExtrasPlugin

#: The one registration list: adding a use case means adding its package here.
USE_CASES = (risk.USE_CASE, diagnose.USE_CASE, recommend.USE_CASE)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build an app: layered config, API and error handlers, blueprints, then models."""
    app = Flask(__name__)
    load_config(app, config)
    jsonprovider.init_app(app)
    observability.init_app(app)
    auth.init_app(app, {u.blueprint.name: u.name for u in USE_CASES})
    security.init_app(app)
    if not app.config["DOCS_ENABLED"]:
        app.config["OPENAPI_URL_PREFIX"] = None
    use_cases = [u for u in USE_CASES if u.name in app.config["USE_CASES"]]
    plugins = [SchemaExtrasPlugin()]
    if app.config["AUTH_ENABLED"]:
        scopes = {u.blueprint.url_prefix: f"predict:{u.name}" for u in USE_CASES}
        plugins.append(ScopesPlugin({**scopes, outcomes.OPENAPI_PATH: "feedback"}))
    api = ServiceApi(app, spec_kwargs={"extra_plugins": plugins})
    for use_case in use_cases:
        api.register_blueprint(use_case.blueprint)
    api.register_blueprint(admin.blp)
    if any(u.kind == "binary_classifier" for u in use_cases):
        api.register_blueprint(v2.blp)
    monitored = {u.name: u.score_output for u in use_cases if u.score_output}
    if monitored:
        api.register_blueprint(outcomes.blp)
    ModelRegistry(app, use_cases, known=[u.name for u in USE_CASES])
    DecisionLog().init_app(app, use_cases)
    Monitor().init_app(app, monitored)
    return app
