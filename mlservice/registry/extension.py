"""The model registry, a Flask extension with transactional hot swaps.

``init_app`` loads every use case's deployment from the models config. After
that, :meth:`ModelRegistry.refresh` (run by a watcher thread in each gunicorn
worker) applies edits to the config: a changed entry is loaded *beside* the
serving one, fully checked, and switched in by replacing one dict reference.
A change that fails any check changes nothing: the old deployment keeps
serving and the rejection is recorded for ``/readyz`` and ``/models/<name>``.
See docs/model-swaps.md.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, current_app

from mlservice.errors import ModelNotReady, NotFound
from mlservice.files import CONFIG_MAX_BYTES, MODEL_MAX_BYTES, read_bounded
from mlservice.observability import metrics
from mlservice.registry.deployment import Deployment, load_deployment
from mlservice.registry import refusals, store
from mlservice.registry.loader import ModelLoadError
from mlservice.registry.model import LoadedModel
from mlservice.registry.spec import (ConfigError, DeploymentSpec, ModelSpec, missing_entry, parse_models_config,
                                     stray_names, unknown_name)
from mlservice.registry.state import LastGood, default_state_dir
from mlservice.registry.watch import Watcher
from mlservice.registry.contract import UseCase

log = logging.getLogger(__name__)
EXTENSION = "model_registry"


@dataclass(frozen=True)
class Fetching:
    """Where artifacts named by URL are cached, how much it may hold, how long a fetch may take and
    how often a failed one is tried again."""

    cache_dir: Path
    cache_max_bytes: int
    timeout: float
    retry_seconds: float


@dataclass(frozen=True)
class Failure:
    """Why a name's configured deployment is not (or no longer) what serves."""

    reason: str
    at: datetime


