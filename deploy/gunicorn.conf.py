"""gunicorn settings for mlservice; docs/deployment.md says what each one protects against.

Read by the gunicorn master at start and again on every HUP. The file itself never
imports ``mlservice``; with ``preload_app`` the master builds the app once, after
reading it, and workers fork from that (docs/deployment.md: new code means a restart).
"""
import atexit
import gc
import glob
import json
import os
import shutil
import subprocess
import sys
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
# The master imports and loads every model once; workers fork and share those pages, so
# a worker costs its own heap, not another copy of the models, and a recycled worker is
# ready at once. A fork catches up with any swap made since (post_worker_init below).
preload_app = True
# Sharing also needs the garbage collector (Python's gc docs, "fork() without exec()"): a
# worker's full collection writes to the header of every object it scans, which copies
# every page of the master's heap into the worker (45 MiB per worker measured). The master
# collects nothing while it builds the app (no freed holes in its pages), freezes all of
# it before each fork, and each worker collects again, skipping the frozen objects.
gc.disable()
worker_tmp_dir = "/dev/shm" if _SHM == "/dev/shm" else None  # heartbeat files off disk (unlinked at once)
proc_name = "mlservice"
# gunicorn's control socket (for gunicornc) defaults to one path per user, $HOME/.gunicorn/gunicorn.ctl:
# of several masters the last to start owns it and the first to stop removes it, and a read-only
# root filesystem has nowhere to put it. Off, unless MLSERVICE_CONTROL_SOCKET names one per master.
_CONTROL_SOCKET = os.environ.get("MLSERVICE_CONTROL_SOCKET")
control_socket_disable = not _CONTROL_SOCKET
if _CONTROL_SOCKET:
    control_socket = _CONTROL_SOCKET

# -- Request limits ----------------------------------------------------------------
# Above what nginx lets through (a 2 KB request line, 9 KB of headers, so at most
# about 2,300 header lines, plus the 5 nginx adds), so that nginx refuses first, in
# the JSON shape. Reached directly, a request's headers still cost at most
# 2,400 x 4 KB; the worker answers anything over that in the JSON shape too.
limit_request_line = 4094
limit_request_fields = 2400
limit_request_field_size = 4096
# X-Forwarded-* (and the SCRIPT_NAME/forwarded headers gunicorn acts on) only from nginx's
# address: the same list as the app's PROXY_ADDRESSES (a JSON list in MLSERVICE_PROXY_ADDRESSES).
_PROXIES = os.environ.get("MLSERVICE_PROXY_ADDRESSES", "127.0.0.1,::1")
forwarded_allow_ips = ",".join(json.loads(_PROXIES)) if _PROXIES.lstrip().startswith("[") else _PROXIES

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
# With preload_app the app is built in the master before ``on_starting``; in a worker,
# ``post_worker_init(worker)`` runs before it serves, with ``worker.wsgi`` the app.
# No thread may start in the master: a fork copies none of them.


def _wipe_metrics(keep_pid: int | None = None) -> None:
    """Prometheus samples, and monitoring's per-worker counts and ledgers (docs/monitoring.md)."""
    for path in glob.glob(os.path.join(METRICS_DIR, "*.db")):
        if keep_pid is None or not path.endswith(f"_{keep_pid}.db"):
            os.remove(path)
    shutil.rmtree(os.path.join(METRICS_DIR, "monitoring"), ignore_errors=True)


def on_starting(server: Any) -> None:
    """Master, once, before any worker: drop samples a previous run left behind.

    The master's own samples from building the app (model loads) are kept; its live
    gauges are dropped, since readiness must count only workers, which serve.
    """
    from prometheus_client import multiprocess

    _wipe_metrics(keep_pid=os.getpid())
    multiprocess.mark_process_dead(os.getpid(), METRICS_DIR)


def child_exit(server: Any, worker: Any) -> None:
    """Master, per dead worker: its live gauges (model readiness) stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, METRICS_DIR)


def on_exit(server: Any) -> None:
    """Master, at shutdown: the recorder writes what the workers spooled as they stopped; then leave no
    samples, and no folder if we made it up."""
    _stop_recorder(server)
    _wipe_metrics()
    _remove_made_up_folder()


def when_ready(server: Any) -> None:
    """Master, once listening: start the host's decision recorder (mlservice/decisions/recorder.py)."""
    _ensure_recorder(server)


def _ensure_recorder(server: Any) -> None:
    """With decision records on, a recorder runs beside the workers; one that died is started again.

    The handle lives on the arbiter, which outlives a HUP's re-reading of this file.
    """
    if not server.cfg.preload_app or "decisions" not in server.app.wsgi().extensions:
        return  # without preload the master has no app to ask: workers then write records themselves
    running = getattr(server, "mlservice_recorder", None)
    if running is None or running.poll() is not None:
        server.mlservice_recorder = subprocess.Popen([sys.executable, "-m", "mlservice.decisions.recorder"])


def _stop_recorder(server: Any) -> None:
    running = getattr(server, "mlservice_recorder", None)
    if running is not None and running.poll() is None:
        running.terminate()
        try:
            running.wait(timeout=graceful_timeout)
        except subprocess.TimeoutExpired:
            running.kill()


def _remove_made_up_folder(master: int = os.getpid()) -> None:
    """A folder named after this master is never reused: remove it however the master exits.

    Also at a start that fails (the app cannot be built), where gunicorn calls no hook;
    workers inherit the handler but are not the master.
    """
    if os.getpid() == master and METRICS_DIR == _DEFAULT_METRICS_DIR:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)


atexit.register(_remove_made_up_folder)


def pre_fork(server: Any, worker: Any) -> None:
    """Master, before each fork: what it holds (app, models) leaves the collector's reach; a worker
    replaced is a moment to restart a recorder that died."""
    gc.freeze()
    if hasattr(server, "mlservice_recorder"):
        _ensure_recorder(server)


def post_fork(server: Any, worker: Any) -> None:
    """Worker, at once after the fork: collect garbage again (only what it allocates itself)."""
    gc.enable()


def post_worker_init(worker: Any) -> None:
    """Worker, before it serves: catch up with the models config, then poll it.

    The watcher thread lives in the worker, never in the master (docs/model-swaps.md).
    """
    worker.wsgi.extensions["model_registry"].start_watching()


def worker_exit(server: Any, worker: Any) -> None:
    """Worker, as it stops (SIGTERM, max_requests, a HUP): hand off its queued decision records first."""
    decisions = getattr(worker, "wsgi", None) and worker.wsgi.extensions.get("decisions")
    if decisions:
        decisions.writer.flush()
