"""Figures the suite measures (failed requests, shares, counts), printed once at the end of a run.

A test records what it measured right before asserting on it, so a CI log shows
the numbers behind a pass, not only the pass.
"""
from __future__ import annotations

FIGURES: dict[str, str] = {}


def record(name: str, measured: str) -> None:
    """Keep ``measured`` under ``name`` for the run's summary (the last value wins)."""
    FIGURES[name] = measured
