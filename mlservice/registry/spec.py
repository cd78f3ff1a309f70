"""The models config: which artifacts, pinned by digest, serve each name.

A data scientist swaps a model by editing this file. Each ``[models.<name>]``
entry names the default version, and optionally a ``canary`` that gets a share
of traffic and a ``shadow`` that sees mirrored traffic::

    [models.risk]
    version = "1.0.0"
    artifact = "../artifacts/risk/1.0.0/model.joblib"
    sha256 = "<64 hex digits>"
    [models.risk.settings]          # use-case settings, shared by all versions
    review_at = 0.2
    decline_at = 0.5
    [models.risk.canary]            # optional
    version = "1.1.0"
    artifact = "..."
    sha256 = "..."
    share = 0.2
    [models.risk.shadow]            # optional: version, artifact, sha256

``artifact`` may also be a URL (``https://…/model.joblib``, ``s3://bucket/…/model.joblib``;
``http://`` only with ``allow_http = true`` in the same table): the model file and the
``card.json`` beside it, fetched into a cache keyed by the pin (``registry.store``).
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mlservice.files import CONFIG_MAX_BYTES, read_bounded
from mlservice.registry import store
from mlservice.registry.formats import FORMATS

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ConfigError(ValueError):
    """The models config cannot be read or an entry is malformed."""


@dataclass(frozen=True)
class ModelSpec:
    """One version of a named model, with the artifact path made absolute."""

    name: str
    version: str
    artifact: Path
    sha256: str
    settings: dict[str, Any] = field(default_factory=dict)
    format: str = "joblib"  # or "skops" (mlservice.registry.formats)
    #: The URL the artifact is fetched from ("": a local path); ``artifact`` is then its cached copy.
    source: str = ""

    @property
    def artifact_dir(self) -> Path:
        return self.artifact.parent

    @cached_property
    def identity(self) -> tuple[str, str, str]:
        """Name, version and full digest: what a decision record names (made once, not per request)."""
        return self.name, self.version, self.sha256

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "artifact": str(self.artifact)}


@dataclass(frozen=True)
class DeploymentSpec:
    """Everything configured for one name: default, optional canary and shadow."""

    default: ModelSpec
    canary: ModelSpec | None = None
    canary_share: float = 0.0
    shadow: ModelSpec | None = None

    @property
    def name(self) -> str:
        return self.default.name

    def versions(self) -> list[ModelSpec]:
        return [s for s in (self.default, self.canary, self.shadow) if s is not None]

    def to_json(self) -> dict[str, Any]:
        return {
            "default": self.default.to_json(),
            "canary": self.canary.to_json() if self.canary else None,
            "canary_share": self.canary_share,
            "shadow": self.shadow.to_json() if self.shadow else None,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "DeploymentSpec":
        def one(entry: dict[str, Any] | None) -> ModelSpec | None:
            return ModelSpec(**{**entry, "artifact": Path(entry["artifact"])}) if entry else None

        return cls(one(raw["default"]), one(raw.get("canary")), raw.get("canary_share", 0.0), one(raw.get("shadow")))


def read_models_config(path: Path, cache_dir: Path | None = None) -> dict[str, DeploymentSpec]:
    """Read and parse the file at ``path``."""
    try:
        data = read_bounded(path, CONFIG_MAX_BYTES)
    except OSError as exc:
        raise ConfigError(f"models config {path} is unreadable: {exc.strerror or type(exc).__name__}") from None
    return parse_models_config(data, path, cache_dir)


def parse_models_config(data: bytes, path: Path, cache_dir: Path | None = None) -> dict[str, DeploymentSpec]:
    """Parse and check every entry; relative artifact paths are relative to ``path``'s folder, and
    artifacts named by URL are read from ``cache_dir`` once fetched."""
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"models config {path} is not valid TOML: {exc}") from None
    models = raw.get("models")
    if not isinstance(models, dict) or not models:
        raise ConfigError(f"models config {path} has no [models.<name>] entries")
    where = _Where(path.parent, cache_dir or store.default_cache_dir())
    return {name: _deployment(name, entry, where) for name, entry in models.items()}


@dataclass(frozen=True)
class _Where:
    """What relative paths are relative to, and where fetched artifacts are kept."""

    base: Path
    cache_dir: Path


def _deployment(name: str, entry: Any, base: _Where) -> DeploymentSpec:
    table = _table(entry, f"[models.{name}]")
    settings = _table(table.get("settings", {}), f"[models.{name}.settings]")
    default = _version(name, table, base, settings, f"[models.{name}]")
    canary = shadow = None
    share = 0.0
    if "canary" in table:
        canary_table = _table(table["canary"], f"[models.{name}.canary]")
        canary = _version(name, canary_table, base, settings, f"[models.{name}.canary]")
        share = canary_table.get("share")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise ConfigError(f"[models.{name}.canary] share must be a number from 0 to 1")
    if "shadow" in table:
        shadow = _version(name, _table(table["shadow"], f"[models.{name}.shadow]"), base, settings, f"[models.{name}.shadow]")
    return DeploymentSpec(default, canary, float(share), shadow)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} is not a table")
    return value


def _version(name: str, table: dict[str, Any], base: _Where, settings: dict[str, Any], where: str) -> ModelSpec:
    missing = [k for k in ("version", "artifact", "sha256") if not isinstance(table.get(k), str)]
    if missing:
        raise ConfigError(f"{where} lacks {', '.join(missing)}")
    sha256 = table["sha256"].lower()
    if not _HEX64.match(sha256):
        raise ConfigError(f"{where} sha256 is not 64 hex digits")
    fmt = table.get("format", "joblib")
    if fmt not in FORMATS:
        raise ConfigError(f"{where} format must be one of {', '.join(FORMATS)}")
    if "://" not in table["artifact"]:
        return ModelSpec(name, table["version"], (base.base / table["artifact"]).resolve(), sha256, settings, fmt)
    try:
        url = store.check_url(table["artifact"], table.get("allow_http") is True)
    except ValueError as exc:
        raise ConfigError(f"{where} {exc}") from None
    return ModelSpec(name, table["version"], store.cached_path(base.cache_dir, sha256, url), sha256, settings, fmt, url)


def missing_entry(name: str, path: Path) -> str:
    """Why a use case has no model: said the same by the service and by ``mlservice models check``."""
    return f"no [models.{name}] entry in {path}"


def stray_names(names: Iterable[str], known: Iterable[str]) -> list[str]:
    """Config entries no use case of the project has: refused by the service and by the gate alike.

    An entry for a known use case that this fleet does not serve (``USE_CASES``) is not one.
    """
    return sorted(set(names) - set(known))


def unknown_name(name: str, known: Iterable[str]) -> str:
    """Why a config entry serves nothing: no use case has its name."""
    return f"no use case named {name}; known: {', '.join(sorted(known))}"
