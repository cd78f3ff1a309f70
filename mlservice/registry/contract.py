"""What the registry knows about a use case: how to check a model, replay its examples and build its runtime.

The registry is generic: it calls these hooks and never looks at a model's kind.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields

from mlservice.registry.card import Feature, ModelCard

if TYPE_CHECKING:
    from mlservice.registry.model import LoadedModel

#: What a use case serves a model with (its explainer, range checks, precomputed answers).
Runtime = TypeVar("Runtime")


class IncompatibleModel(ValueError):
    """The model does not take the inputs the use case's schema sends."""


@dataclass(frozen=True)
class UseCase(Generic[Runtime]):
    """A use case: its endpoints, the kind of model it calls and what that model must accept.

    ``row_schema`` is the marshmallow schema of one input row; each field's
    ``metadata["feature"]`` names the model column it feeds. ``settings_schema``
    validates the ``[models.<name>.settings]`` table (e.g. decision thresholds).
    ``golden_mismatches(estimator, golden)`` counts the card's golden examples the
    unpickled estimator fails to reproduce. ``build_runtime`` runs once per model
    after every other check: it builds what serving needs (explainers, range
    checks) and raises :class:`IncompatibleModel` to refuse a model the use case
    cannot serve faithfully. ``score_output`` names the output that holds the model's
    P(class 1), for monitoring (None: the use case is not monitored).
    """

    name: str
    kind: str
    blueprint: Blueprint
    settings_schema: type[ma.Schema]
    golden_mismatches: Callable[[Any, tuple[dict[str, Any], ...]], int]
    build_runtime: Callable[["LoadedModel[None]"], Runtime]
    row_schema: type[ma.Schema] | None = None
    score_output: str | None = None

    def input_fields(self, card: ModelCard) -> tuple[str, ...]:
        """Check the card against the schema; return schema attributes in model column order."""
        if card.use_case != self.name:
            raise IncompatibleModel(f"model was trained for use case {card.use_case}")
        if card.kind != self.kind:
            raise IncompatibleModel(f"model kind is {card.kind}, use case {self.name} needs {self.kind}")
        if self.row_schema is None:
            return ()
        return input_fields(self.row_schema(), card)

    def validate_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.settings_schema().load(settings)
        except ma.ValidationError as exc:
            raise IncompatibleModel(f"invalid settings: {exc.messages}") from None


def input_fields(schema: ma.Schema, card: ModelCard) -> tuple[str, ...]:
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


def _check_field(feature: Feature, field: fields.Field) -> None:
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
