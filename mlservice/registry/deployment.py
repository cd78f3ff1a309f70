"""A loaded deployment: the default version, and optionally a canary and a shadow.

Routing is sticky: a subject key (user or applicant id) hashes to a fixed point
in [0, 1), so the same subject always meets the same version while the share is
unchanged. Requests without a key draw at random.
"""
from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass

from mlservice.files import MODEL_MAX_BYTES
from mlservice.registry import store
from mlservice.registry.loader import ModelLoadError, load_model
from mlservice.registry.model import LoadedModel
from mlservice.registry.spec import DeploymentSpec, ModelSpec
from mlservice.registry.contract import UseCase


@dataclass(frozen=True)
class Deployment:
    """Immutable: a swap replaces the whole object, so a request sees one consistent set."""

    spec: DeploymentSpec
    default: LoadedModel
    canary: LoadedModel | None = None
    shadow: LoadedModel | None = None

    def route(self, key: str | None = None) -> LoadedModel:
        """The version that serves this request."""
        if self.canary is None:
            return self.default
        draw = bucket(self.spec.name, key) if key is not None else random.random()
        return self.canary if draw < self.spec.canary_share else self.default

    def roles(self) -> list[tuple[str, LoadedModel]]:
        """(role, model) for each configured version: default, canary, shadow."""
        return [(role, m) for role, m in (("default", self.default), ("canary", self.canary), ("shadow", self.shadow))
                if m is not None]

    def models(self) -> list[LoadedModel]:
        return [m for _, m in self.roles()]

    def role_of(self, model: LoadedModel) -> str:
        """The role ``model`` holds here ("default" for a version no longer deployed: it served as one).
        Asked once per recorded request: two comparisons, no list."""
        return "canary" if model is self.canary else "shadow" if model is self.shadow else "default"


def bucket(name: str, key: str) -> float:
    """A stable point in [0, 1) for a subject, independent per model name."""
    digest = hashlib.blake2b(f"{name}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def load_deployment(
    spec: DeploymentSpec, use_case: UseCase, reuse: Callable[[ModelSpec], LoadedModel | None],
    max_bytes: int = MODEL_MAX_BYTES, fetch_timeout: float = store.FETCH_TIMEOUT,
) -> Deployment:
    """Load every version of ``spec`` (reusing unchanged ones) or raise for the first that fails."""

    def one(role: str, version: ModelSpec | None) -> LoadedModel | None:
        if version is None:
            return None
        try:
            return reuse(version) or load_model(version, use_case, max_bytes, fetch_timeout)
        except ModelLoadError as exc:
            raise ModelLoadError(f"{role} {version.version}: {exc}") from None

    return Deployment(spec, one("version", spec.default), one("canary", spec.canary), one("shadow", spec.shadow))
