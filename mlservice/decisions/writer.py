"""Writing records in the background: batched, spooled to disk while the store is away, never blocking a request.

Each process has one writer thread, started by its first record (a thread never
survives gunicorn's fork). A request only puts its ``Pending`` on a bounded queue. The
thread takes up to ``BATCH`` at a time and inserts them in one transaction; if the
store fails, the batch goes to a spool file (JSON lines, one file per batch) and the
spool is replayed, oldest first, once the store answers again. When the spool is full
the batch is dropped and counted: the service keeps serving, and readiness says so.
A graceful stop (``flush``) empties the queue and tries the spool once more.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from mlservice.decisions.records import Pending
from mlservice.decisions.store import RecordStore
from mlservice.observability import metrics

log = logging.getLogger(__name__)
BATCH = 500
QUEUE_SIZE = 20_000
#: Rows waiting in memory at most: a 10,000-row batch is one queue entry but 10,000 records.
MAX_QUEUED_ROWS = 100_000
RETRY_SECONDS = 1.0
LINGER = 0.1


class Writer:
    """The background writer of one process."""

    def __init__(self, store: RecordStore, expand: Callable[[Pending], list[dict[str, Any]]], spool_dir: Path,
                 spool_max_bytes: int) -> None:
        self.store, self.expand = store, expand
        self.spool_dir, self.spool_max_bytes = spool_dir, spool_max_bytes
        self.queue: queue.Queue[Pending] = queue.Queue(QUEUE_SIZE)
        self.dropped = 0
        self.queued_rows = 0
        self.last_error: str | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def put(self, pending: Pending) -> None:
        """Hand a request's records to the writer; never waits (a full queue drops and counts them)."""
        self._ensure_thread()
        rows = pending.rows
        if self.queued_rows + rows > MAX_QUEUED_ROWS:
            self._drop(rows, "queue full")
            return
        try:
            self.queue.put_nowait(pending)
            self.queued_rows += rows
        except queue.Full:
            self._drop(rows, "queue full")

    def flush(self, timeout: float = 10.0) -> None:
        """Write what is queued or being written (to the store, or the spool) before the process exits."""
        deadline = time.monotonic() + timeout
        running = self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            if running:
                time.sleep(0.01)  # the writer thread is on it, batch in hand
            else:
                self._write(self._take(block=False))
        self._replay_spool()

    def status(self) -> dict[str, Any]:
        """For readiness: what waits on disk, what was lost, and why the store last failed."""
        return {"spooled_batches": len(self._spooled()), "dropped": self.dropped, "last_error": self.last_error}

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._pid = os.getpid()
                    self._thread = threading.Thread(target=self._run, name="decision-writer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        next_replay = 0.0
        while True:
            try:
                batch = self._take(block=True)
                if batch:
                    self._write(batch)
                if time.monotonic() >= next_replay:
                    next_replay = time.monotonic() + RETRY_SECONDS
                    self._replay_spool()
            except Exception as exc:  # noqa: BLE001 - the writer must outlive anything a store or disk does
                self.last_error = type(exc).__name__
                log.error("decision writer error=%s", type(exc).__name__)
                time.sleep(RETRY_SECONDS)

    def _take(self, block: bool) -> list[Pending]:
        """Up to ``BATCH`` requests' records. The thread sleeps ``LINGER`` seconds between batches rather
        than waiting on the queue: a waiting thread is woken by every request, a context switch each,
        and one transaction per batch costs far less than one per record."""
        if block:
            time.sleep(LINGER)
        batch: list[Pending] = []
        try:
            while len(batch) < BATCH:
                batch.append(self.queue.get_nowait())
        except queue.Empty:
            pass
        return batch

    def _write(self, batch: list[Pending]) -> None:
        if not batch:
            return
        try:
            rows = [row for pending in batch for row in self.expand(pending)]
            try:
                self.store.insert(rows)
                self.last_error = None
                metrics.record_decisions_written(len(rows))
            except Exception as exc:  # noqa: BLE001 - any store failure: keep the rows on disk
                self.last_error = type(exc).__name__
                try:
                    self._spool(rows)
                except OSError:
                    self._drop(len(rows), "spool unwritable")
        finally:
            for pending in batch:
                self.queued_rows -= pending.rows
                self.queue.task_done()

    def _spool(self, rows: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(row, default=_json) + "\n" for row in rows).encode()
        if self._spool_bytes() + len(data) > self.spool_max_bytes:
            self._drop(len(rows), "spool full")
            return
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}.jsonl"
        temporary = self.spool_dir / f".{name}"
        temporary.write_bytes(data)
        os.replace(temporary, self.spool_dir / name)
        metrics.record_decisions_spooled(len(rows))

    def _replay_spool(self) -> None:
        """Each spooled batch into the store, oldest first; a batch is claimed by a rename, so no
        two workers write the same one."""
        for path in self._spooled():
            claimed = path.with_name(f".claimed-{os.getpid()}-{path.name}")
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                continue  # another worker claimed it
            try:
                rows = [json.loads(line, object_hook=_dates) for line in claimed.read_text().splitlines() if line]
                self.store.insert(rows)
            except Exception as exc:  # noqa: BLE001 - the store is still away: give it back, try later
                os.rename(claimed, path)
                self.last_error = type(exc).__name__
                return
            claimed.unlink()
            metrics.record_decisions_written(len(rows))

    def _spooled(self) -> list[Path]:
        return sorted(self.spool_dir.glob("*.jsonl")) if self.spool_dir.is_dir() else []

    def _spool_bytes(self) -> int:
        total = 0
        for path in self._spooled():
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass  # another worker has just claimed it
        return total

    def _drop(self, count: int, why: str) -> None:
        self.dropped += count
        metrics.record_decisions_dropped(count)
        log.error("decision records dropped count=%d reason=%s", count, why)


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    raise TypeError(type(value).__name__)


def _dates(obj: dict[str, Any]) -> Any:
    return datetime.fromisoformat(obj["$datetime"]) if set(obj) == {"$datetime"} else obj
