"""What the diagnose use case derives from a model at load, or why it refuses it."""
from __future__ import annotations

from typing import Any

from mlservice.explain.additive import NotAdditive
from mlservice.explain.linear import standardized_form
from mlservice.explain.ood import RangeCheck
from mlservice.explain.verify import verified
from mlservice.registry.model import LoadedModel
from mlservice.usecase import IncompatibleModel


def prepare(model: LoadedModel) -> dict[str, Any]:
    """The verified additive form (factors) and the training ranges (warnings, abstention).

    Refused: a model that is not an exact standardised logistic regression, or a
    card without a training range and standard deviation for every field (the
    service could then not tell when to abstain).
    """
    ranges = RangeCheck.from_card(model.card, model.columns)
    if ranges.unchecked():
        raise IncompatibleModel(f"the card gives no training min, max and std for {', '.join(ranges.unchecked())}")
    try:
        form = verified(standardized_form(model.estimator, model.card), model.estimator, model.card)
    except NotAdditive as exc:
        raise IncompatibleModel(f"no exact factors: {exc}") from None
    return {"explainer": form, "ranges": ranges}
