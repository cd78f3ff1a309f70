"""What the diagnose use case serves a model with, built at load, or why it refuses the model."""
from __future__ import annotations

from mlservice.registry.contract import IncompatibleModel
from mlservice.registry.model import LoadedModel
from mlservice.scoring.additive import NotAdditive
from mlservice.scoring.classifier import ClassifierRuntime, verified_scorer
from mlservice.scoring.linear import standardized_form
from mlservice.scoring.ranges import RangeCheck


def build_runtime(model: LoadedModel) -> ClassifierRuntime:
    """The verified additive form (factors) and the training ranges (warnings, abstention).

    Refused: a model that is not an exact standardised logistic regression, or a
    card without a training range and standard deviation for every field (the
    service could then not tell when to abstain).
    """
    ranges = RangeCheck.from_card(model.card, model.input_fields)
    if ranges.unchecked():
        raise IncompatibleModel(f"the card gives no training min, max and std for {', '.join(ranges.unchecked())}")
    try:
        scorer = verified_scorer(standardized_form(model.estimator, model.card), model.estimator, model.card)
    except NotAdditive as exc:
        raise IncompatibleModel(f"no exact factors: {exc}") from None
    return ClassifierRuntime(scorer, ranges)
