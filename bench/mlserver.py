"""(d) MLServer serving the same artifact, when it is installed (``make bench-mlserver``).

MLServer lives in its own environment (``.venv-mlserver``: mlserver and
mlserver-sklearn 1.7, the same scikit-learn and NumPy from the lock, and this
package, whose ``to_float`` the pickled pipelines name). It serves the diagnose
pipeline through its scikit-learn runtime and the V2 inference protocol, on the
same golden rows as the other servers. Only diagnose: the risk pipeline takes
strings and missing values, which a V2 tensor cannot carry without a pandas codec
that would change what the pipeline sees; the recommender is not a scikit-learn
estimator.

``parallel_workers`` 0 (inference in the server process) is the setting that did
best here: 2 parallel workers did about 20 % fewer requests per second.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson

from bench.bodies import SIZES
from bench.procs import Server, wait_ready
from deploy.processes import ROOT, free_port, stop_process
from mlservice.registry.model import LoadedModel

DEFAULT = ROOT / ".venv-mlserver" / "bin" / "mlserver"
#: Use cases MLServer's scikit-learn runtime can serve from a V2 tensor of numbers.
CASES = ("diagnose",)
THREADS_PINNED = {var: "1" for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def find(explicit: Path | None) -> Path | None:
    """The ``mlserver`` executable to run: ``explicit``, else ``.venv-mlserver``'s; None when absent."""
    candidate = explicit or DEFAULT
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def infer_path(case: str) -> str:
    return f"/v2/models/{case}/infer"


def bodies(model: LoadedModel, folder: Path) -> dict[int, Path]:
    """``{rows: path}``: V2 requests for P(class) on the card's golden rows, as the other servers get them."""
    rows = [g["input"] for g in model.card.golden]
    paths = {}
    for size in SIZES:
        paths[size] = folder / f"mlserver-{model.spec.name}-{size}.json"
        paths[size].write_bytes(_request((rows * (size // len(rows) + 1))[:size]))
    return paths


def _request(rows: list[list[float]]) -> bytes:
    """A V2 inference request for ``predict_proba`` on ``rows``, as one FP64 tensor."""
    return orjson.dumps({"inputs": [{"name": "input-0", "shape": [len(rows), len(rows[0])], "datatype": "FP64",
                                     "data": [float(v) for row in rows for v in row]}],
                         "outputs": [{"name": "predict_proba"}]})


@contextlib.contextmanager
def serve(binary: Path, models: dict[str, LoadedModel], folder: Path, log: Path) -> Iterator[Server]:
    """MLServer on 127.0.0.1 with a model repository of ``CASES``' artifacts, stopped on exit."""
    port = free_port()
    _repository(folder, models, port)
    with open(log, "ab") as out:
        start = time.monotonic()
        proc = subprocess.Popen([str(binary), "start", str(folder)], cwd=folder, env={**os.environ, **THREADS_PINNED},
                                stdout=out, stderr=out, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            ready = wait_ready(f"{url}/v2/health/ready", proc, start, timeout=120.0)
            yield Server("mlserver", url, proc, ready)
        finally:
            stop_process(proc, signal.SIGTERM, timeout=30.0)


def golden_gap(server: Server, model: LoadedModel) -> float:
    """Largest difference between MLServer's P(class 1) and the card's golden outputs: that it
    serves the same pipeline, not only the same file name."""
    call = urllib.request.Request(server.url + infer_path(model.spec.name),
                                  data=_request([g["input"] for g in model.card.golden]),
                                  headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(call, timeout=30) as response:
        output = orjson.loads(response.read())["outputs"][0]
    positive = output["data"][1::output["shape"][1]]
    return max(abs(p - g["output"][0]) for p, g in zip(positive, model.card.golden, strict=True))


def version(binary: Path) -> str:
    done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
    return done.stdout.strip().rsplit(" ", 1)[-1] or "unknown"


def _repository(folder: Path, models: dict[str, LoadedModel], port: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    settings = {"host": "127.0.0.1", "http_port": port, "grpc_port": free_port(), "metrics_port": free_port(),
                "parallel_workers": 0}
    (folder / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    for case in CASES:
        model = models[case]
        (folder / case).mkdir(exist_ok=True)
        (folder / case / "model-settings.json").write_text(json.dumps({
            "name": case, "implementation": "mlserver_sklearn.SKLearnModel",
            "parameters": {"uri": str(model.spec.artifact), "version": model.spec.version},
        }), encoding="utf-8")
