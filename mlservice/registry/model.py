"""A model that passed every check, ready to serve."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlservice.registry.card import ModelCard
from mlservice.registry.spec import ModelSpec

if TYPE_CHECKING:
    from mlservice.registry.fastpath import AdditivePath


@dataclass(frozen=True)
class LoadedModel:
    """Everything a request needs, frozen so a request sees one consistent version."""

    spec: ModelSpec
    card: ModelCard
    estimator: Any
    columns: tuple[str, ...]
    settings: dict[str, Any]
    loaded_at: datetime
    #: What the use case derived from this model at load (``UseCase.prepare``), e.g. its explainer.
    extras: Mapping[str, Any] = field(default_factory=dict, compare=False)
    #: Its probabilities without a scikit-learn call, verified at load (``registry.fastpath``); None: the pipeline serves.
    fast_path: AdditivePath | None = field(default=None, compare=False)

    @property
    def ref(self) -> dict[str, str]:
        """Name, version and short digest, as every prediction response carries them."""
        return {"name": self.spec.name, "version": self.spec.version, "digest": self.spec.sha256[:12]}
