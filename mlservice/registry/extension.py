"""The model registry, a Flask extension.

``init_app`` reads the models config and loads every entry. A model that fails
is recorded with its reason instead of raising, so one bad artifact never stops
the service: the other use cases serve, ``/readyz`` names the failure and the
broken use case answers 503.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, current_app

from mlservice.errors import ModelNotReady, NotFound
from mlservice.registry.loader import ModelLoadError, load_model
from mlservice.registry.model import LoadedModel
from mlservice.registry.spec import ConfigError, ModelSpec, read_models_config
from mlservice.usecase import UseCase

log = logging.getLogger(__name__)
EXTENSION = "model_registry"


@dataclass(frozen=True)
class Failure:
    """Why a name has no model: shown by ``/readyz`` and ``GET /models/<name>``."""

    reason: str
    at: datetime


class ModelRegistry:
    """Named, verified models for the use cases registered with it."""

    def __init__(self, app: Flask | None = None, use_cases: Iterable[UseCase] = ()) -> None:
        self.use_cases: dict[str, UseCase] = {}
        self.models: dict[str, LoadedModel] = {}
        self.failures: dict[str, Failure] = {}
        if app is not None:
            self.init_app(app, use_cases)

    def init_app(self, app: Flask, use_cases: Iterable[UseCase]) -> None:
        self.use_cases = {u.name: u for u in use_cases}
        self.load_all(Path(app.config["MODELS_CONFIG"]))
        app.extensions[EXTENSION] = self

    def load_all(self, config_path: Path) -> None:
        """Load every use case's model from the config, recording failures."""
        self.models, self.failures = {}, {}
        try:
            specs = read_models_config(config_path)
        except ConfigError as exc:
            specs = {}
            for name in self.use_cases:
                self._fail(name, str(exc))
        for name, spec in specs.items():
            self._load_one(spec)
        for name in self.use_cases.keys() - specs.keys() - self.failures.keys():
            self._fail(name, f"no [models.{name}] entry in {config_path}")

    def _load_one(self, spec: ModelSpec) -> None:
        use_case = self.use_cases.get(spec.name)
        if use_case is None:
            self._fail(spec.name, f"no use case named {spec.name}; known: {', '.join(sorted(self.use_cases))}")
            return
        try:
            self.models[spec.name] = load_model(spec, use_case)
        except ModelLoadError as exc:
            self._fail(spec.name, str(exc))
            return
        log.info("model loaded name=%s version=%s sha256=%s", spec.name, spec.version, spec.sha256[:12])

    def _fail(self, name: str, reason: str) -> None:
        log.error("model refused name=%s reason=%s", name, reason)
        self.failures[name] = Failure(reason, datetime.now(timezone.utc))

    def get(self, name: str) -> LoadedModel:
        """The serving model for ``name``, or :class:`ModelNotReady` (503)."""
        model = self.models.get(name)
        if model is None:
            raise ModelNotReady(f"The {name} model is not loaded; /readyz says why.")
        return model

    @property
    def names(self) -> list[str]:
        return sorted(self.models.keys() | self.failures.keys())

    def describe(self, name: str) -> tuple[LoadedModel | None, Failure | None]:
        """The loaded model and/or last failure for a name; 404 if never configured."""
        if name not in self.models and name not in self.failures:
            raise NotFound("No model with that name.")
        return self.models.get(name), self.failures.get(name)


def registry() -> ModelRegistry:
    """The registry of the current app (views and services reach it this way)."""
    return current_app.extensions[EXTENSION]
