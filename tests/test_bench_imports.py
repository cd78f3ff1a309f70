"""The benchmark harness is not run by the suite (it takes minutes), but it must keep up with the code it measures."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

HARNESS = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "bench").glob("*.py")
                 if p.stem != "__main__" and "." not in p.stem)


def test_the_harness_has_modules_to_check():
    assert {"inprocess", "parts", "report"} <= set(HARNESS)


@pytest.mark.parametrize("module", HARNESS)
def test_every_harness_module_imports(module):
    """A rename in mlservice that the harness still uses fails here, not in a 7-minute run."""
    assert importlib.import_module(f"bench.{module}").__name__ == f"bench.{module}"
