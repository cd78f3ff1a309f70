"""What the risk use case serves a model with, built at load, or why it refuses the model."""
from __future__ import annotations

from mlservice.registry.contract import IncompatibleModel
from mlservice.registry.model import LoadedModel
from mlservice.risk import reasons
from mlservice.scoring.additive import NotAdditive, sigmoid
from mlservice.scoring.classifier import ClassifierRuntime, verified_scorer
from mlservice.scoring.linear import scorecard_form
from mlservice.scoring.ranges import RangeCheck


def build_runtime(model: LoadedModel) -> ClassifierRuntime:
    """The verified additive form (reason codes) and the training ranges (warnings).

    Refused: a model that is not an exact per-feature scorecard, features or
    categories without reason texts, or thresholds at which a typical applicant
    is not approved (a review or decline could then come without any field
    having raised the risk, i.e. without a reason).
    """
    gaps = reasons.uncovered(model.input_fields, model.card.features)
    if gaps:
        raise IncompatibleModel(f"no reason texts (or training medians) for {', '.join(gaps)}")
    try:
        scorer = verified_scorer(scorecard_form(model.estimator, model.card), model.estimator, model.card)
    except NotAdditive as exc:
        raise IncompatibleModel(f"no exact reason codes: {exc}") from None
    typical = float(sigmoid(scorer.form.base))
    if typical >= model.settings["review_at"]:
        raise IncompatibleModel(
            f"a typical applicant scores {typical:.3f}, not below review_at; reviews could lack reasons"
        )
    return ClassifierRuntime(scorer, RangeCheck.from_card(model.card, model.input_fields))