class ModelRegistry:
    """Named, verified deployments for the use cases registered with it."""

    def __init__(self, app: Flask | None = None, use_cases: Iterable[UseCase] = (), known: Iterable[str] = ()) -> None:
        self.use_cases: dict[str, UseCase] = {}
        self.known: frozenset[str] = frozenset()
        self.deployments: dict[str, Deployment] = {}
        self.failures: dict[str, Failure] = {}
        self._fingerprint: tuple = ()
        self._watcher: Watcher | None = None
        if app is not None:
            self.init_app(app, use_cases, known)

    def init_app(self, app: Flask, use_cases: Iterable[UseCase], known: Iterable[str] = ()) -> None:
        """``known``: every use case of the project (``USE_CASES``); config entries of those this app
        does not serve belong to another fleet and are skipped, any other name is refused."""
        self.use_cases = {u.name: u for u in use_cases}
        self.known = frozenset(known) | self.use_cases.keys()
        self.config_path = Path(app.config["MODELS_CONFIG"])
        self.poll_seconds = float(app.config["MODELS_POLL_SECONDS"])
        self.model_max_bytes = int(app.config.get("MODEL_MAX_BYTES") or MODEL_MAX_BYTES)
        self.fetching = Fetching(Path(app.config.get("ARTIFACT_CACHE_DIR") or store.default_cache_dir()),
                                 int(app.config.get("ARTIFACT_CACHE_MAX_BYTES") or store.CACHE_MAX_BYTES),
                                 float(app.config.get("ARTIFACT_FETCH_TIMEOUT") or store.FETCH_TIMEOUT),
                                 float(app.config.get("ARTIFACT_FETCH_RETRY_SECONDS") or 10.0))
        self.last_good = LastGood(Path(app.config.get("MODELS_STATE_DIR") or default_state_dir()), self.config_path)
        metrics.start_counting(sorted(self.use_cases), refusals.KINDS, store.FAILURE_REASONS)
        self.refresh()
        app.extensions[EXTENSION] = self

    # -- swapping -----------------------------------------------------------

    def refresh(self) -> bool:
        """Apply the config on disk if it (or an artifact it names) changed; True if anything did."""
        data, specs, error = self._read_config()
        fingerprint = _fingerprint(data, specs, self.fetching.retry_seconds)
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint
        deployments = dict(self.deployments)
        failures: dict[str, Failure] = {}  # every name is judged again: a name gone from the config leaves none
        fallback = self.last_good.read()
        for name, use_case in self.use_cases.items():
            spec = specs.get(name)
            if spec is not None:
                self._apply(name, spec, use_case, deployments, failures, fallback.get(name))
                continue
            _fail(failures, name, error or missing_entry(name, self.config_path))
            metrics.record_swap(name, "refused", refusals.kind_of(failures[name].reason))
            if _behind(deployments.get(name), fallback.get(name)):
                self._fall_back(name, fallback[name], use_case, deployments)
        for name in stray_names(specs, self.known):
            _fail(failures, name, unknown_name(name, self.known))
        changed = deployments != self.deployments
        self.deployments, self.failures = deployments, failures  # the atomic switch: views never see a half-built dict
        self._publish_readiness()
        if changed:
            self.last_good.write({name: d.spec for name, d in deployments.items()})
            pinned = {v.sha256 for spec in specs.values() for v in spec.versions()}
            store.evict(self.fetching.cache_dir, pinned | {m.spec.sha256 for d in deployments.values() for m in d.models()},
                        self.fetching.cache_max_bytes)
        return changed

    def _read_config(self) -> tuple[bytes, dict[str, DeploymentSpec], str | None]:
        try:
            data = read_bounded(self.config_path, CONFIG_MAX_BYTES)
            return data, parse_models_config(data, self.config_path, self.fetching.cache_dir), None
        except OSError as exc:
            return b"", {}, f"models config {self.config_path} is unreadable: {exc.strerror or type(exc).__name__}"
        except ConfigError as exc:
            return data, {}, str(exc)

    def _apply(self, name: str, spec: DeploymentSpec, use_case: UseCase, deployments: dict[str, Deployment],
               failures: dict[str, Failure], fallback: DeploymentSpec | None) -> None:
        current = deployments.get(name)
        if current is not None and current.spec == spec:
            return
        try:
            deployments[name] = load_deployment(spec, use_case, self._loaded, self.model_max_bytes,
                                                self.fetching.timeout)
        except ModelLoadError as exc:
            _fail(failures, name, str(exc))
            metrics.record_model_load(name, spec.default.version, ok=False)
            metrics.record_swap(name, "refused", refusals.kind_of(str(exc)))
            if current is not None:
                metrics.record_swap_rejected(name)
            if fallback != spec and _behind(current, fallback):
                self._fall_back(name, fallback, use_case, deployments)
            return
        metrics.record_model_load(name, spec.default.version, ok=True)
        metrics.record_swap(name, "applied", "ok")
        log.info("model deployed name=%s version=%s sha256=%s", name, spec.default.version, spec.default.sha256[:12])

    def _fall_back(self, name: str, spec: DeploymentSpec, use_case: UseCase, deployments: dict[str, Deployment]) -> None:
        """A fresh worker facing a bad config serves what its siblings serve."""
        try:
            deployments[name] = load_deployment(spec, use_case, self._loaded, self.model_max_bytes,
                                                self.fetching.timeout)
            log.warning("model serving last good name=%s version=%s", name, spec.default.version)
        except ModelLoadError as exc:
            log.error("last good model also refused name=%s reason=%s", name, exc)

    def _loaded(self, spec: ModelSpec) -> LoadedModel | None:
        """Reuse an already verified model when a change leaves its version untouched."""
        for deployment in self.deployments.values():
            for model in deployment.models():
                if model.spec == spec:
                    return model
        return None

    def start_watching(self) -> None:
        """Catch up with the config, then poll it (call in each worker, e.g. gunicorn ``post_worker_init``).

        A worker forked from a preloaded master inherits the deployments the master
        loaded at start; the config may have changed since, so the worker applies it
        (or falls back to what its siblings serve) before it answers anything.
        """
        if self.poll_seconds > 0 and (self._watcher is None or self._watcher.pid != os.getpid()):
            self._watcher = Watcher(self.refresh, self.poll_seconds)
            self._watcher.check()
            self._watcher.start()
        self._publish_readiness()  # a fork's gauges start empty: its own files, not the master's

    def _publish_readiness(self) -> None:
        """Readiness per name, and which version serves in which role, as this process sees them."""
        for name in self.use_cases:
            metrics.set_model_ready(name, name in self.deployments)
        metrics.set_models_served({
            (name, model.spec.version, model.spec.sha256[:12], role)
            for name, deployment in self.deployments.items()
            for role, model in deployment.roles()})

    # -- serving ------------------------------------------------------------

    def route(self, name: str, key: str | None = None) -> tuple[LoadedModel, LoadedModel | None]:
        """(model that serves this request, shadow to mirror it to), or 503."""
        deployment = self.deployments.get(name)
        if deployment is None:
            raise ModelNotReady(f"The {name} model is not loaded; /readyz says why.")
        return deployment.route(key), deployment.shadow

    def version(self, name: str, version: str | None) -> LoadedModel:
        """The configured version ``version`` of ``name`` in whichever role it holds (default, canary, shadow),
        or the default for None: the V2 protocol's paths; 404 if no role holds it, 503 if the name is not loaded."""
        deployment = self.deployments.get(name)
        if deployment is None:
            raise ModelNotReady(f"The {name} model is not loaded; /readyz says why.")
        if version is None:
            return deployment.default
        for model in deployment.models():
            if model.spec.version == version:
                return model
        raise NotFound("No such version of this model is configured (GET /v2/models/<name> lists them).")

    @property
    def names(self) -> list[str]:
        return sorted(self.deployments.keys() | self.failures.keys())

    def describe(self, name: str) -> tuple[Deployment | None, Failure | None]:
        """The serving deployment and/or the last refusal for a name; 404 if never configured."""
        if name not in self.deployments and name not in self.failures:
            raise NotFound("No model with that name.")
        return self.deployments.get(name), self.failures.get(name)


def _fail(failures: dict[str, Failure], name: str, reason: str) -> None:
    log.error("model change refused name=%s reason=%s", name, reason)
    failures[name] = Failure(reason, datetime.now(timezone.utc))


def _behind(current: Deployment | None, last_good: DeploymentSpec | None) -> bool:
    """Whether this process serves something other than the last accepted deployment.

    True for a fresh worker with nothing loaded, and for one forked from a master
    whose models predate swaps its siblings have since accepted.
    """
    return last_good is not None and (current is None or current.spec != last_good)


def _fingerprint(data: bytes, specs: dict[str, DeploymentSpec], retry_seconds: float) -> tuple:
    """Config bytes plus the size and mtime of every file of each named artifact: a half-copied one is
    retried, and so, every ``retry_seconds``, is an artifact named by URL that is not fetched yet."""
    stats: list[tuple] = []
    for spec in specs.values():
        for version in spec.versions():
            if version.source and not version.artifact.is_file():
                stats.append((version.source, "not fetched", int(time.monotonic() // retry_seconds)))
            try:
                entries = list(os.scandir(version.artifact_dir))
            except OSError:
                stats.append((str(version.artifact_dir), -1, -1))
                continue
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                    stats.append((entry.path, st.st_size, st.st_mtime_ns))
                except OSError:
                    stats.append((entry.path, -1, -1))
    return hashlib.sha256(data).hexdigest(), tuple(sorted(stats))


def registry() -> ModelRegistry:
    """The registry of the current app (views and services reach it this way)."""
    return current_app.extensions[EXTENSION]
