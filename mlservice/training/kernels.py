"""One set of OpenBLAS kernels for training, so that a retrained artifact has the same bytes on any CPU.

OpenBLAS picks its kernels by CPU when it loads (AVX-512 ones on this kind of EPYC,
AVX2 ones elsewhere), and they sum in different orders: a logistic regression's
coefficients then differ in their last bits, and so does the artifact's digest.
The choice can only be forced before NumPy loads OpenBLAS (``OPENBLAS_CORETYPE``),
and the ``mlservice`` command has loaded NumPy by the time ``train`` runs; so
``train`` re-executes itself once with the variable set. The committed artifacts
were built with the Haswell (AVX2) kernels, which every x86-64 CPU with AVX2 runs.
"""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

CORETYPE = "Haswell"
VARIABLE = "OPENBLAS_CORETYPE"


def loaded_coretype() -> str | None:
    """The kernels the loaded OpenBLAS uses (threadpoolctl, a scikit-learn dependency, asks it)."""
    from threadpoolctl import threadpool_info

    found = [info.get("architecture") for info in threadpool_info() if info.get("internal_api") == "openblas"]
    return found[0] if found else None


def can_pin() -> bool:
    """Only an x86-64 CPU with AVX2 runs the Haswell kernels; forcing them elsewhere would crash."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        return " avx2 " in f" {Path('/proc/cpuinfo').read_text()} ".replace("\n", " ")
    except OSError:
        return False


def pin_or_explain() -> str | None:
    """Re-execute the running ``mlservice`` command with the pinned kernels, when it can and must.

    Returns None when the kernels are the pinned ones; otherwise (no AVX2, not x86-64,
    or called in-process, as tests do) a line saying why digests may differ.
    """
    loaded = loaded_coretype()
    if loaded in (None, CORETYPE):
        return None
    if can_pin() and os.environ.get(VARIABLE) != CORETYPE and Path(sys.argv[0]).name in ("mlservice", "cli.py"):
        os.environ[VARIABLE] = CORETYPE
        os.execv(sys.executable, [sys.executable, "-m", "mlservice.cli", *sys.argv[1:]])
    return (f"note: OpenBLAS runs its {loaded} kernels here, not {CORETYPE}: artifacts may differ in their "
            "last bits from ones built elsewhere (docs/models.md, Reproducibility)")
