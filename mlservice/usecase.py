"""What the registry needs to know about a use case to accept a model for it."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields

from mlservice.registry.card import ModelCard

if TYPE_CHECKING:
    from mlservice.registry.model import LoadedModel


class IncompatibleModel(ValueError):
    """The model does not take the inputs the use case's schema sends."""


@dataclass(frozen=True)
class UseCase:
    """A use case: its endpoints, the kind of model it calls and what that model must accept.

    ``row_schema`` is the marshmallow schema of one input row; each field's
    ``metadata["feature"]`` names the model column it feeds. ``settings_schema``
    validates the ``[models.<name>.settings]`` table (e.g. decision thresholds).
    ``prepare`` runs once per model after every other check: it derives what
    serving needs (explainers, range checks) and raises :class:`IncompatibleModel`
    to refuse a model the use case cannot serve faithfully.
    """

    name: str
    kind: str
    blueprint: Blueprint
    settings_schema: type[ma.Schema]
    row_schema: type[ma.Schema] | None = None
    prepare: Callable[["LoadedModel"], Mapping[str, Any]] | None = None

    def bind(self, card: ModelCard) -> tuple[str, ...]:
        """Check the card against the schema; return schema attributes in model column order."""
        if card.use_case != self.name:
            raise IncompatibleModel(f"model was trained for use case {card.use_case}")
        if card.kind != self.kind:
            raise IncompatibleModel(f"model kind is {card.kind}, use case {self.name} needs {self.kind}")
        if self.row_schema is None:
            return ()
        return bind_features(self.row_schema(), card)

    def extras(self, model: "LoadedModel") -> dict[str, Any]:
        """What ``prepare`` derives from a verified model (nothing without a hook)."""
        return dict(self.prepare(model)) if self.prepare else {}

    def validate_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.settings_schema().load(settings)
        except ma.ValidationError as exc:
            raise IncompatibleModel(f"invalid settings: {exc.messages}") from None


def bind_features(schema: ma.Schema, card: ModelCard) -> tuple[str, ...]:
    """Map the card's feature order onto schema attributes, refusing any mismatch."""
    by_feature = {f.metadata["feature"]: (attr, f) for attr, f in schema.fields.items() if "feature" in f.metadata}
    card_names = set(card.feature_names)
    if card_names != set(by_feature):
        raise IncompatibleModel(
            "features differ: model lacks "
            f"{sorted(set(by_feature) - card_names)}, schema lacks {sorted(card_names - set(by_feature))}"
        )
    for feature in card.features:
        _check_field(feature, by_feature[feature.name][1])
    return tuple(by_feature[name][0] for name in card.feature_names)


def _check_field(feature: Any, field: fields.Field) -> None:
    if feature.type == "categorical":
        allowed = _choices(field)
        unknown = sorted(set(allowed) - set(feature.categories))
        if not allowed or unknown:
            raise IncompatibleModel(f"{feature.name}: schema allows categories the model never saw: {unknown}")
    elif not isinstance(field, fields.Number):
        raise IncompatibleModel(f"{feature.name}: model expects a number, schema sends {type(field).__name__}")


def _choices(field: fields.Field) -> tuple[str, ...]:
    for validator in field.validators:
        if hasattr(validator, "choices"):
            return tuple(validator.choices)
    return ()
