"""Turning an artifact's verified bytes into a model: joblib (pickle) or skops.

``joblib.load`` runs whatever the pickle says: the pin protects against someone
who can write artifacts but not the config, not against an artifact handed over
by someone else. skops reads a model as data and builds only types on a list, so
a file naming any other type is refused before anything of it is built. The list
below is what the project's own models need beyond skops' defaults (scikit-learn
estimators, NumPy arrays), each reviewed; it is never the output of
``get_untrusted_types()`` fed back in.
"""
from __future__ import annotations

import io
import warnings
from typing import Any

FORMATS = ("joblib", "skops")

#: Types the project's models hold that skops does not trust by default, and why each is safe.
SKOPS_TRUSTED = (
    "mlservice.transforms.to_float",  # our function, referenced by the risk pipeline; loading does not call it
    "numpy.dtype",  # a dtype description
    "mlservice.recommend.model.ItemKNNRecommender",  # our class; its __setstate__ only checks its arrays
    "scipy.sparse._csr.csr_matrix",  # the recommender's similarity and ratings; checked by the class above
    "scipy.interpolate._bsplines.BSpline",  # the spline scorecard's basis: knots and coefficients, set as data
    "scipy._lib.array_api_compat.numpy._aliases.asarray",  # a function the BSpline refers to; loading does not call it
)


class UnsafeArtifact(Exception):
    """The artifact names a type outside the trusted list (nothing of it was built)."""


def can_execute_code(fmt: str) -> bool:
    """Whether loading this format can run code the artifact chooses."""
    return fmt == "joblib"


def load_bytes(fmt: str, payload: bytes) -> Any:
    """The model in ``payload``; ``InconsistentVersionWarning`` is raised as an error for both formats."""
    from sklearn.exceptions import InconsistentVersionWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        if fmt == "skops":
            return _skops(payload)
        import joblib

        return joblib.load(io.BytesIO(payload))


def _skops(payload: bytes) -> Any:
    import skops.io

    untrusted = set(skops.io.get_untrusted_types(data=payload)) - set(SKOPS_TRUSTED)
    if untrusted:  # checked on the schema alone, before skops builds anything
        raise UnsafeArtifact(f"untrusted types {sorted(untrusted)[:5]}")
    return skops.io.loads(payload, trusted=list(SKOPS_TRUSTED))
