"""Handing records off in the background: batched, never blocking a request.

Each process has one writer thread, started by its first record (a thread never
survives gunicorn's fork). A request only appends its line (``records.line_of``) to a
deque: no lock, no wake-up. The thread wakes every ``LINGER`` seconds and takes what is
there as one batch: fewer, larger batches cost the store less per record (index pages are written
once per batch). When the host's recorder runs (``recorder.py``), the batch goes to the
spool, and the recorder writes it; otherwise the thread inserts it itself, and spools it
only if the store fails, replaying the spool once the store answers again. When the
spool is full the batch is dropped and counted: the service keeps serving, and
readiness says so. A graceful stop (``flush``) hands off what is queued.
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections import deque
from typing import Any

from mlservice.decisions import recorder
from mlservice.decisions.records import rows_of_lines
from mlservice.decisions.spool import Spool
from mlservice.decisions.store import RecordStore
from mlservice.observability import metrics

log = logging.getLogger(__name__)
#: Requests taken per batch at most.
BATCH = 5_000
#: Requests waiting in memory at most.
QUEUE_SIZE = 20_000
#: Rows waiting in memory at most: a 10,000-row batch is one queue entry but 10,000 records.
MAX_QUEUED_ROWS = 100_000
RETRY_SECONDS = 1.0
LINGER = 0.5


class Writer:
    """The background writer of one process."""

    def __init__(self, store: RecordStore, spool: Spool) -> None:
        self.store, self.spool = store, spool
        #: Each request's line and how many records it makes.
        self.pending: deque[tuple[bytes, int]] = deque()
        self.dropped = 0
        #: Rows put and rows taken, each counted by one side only (request thread, writer), so no lock is needed.
        self.put_rows = self.taken_rows = 0
        self.last_error: str | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        #: Held while a batch is taken and handed off (by the thread, or by ``flush``).
        self._writing = threading.Lock()
        os.register_at_fork(after_in_child=self._forget_thread)

    @property
    def queued_rows(self) -> int:
        return self.put_rows - self.taken_rows

    def put(self, line: bytes, rows: int) -> None:
        """Hand a request's line (of ``rows`` records) to the writer; never waits (beyond the bounds they are
        dropped and counted)."""
        if self._thread is None:
            self._start_thread()
        if len(self.pending) >= QUEUE_SIZE or self.queued_rows + rows > MAX_QUEUED_ROWS:
            self._drop(rows, "queue full")
            return
        self.pending.append((line, rows))
        self.put_rows += rows

    def flush(self, timeout: float = 10.0) -> None:
        """Hand off what is queued (to the recorder, the store or the spool) before the process exits; without
        a recorder, try the spool once more. Done here and now, not left to the thread's next wake-up: a
        worker that stops (every ``max_requests``) serves nothing until it has exited."""
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            self._write_batch()
        with self._writing:  # a batch the thread has in hand
            pass
        if not self.spool.recorder_running():
            self._replay()
            while self.spool.claimed_by(os.getpid()) and time.monotonic() < deadline:
                time.sleep(0.01)  # the writer thread is replaying a batch from the spool

    def status(self) -> dict[str, Any]:
        """For readiness: whether a recorder writes, what waits on disk, what was lost, and why the store
        last failed (as this worker or the recorder saw it)."""
        running = self.spool.recorder_running()
        return {"recorder": running, "spooled_batches": self.spool.waiting(), "dropped": self.dropped,
                "last_error": recorder.last_error(self.spool) if running else self.last_error}

    def _forget_thread(self) -> None:
        """A forked worker has none of its parent's threads (and so no writer yet)."""
        self._thread, self._lock, self._writing = None, threading.Lock(), threading.Lock()

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="decision-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        next_replay = 0.0
        while True:
            try:
                time.sleep(LINGER)  # not a wait on the queue: a waiting thread is woken by every request
                while self.pending:
                    self._write_batch()
                if time.monotonic() >= next_replay:
                    next_replay = time.monotonic() + RETRY_SECONDS
                    if not self.spool.recorder_running():
                        self._replay()
            except Exception as exc:  # noqa: BLE001 - the writer must outlive anything a store or disk does
                self.last_error = type(exc).__name__
                log.error("decision writer error=%s", type(exc).__name__)
                time.sleep(RETRY_SECONDS)

    def _write_batch(self) -> None:
        """Up to ``BATCH`` requests' records, handed off as one batch."""
        with self._writing:
            batch: list[tuple[bytes, int]] = []
            try:
                while len(batch) < BATCH:
                    batch.append(self.pending.popleft())
            except IndexError:
                pass
            count = sum(rows for _, rows in batch)
            try:
                if batch:
                    self._write([line for line, _ in batch], count)
            finally:
                self.taken_rows += count

    def _write(self, lines: list[bytes], count: int) -> None:
        """With a recorder, to the spool as they are (the recorder makes the records); else into the store."""
        batch_id = secrets.token_hex(16)
        if self.spool.recorder_running():
            self._spool(batch_id, lines, count)
            return
        try:
            self.store.insert([(batch_id, rows_of_lines(lines))])
            self.last_error = None
            metrics.record_decisions_written(count)
        except Exception as exc:  # noqa: BLE001 - any store failure: keep the lines on disk
            self.last_error = type(exc).__name__
            self._spool(batch_id, lines, count)
            metrics.record_decisions_spooled(count)

    def _spool(self, batch_id: str, lines: list[bytes], count: int) -> None:
        try:
            if not self.spool.put(batch_id, lines):
                self._drop(count, "spool full")
        except OSError:
            self._drop(count, "spool unwritable")

    def _replay(self) -> None:
        _, error = self.spool.replay(self.store)
        if error:
            self.last_error = error

    def _drop(self, count: int, why: str) -> None:
        self.dropped += count
        metrics.record_decisions_dropped(count)
        log.error("decision records dropped count=%d reason=%s", count, why)
