"""The host's recorder: one process writes every worker's records from the spool into the store.

Measured on the bench's 2 cores, a worker that inserted its own records into SQLite
lost about 10 % of its single-row throughput, half of it to the database's work and
half to its request thread and the writer thread contending for the GIL. With a
recorder running, workers only append each batch to the spool (one file write per
``LINGER``), and the store's work happens here, in a process of its own. Without one
(``flask run``, tests, a recorder that died), workers write to the store themselves.

Its writing thread runs at the lowest priority: its work (20 to 30 µs a record measured
under load, on a request that costs 0.5 ms) waits for CPU that serving leaves, and through
a saturated burst the records wait in the spool. Niceness is per thread on Linux, and an
unprivileged thread can lower its priority but never raise it again, so a second thread
keeps the priority the recorder started with: when the spool is ``CATCH_UP_SHARE`` full
(sustained saturation), it writes everything waiting, at serving's expense, rather than
let records be dropped.

Started by the gunicorn master (deploy/gunicorn.conf.py) as ``python -m
mlservice.decisions.recorder``, which imports only what it needs (the store, the spool,
the config's loader): the whole app would cost it seconds of CPU at every start. It stops
by itself when the process that started it is gone. It holds the spool's lock while it runs: a second recorder of the
same spool waits for the lock and takes over when the first one stops.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import threading
import time

from flask import Flask

from mlservice.config import load_config
from mlservice.decisions.settings import spool_dir, store_url
from mlservice.decisions.spool import RECORDER_LOCK, RECORDER_STATUS, Spool
from mlservice.decisions.store import RecordStore

log = logging.getLogger(__name__)
#: Between passes: larger transactions cost less per record (index pages written once per commit).
IDLE_SECONDS = 0.5
RETRY_SECONDS = 1.0
#: The writing thread's: the lowest. At any higher niceness a thread takes its full demand from a busy
#: CPU (the scheduler gives it its weight's share, which is more than it needs): serving paid at once.
NICENESS = 19
#: The share of the spool's bound past which the catch-up thread writes at the recorder's own priority.
CATCH_UP_SHARE = 0.25
#: At a stop, how long the recorder keeps writing what waits before it exits (the rest stays spooled).
DRAIN_SECONDS = 10.0


def record(store: RecordStore, spool: Spool, stop: threading.Event) -> None:
    """Hold the spool's lock, then write batches from the spool until ``stop`` is set, and drain."""
    spool.folder.mkdir(parents=True, exist_ok=True)
    with open(spool.folder / RECORDER_LOCK, "a+b") as lock:
        while not stop.is_set():
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                stop.wait(RETRY_SECONDS)  # another recorder runs for this spool: stand by
        else:
            return
        store.migrate()
        log.info("decision recorder writing spool=%s", spool.folder)
        behind = threading.Event()
        catching_up = threading.Thread(target=_catch_up, args=(store, spool, stop, behind), daemon=True,
                                       name="decision-catch-up")
        catching_up.start()  # before this thread's priority is lowered: a new thread takes its creator's
        _lower_this_thread()
        while not stop.is_set():
            stop.wait(IDLE_SECONDS if behind.is_set() else _pass(store, spool))
        catching_up.join()
        deadline = time.monotonic() + DRAIN_SECONDS
        while spool.batches() and time.monotonic() < deadline and _pass(store, spool) != RETRY_SECONDS:
            pass


def _catch_up(store: RecordStore, spool: Spool, stop: threading.Event, behind: threading.Event) -> None:
    """At the recorder's starting priority: once the spool is ``CATCH_UP_SHARE`` full, write all that waits
    (meanwhile the lowered thread stands by, so the two do not contend for the interpreter)."""
    while not stop.wait(IDLE_SECONDS):
        waiting = spool.bytes()
        if waiting > CATCH_UP_SHARE * spool.max_bytes:
            behind.set()
            log.warning("decision recorder catching up spooled_bytes=%d", waiting)
            _pass(store, spool)
            behind.clear()


def _lower_this_thread() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)  # this thread only, on Linux
    except OSError as error:
        log.warning("decision recorder keeps its priority error=%s", type(error).__name__)


def _pass(store: RecordStore, spool: Spool) -> float:
    """Write what waits; how long to wait before the next pass."""
    _, error = spool.replay(store)
    _status(spool, error)
    if error:
        log.error("decision recorder store error=%s", error)
        return RETRY_SECONDS
    return IDLE_SECONDS


def _status(spool: Spool, error: str | None) -> None:
    """The last pass, for workers' readiness detail (a worker cannot see this process's errors)."""
    path = spool.folder / RECORDER_STATUS
    temporary = path.with_name(f"{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps({"pid": os.getpid(), "at": time.time(), "last_error": error}))
    os.replace(temporary, path)


def last_error(spool: Spool) -> str | None:
    """The recorder's last store error, as it wrote it ("" when none)."""
    try:
        return json.loads((spool.folder / RECORDER_STATUS).read_text()).get("last_error")
    except (FileNotFoundError, ValueError):
        return None


def main() -> None:
    """The recorder of the spool the service's config names, until SIGTERM or its parent is gone."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    app = Flask("mlservice")
    load_config(app)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    threading.Thread(target=_stop_when_orphaned, args=(os.getppid(), stop), daemon=True).start()
    spool = Spool(spool_dir(app.config), int(app.config["DECISIONS_SPOOL_MAX_BYTES"]))
    record(RecordStore(store_url(app.config)), spool, stop)


def _stop_when_orphaned(parent: int, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        if os.getppid() != parent:
            stop.set()


if __name__ == "__main__":
    main()
