"""Hypothesis pieces the validation tests share: run settings, junk values, misshapen bodies."""
from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Any JSON value of the wrong kind: the input a field, a list or a whole body must refuse.
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=4),
                 st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))


def misshapen(draw: Any, body: dict[str, Any], top: str, stray: dict[str, Any]) -> Any:
    """Now and then (3 draws in 31) ``body`` plus a ``stray`` top-level entry, ``{top: junk}``, or junk itself."""
    roll = draw(st.integers(0, 30))
    if roll == 0:
        return {**body, **stray}
    if roll == 1:
        return {top: draw(JUNK)}
    if roll == 2:
        return draw(JUNK)
    return body
