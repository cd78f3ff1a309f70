"""What the risk use case derives from a model at load, or why it refuses it."""
from __future__ import annotations

from typing import Any

from mlservice.explain.additive import NotAdditive, sigmoid
from mlservice.explain.linear import scorecard_form
from mlservice.explain.ood import RangeCheck
from mlservice.explain.verify import verified
from mlservice.registry.model import LoadedModel
from mlservice.risk import reasons
from mlservice.usecase import IncompatibleModel


def prepare(model: LoadedModel) -> dict[str, Any]:
    """The verified additive form (reason codes) and the training ranges (warnings).

    Refused: a model that is not an exact per-feature scorecard, features or
    categories without reason texts, or thresholds at which a typical applicant
    is not approved (a review or decline could then come without any field
    having raised the risk, i.e. without a reason).
    """
    gaps = reasons.uncovered(model.columns, model.card.features)
    if gaps:
        raise IncompatibleModel(f"no reason texts (or training medians) for {', '.join(gaps)}")
    try:
        form = verified(scorecard_form(model.estimator, model.card), model.estimator, model.card)
    except NotAdditive as exc:
        raise IncompatibleModel(f"no exact reason codes: {exc}") from None
    typical = float(sigmoid(form.base))
    if typical >= model.settings["review_at"]:
        raise IncompatibleModel(
            f"a typical applicant scores {typical:.3f}, not below review_at; reviews could lack reasons"
        )
    return {"explainer": form, "ranges": RangeCheck.from_card(model.card, model.columns)}
