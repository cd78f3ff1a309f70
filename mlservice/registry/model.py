"""A model that passed every check, ready to serve."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from mlservice.registry.card import ModelCard
from mlservice.registry.spec import ModelSpec

Runtime = TypeVar("Runtime")


@dataclass(frozen=True)
class LoadedModel(Generic[Runtime]):
    """Everything a request needs, frozen so a request sees one consistent version."""

    spec: ModelSpec
    card: ModelCard
    estimator: Any
    #: The row schema's attribute names, in the model's column order (``UseCase.input_fields``).
    input_fields: tuple[str, ...]
    settings: dict[str, Any]
    loaded_at: datetime
    #: What the use case serves this model with, built at load (``UseCase.build_runtime``).
    runtime: Runtime = field(default=None, compare=False)  # type: ignore[assignment]

    @property
    def ref(self) -> dict[str, str]:
        """Name, version and short digest, as every prediction response carries them."""
        return {"name": self.spec.name, "version": self.spec.version, "digest": self.spec.sha256[:12]}
