"""Training/serving library skew: refuse what scikit-learn only warns about.

A pickle made under another scikit-learn may load with a warning and then
predict differently, so the rule is strict where pickles are fragile.
"""
from __future__ import annotations

import platform
from importlib.metadata import version

import joblib
import numpy
import scipy
import sklearn

#: How much of each version must match: 3 = exact, 2 = major.minor, 1 = major.
_RULES = {"python": 2, "scikit-learn": 3, "numpy": 1, "scipy": 1}


def library_versions() -> dict[str, str]:
    """Versions of everything a pickled pipeline depends on, as written into cards."""
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
        "mlservice": version("mlservice"),
    }


def incompatibilities(trained: dict[str, str], running: dict[str, str] | None = None) -> list[str]:
    """Human-readable reasons the running libraries cannot serve this artifact."""
    running = running or library_versions()
    problems = []
    for lib, parts in _RULES.items():
        built = trained.get(lib)
        if built is None:
            problems.append(f"card does not record the {lib} version")
        elif built.split(".")[:parts] != running[lib].split(".")[:parts]:
            problems.append(f"trained with {lib} {built}, running {running[lib]}")
    return problems
