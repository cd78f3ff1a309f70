"""Layered configuration: defaults, then a TOML file, then ``MLSERVICE_*``, then a mapping.

Each layer overrides the one before, so an operator can change one setting with
an environment variable without copying the whole file, and tests can pass a
mapping without touching the environment.
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parents[1]
CONFIG_ENV = "MLSERVICE_CONFIG"
DEFAULT_CONFIG_FILE = ROOT / "configs" / "service.toml"
#: Settings that name a file or folder; ``PATH_ENV`` are the variables that can give them.
PATH_KEYS = ("MODELS_CONFIG", "API_KEYS_FILE", "MODELS_STATE_DIR", "ARTIFACT_CACHE_DIR", "DECISIONS_SPOOL_DIR")
PATH_ENV = (CONFIG_ENV, *(f"MLSERVICE_{key}" for key in PATH_KEYS), "PROMETHEUS_MULTIPROC_DIR")


class Defaults:
    """Safe values for every setting the code reads."""

    MODELS_CONFIG = str(ROOT / "configs" / "models.toml")
    USE_CASES = ["risk", "diagnose", "recommend"]  # serve a subset to split use cases across fleets
    MODELS_POLL_SECONDS = 2.0  # how often each worker checks the models config; 0 = never
    MODELS_STATE_DIR = None  # where workers share the last good deployments (default /dev/shm/mlservice)
    MAX_CONTENT_LENGTH = 1024 * 1024
    MODEL_MAX_BYTES = 1024**3  # a model file larger than this is refused unread (configs and cards: fixed caps)
    ARTIFACT_CACHE_DIR = None  # where artifacts named by URL are kept, one folder per pin (default: $TMPDIR)
    ARTIFACT_CACHE_MAX_BYTES = 4 * 1024**3  # beyond this, cached artifacts no config pins are removed
    ARTIFACT_FETCH_TIMEOUT = 30.0  # seconds for a whole artifact; a slower store is a failed fetch
    ARTIFACT_FETCH_RETRY_SECONDS = 10.0  # a failed fetch is tried again this often, while the config names it
    AUTH_ENABLED = False  # on in configs/production.toml
    API_KEYS_FILE = None  # TOML of key digests and scopes (see mlservice keys new)
    API_KEYS = None  # JSON list of {"id", "key", "scopes"} from a secret store (MLSERVICE_API_KEYS)
    API_KEYS_POLL_SECONDS = 2.0  # how often a worker looks for a changed keys file; 0 = never
    DOCS_ENABLED = True  # /docs and /openapi.json
    DOCS_SCOPE = None  # set to "admin" to require a key for the docs
    API_TITLE = "mlservice"
    API_VERSION = "1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/docs/assets/"  # served from the swagger-ui-bundle-v2 wheel, not a CDN
    BEHIND_PROXY = False  # True behind exactly one reverse proxy (nginx): trust its X-Forwarded-*
    PROXY_ADDRESSES = ["127.0.0.1", "::1"]  # the proxy's own addresses: X-Forwarded-* from anyone else is ignored
    LOG_LEVEL = "INFO"
    DECISIONS_ENABLED = True  # a record per prediction, outputs only unless DECISIONS_INPUTS says (docs/decisions.md)
    DECISIONS_URL = None  # SQLAlchemy URL (postgresql+psycopg://…); default: SQLite in $TMPDIR
    DECISIONS_INPUTS = {}  # {use case: {field: "omit" | "hash" | "keep"}}; unnamed fields are omitted
    DECISIONS_HASH_KEY = None  # the HMAC key of "hash" fields (MLSERVICE_DECISIONS_HASH_KEY)
    DECISIONS_RETENTION_DAYS = 400  # whole records are deleted after this (mlservice decisions expire)
    DECISIONS_INPUTS_RETENTION_DAYS = 90  # kept inputs are removed from records after this
    DECISIONS_SPOOL_DIR = None  # records wait here while the store is away (default: $TMPDIR)
    DECISIONS_SPOOL_MAX_BYTES = 256 * 1024**2  # beyond this, records are dropped and counted
    MONITORING_ENABLED = True  # drift and live quality of the classifiers (docs/monitoring.md)
    MONITORING_DRIFT_WINDOW_SECONDS = 3600  # drift compares the last hour of traffic with training ...
    MONITORING_DRIFT_SLOTS = 12  # ... in slots of 5 minutes (the window slides by one slot)
    MONITORING_PREDICTIONS_KEPT = 50_000  # per worker and use case (60 bytes each): predictions outcomes can join
    MONITORING_OUTCOME_MAX_DELAY_SECONDS = 30 * 86400  # an outcome for an older prediction is counted late
    MONITORING_QUALITY_WINDOW_SECONDS = 7 * 86400  # live AUC, Brier and calibration over outcomes this recent
    MONITORING_OUTCOMES_KEPT = 20_000  # per worker and use case (69 bytes each)


def load_config(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Apply the four layers to ``app.config``."""
    app.config.from_object(Defaults)
    path = absolute(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE))  # relative: to the current directory
    if app.config.from_file(str(path), load=tomllib.load, text=False, silent=CONFIG_ENV not in os.environ):
        _resolve_relative(app, path.parent)
    app.config.from_prefixed_env("MLSERVICE")
    app.config.update(overrides or {})
    _resolve_relative(app, Path.cwd())


def _resolve_relative(app: Flask, base: Path) -> None:
    """Paths in a config file are relative to that file; any other relative path to the current directory."""
    for key in PATH_KEYS:
        if app.config.get(key):
            app.config[key] = str(absolute(base / app.config[key]))


def absolute_path_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with every path variable made absolute against the current directory.

    For a process started in another directory (a replica, ``mlservice serve``):
    it must read the files the user named from where the user stands.
    """
    return {**env, **{name: str(absolute(env[name])) for name in PATH_ENV if env.get(name)}}


def absolute(path: str | Path) -> Path:
    """``path`` made absolute and normalised, without following symlinks.

    A mounted Kubernetes ConfigMap holds its files as symlinks into a timestamped folder
    that the kubelet replaces on every update: a path resolved through them would name
    the folder of the first version, which disappears at the next edit.
    """
    return Path(os.path.abspath(path))
