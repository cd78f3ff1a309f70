"""gunicorn settings for mlservice; docs/deployment.md says what each one protects against.

Read by the gunicorn master at start and again on every HUP. It must never import
``mlservice``: with ``preload_app`` off, workers import the app after they fork, so
a HUP reloads the code; a master that had imported it would hand old modules down.
"""
import glob
import os
import shutil
import tempfile
from typing import Any

# -- Environment every worker inherits (set before any worker imports NumPy) ---------
# One sync worker per core does the parallelism; BLAS/OpenMP pools on top of that
# would oversubscribe the cores. An operator who sets these explicitly wins.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# prometheus_client picks its multiprocess mode from this variable when it is first
# imported, which happens in each worker; the master wipes the folder in on_starting.
# Each gunicorn master needs its own folder (the stack runner gives each replica one).
_SHM = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
_DEFAULT_METRICS_DIR = os.path.join(_SHM, f"mlservice-metrics-{os.getpid()}")
METRICS_DIR = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", _DEFAULT_METRICS_DIR)
os.makedirs(METRICS_DIR, exist_ok=True)


def _cores() -> int:
    """Cores this process may run on (respects taskset/cpusets, unlike cpu_count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# -- Server ------------------------------------------------------------------------
bind = os.environ.get("MLSERVICE_BIND", "127.0.0.1:8000")  # or unix:/run/mlservice/gunicorn.sock
workers = int(os.environ.get("MLSERVICE_WORKERS", max(2, _cores())))  # CPU-bound: one per core
# Sync workers (nginx buffers slow clients, so a worker is only busy while it computes),
# sending each response in one write so that nginx can retry after any worker crash.
worker_class = "deploy.gunicorn_worker.WholeResponseWorker"
preload_app = False  # each worker builds its own app: HUP reloads code, no fork-shared state
worker_tmp_dir = "/dev/shm" if _SHM == "/dev/shm" else None  # heartbeat files off disk
proc_name = "mlservice"

# -- Time limits -------------------------------------------------------------------
timeout = 30  # a worker silent this long is killed and replaced (hung native code)
graceful_timeout = 30  # on TERM/HUP, in-flight requests get this long to finish
keepalive = 2  # unused by sync workers; nginx speaks HTTP/1.0 without keep-alive to us

# -- Recycling ---------------------------------------------------------------------
# Bounds slow leaks in native code; jitter keeps workers from restarting together.
max_requests = int(os.environ.get("MLSERVICE_MAX_REQUESTS", 10000))
max_requests_jitter = max_requests // 10

# -- Logging -----------------------------------------------------------------------
# No gunicorn access log: the app writes one JSON line per request with its id, route,
# model and latency, and nginx logs what never reached the app. gunicorn's own lines
# (boot, worker exits, timeouts) go to stderr in its plain format.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("MLSERVICE_GUNICORN_LOGLEVEL", "info")


# -- Server hooks ------------------------------------------------------------------
# gunicorn calls these module-level functions by name. Add new hooks here as small
# functions, one concern each.
#
# Hooks that need the app: with preload_app off, ``post_fork(server, worker)`` runs in
# the new worker *before* the app is loaded (``worker.wsgi`` does not exist yet). Use
# ``post_worker_init(worker)`` instead: it runs in the worker right after ``wsgi:app`` is
# built, so ``worker.wsgi.extensions["model_registry"]`` is there, e.g. to start the
# model-config watcher thread.


def _wipe_metrics() -> None:
    for path in glob.glob(os.path.join(METRICS_DIR, "*.db")):
        os.remove(path)


def on_starting(server: Any) -> None:
    """Master, once, before any worker: drop samples a previous run left behind."""
    _wipe_metrics()


def child_exit(server: Any, worker: Any) -> None:
    """Master, per dead worker: its live gauges (model readiness) stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, METRICS_DIR)


def on_exit(server: Any) -> None:
    """Master, at shutdown: leave no samples, and no folder if we made it up."""
    _wipe_metrics()
    if METRICS_DIR == _DEFAULT_METRICS_DIR:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)


def post_worker_init(worker: Any) -> None:
    """Worker, once its app is built: poll the models config, so swaps need no signal.

    The watcher thread lives in the worker, never in the master (docs/model-swaps.md).
    """
    worker.wsgi.extensions["model_registry"].start_watching()
