"""Model cards: the JSON file written beside every artifact.

The card is what the registry trusts *about* a model before and after unpickling
it: the libraries it was built with, the features it expects (in column order),
and golden examples that the loaded model must reproduce. Training writes it;
serving only reads it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlservice.files import CARD_MAX_BYTES, read_bounded

CARD_FILE = "card.json"
ARTIFACT_FILE = "model.joblib"
CARD_SCHEMA_VERSION = 1

#: Kinds of model a card may describe; each use case replays its golden examples (``UseCase.golden_mismatches``).
KINDS = ("binary_classifier", "recommender")


class CardError(ValueError):
    """The card is missing, unreadable or lacks a required entry."""


@dataclass(frozen=True)
class Feature:
    """One input column as the model was trained on it."""

    name: str
    type: str  # "integer" | "number" | "categorical"
    categories: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    median: float | None = None  # training median: what "typical" means in reason codes
    std: float | None = None  # training standard deviation: the unit of out-of-range distances
    nullable: bool = False
    unit: str | None = None
    description: str = ""

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Feature":
        return cls(
            name=raw["name"],
            type=raw["type"],
            categories=tuple(raw.get("categories") or ()),
            min=raw.get("min"),
            max=raw.get("max"),
            median=raw.get("median"),
            std=raw.get("std"),
            nullable=bool(raw.get("nullable", False)),
            unit=raw.get("unit"),
            description=raw.get("description", ""),
        )


@dataclass(frozen=True)
class ModelCard:
    """Parsed card. ``raw`` keeps every entry for ``GET /models/<name>``."""

    name: str
    version: str
    kind: str
    use_case: str
    sha256: str
    libraries: dict[str, str]
    features: tuple[Feature, ...]
    golden: tuple[dict[str, Any], ...]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "ModelCard":
        try:
            card = cls(
                name=raw["name"],
                version=str(raw["version"]),
                kind=raw["kind"],
                use_case=raw["use_case"],
                sha256=raw["artifact"]["sha256"],
                libraries=dict(raw["libraries"]),
                features=tuple(Feature.from_dict(f) for f in raw.get("features", [])),
                golden=tuple(raw["golden"]),
                raw=raw,
            )
        except (KeyError, TypeError) as exc:
            raise CardError(f"card lacks a required entry: {exc}") from None
        if card.kind not in KINDS:
            raise CardError(f"unknown model kind {card.kind!r}")
        if not card.golden:
            raise CardError("card has no golden examples")
        return card

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]


def read_card(artifact_dir: Path) -> ModelCard:
    """Read ``card.json`` from an artifact directory."""
    path = artifact_dir / CARD_FILE
    try:
        data = read_bounded(path, CARD_MAX_BYTES)
    except FileNotFoundError:
        raise CardError(f"no card at {path}") from None
    except OSError as exc:
        raise CardError(f"unreadable card at {path}: {type(exc).__name__}") from None
    return parse_card(data, path)


def parse_card(data: bytes | None, path: Path) -> ModelCard:
    """The card in ``data`` (the bytes of ``path``, already read and verified; None: there is none)."""
    if data is None:
        raise CardError(f"no card at {path}")
    try:
        raw = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise CardError(f"unreadable card at {path}: {type(exc).__name__}") from None
    if not isinstance(raw, dict):
        raise CardError(f"card at {path} is not a JSON object")
    return ModelCard.from_dict(raw)


def write_card(artifact_dir: Path, card: dict[str, Any]) -> Path:
    """Write a card as stable, human-diffable JSON."""
    path = artifact_dir / CARD_FILE
    path.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path
