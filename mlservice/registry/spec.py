"""The models config: which artifact, pinned by digest, serves each name.

A data scientist swaps a model by editing this file; everything the registry
needs to decide whether to trust an artifact is here or in its card.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ConfigError(ValueError):
    """The models config cannot be read or an entry is malformed."""


@dataclass(frozen=True)
class ModelSpec:
    """One ``[models.<name>]`` entry, with the artifact path made absolute."""

    name: str
    version: str
    artifact: Path
    sha256: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def artifact_dir(self) -> Path:
        return self.artifact.parent


def read_models_config(path: Path) -> dict[str, ModelSpec]:
    """Parse and check every entry; relative artifact paths are relative to the file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"models config not found: {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"models config {path} is unreadable: {exc}") from None
    models = raw.get("models")
    if not isinstance(models, dict) or not models:
        raise ConfigError(f"models config {path} has no [models.<name>] entries")
    return {name: _spec(name, entry, path.parent) for name, entry in models.items()}


def _spec(name: str, entry: Any, base: Path) -> ModelSpec:
    if not isinstance(entry, dict):
        raise ConfigError(f"[models.{name}] is not a table")
    missing = [k for k in ("version", "artifact", "sha256") if not isinstance(entry.get(k), str)]
    if missing:
        raise ConfigError(f"[models.{name}] lacks {', '.join(missing)}")
    sha256 = entry["sha256"].lower()
    if not _HEX64.match(sha256):
        raise ConfigError(f"[models.{name}] sha256 is not 64 hex digits")
    settings = entry.get("settings", {})
    if not isinstance(settings, dict):
        raise ConfigError(f"[models.{name}.settings] is not a table")
    return ModelSpec(name, entry["version"], (base / entry["artifact"]).resolve(), sha256, settings)
