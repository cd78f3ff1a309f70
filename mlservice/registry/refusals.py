"""Why a change was refused, as one word from a fixed list: a metric label, never free text or a path."""
from __future__ import annotations

import re

from mlservice.registry.store import FAILURE_REASONS

#: (what the refusal message says, its kind), checked in order.
_KINDS = (
    ("digest mismatch", "digest_mismatch"),
    ("golden examples", "golden_mismatch"),
    ("incompatible with use case", "incompatible"),
    ("could not build its runtime", "incompatible"),
    ("was pickled with scikit-learn", "library_skew"),
    ("scikit-learn", "library_skew"),
    ("python", "library_skew"),
    ("cannot read artifact", "unreadable"),
    ("no model file", "unreadable"),
    ("cannot unpickle", "unloadable"),
    ("(skops)", "untrusted_types"),
    ("card", "card"),
    ("models config", "config_error"),
    ("no [models.", "config_error"),
)
KINDS = tuple(sorted({kind for _, kind in _KINDS} | {"other"} | {f"fetch_{r}" for r in FAILURE_REASONS}))


def kind_of(reason: str) -> str:
    """The kind of a refusal (``fetch_<reason>`` for a failed fetch), from its message."""
    fetch = re.search(r"cannot fetch the artifact \((\w+)\)", reason)
    if fetch:
        return f"fetch_{fetch.group(1)}"
    text = reason.lower()
    return next((kind for needle, kind in _KINDS if needle in text), "other")
