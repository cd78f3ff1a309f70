"""The spool: batches of records on local disk, waiting for the store.

A batch is one file, written under a hidden name and renamed into place, so a listing
never returns half a file: a header line with the batch id, then each request's line as
the worker made it (``records.line_of``); whoever writes it into the store makes the
records. A file of the first format (one JSON object holding the records) is still
read. Whoever writes a batch into the store first claims it by renaming it to another
hidden name (no two processes write the same one) and removes it once written; a batch claimed by a process that died since goes back. The store
skips a batch id it has seen, so a batch written twice (killed between the insert and
the removal) is kept once.
"""
from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path

import orjson

from mlservice.decisions.records import rows_of_lines
from mlservice.decisions.store import RecordStore, Row
from mlservice.files import pid_alive
from mlservice.observability import metrics

log = logging.getLogger(__name__)
SUFFIX = ".rows.json"
CLAIMED = ".claimed-"
#: Held (exclusively) by the host's recorder for as long as it runs.
RECORDER_LOCK = ".recorder.lock"
RECORDER_STATUS = ".recorder.json"
#: How long a reading of the spool's size serves (with what this process put since): a reading stats every
#: file, and the spool grows exactly when the host has no time to spare.
SIZE_SECONDS = 1.0


class Spool:
    """One spool folder, bounded in bytes."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder, self.max_bytes = folder, max_bytes
        self._size, self._size_until = 0, 0.0

    def put(self, batch_id: str, lines: list[bytes]) -> bool:
        """Write a batch of requests' lines; False (nothing written) when the spool is full."""
        data = b"\n".join([orjson.dumps({"batch_id": batch_id}), *lines])
        if self.size() + len(data) > self.max_bytes:
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{batch_id}{SUFFIX}"
        temporary = self.folder / f".{name}"
        temporary.write_bytes(data)
        os.replace(temporary, self.folder / name)
        self._size += len(data)
        return True

    def replay(self, store: RecordStore, max_rows: int = 50_000) -> tuple[int, str | None]:
        """Waiting batches into the store, oldest first, several to a transaction (up to about ``max_rows``
        records), counted as written: (records written, the error that stopped it)."""
        self.reclaim_orphans()
        written, waiting = 0, self.batches()
        while waiting:
            claimed, batches, rows = [], [], 0
            while waiting and rows < max_rows:
                path = waiting.pop(0)
                mine = path.with_name(f"{CLAIMED}{os.getpid()}-{path.name}")
                try:
                    os.rename(path, mine)
                except FileNotFoundError:
                    continue  # another process claimed it
                try:
                    batches.append(_batch(mine.read_bytes()))
                except (ValueError, KeyError, TypeError):  # not a batch this code wrote: kept aside, never retried
                    os.rename(mine, path.with_name(f".corrupt-{path.name}"))
                    log.error("decision spool: unreadable batch kept aside file=.corrupt-%s", path.name)
                    continue
                claimed.append((path, mine))
                rows += len(batches[-1][1])
            try:
                inserted = store.insert(batches) if batches else 0
                metrics.record_decisions_written(inserted)
                written += inserted
            except Exception as exc:  # noqa: BLE001 - the store is still away: give them back, try later
                for path, mine in claimed:
                    os.rename(mine, path)
                return written, type(exc).__name__
            for _, mine in claimed:
                mine.unlink()
        return written, None

    def batches(self) -> list[Path]:
        """Complete, unclaimed batches, oldest first (temporary and claimed names start with a dot)."""
        return sorted(self.folder / n for n in self._names() if n.endswith(SUFFIX) and not n.startswith("."))

    def waiting(self) -> int:
        """Batches not yet in the store, claimed ones too (a replay may be under way)."""
        return sum(1 for n in self._names() if n.endswith(SUFFIX) and (not n.startswith(".") or n.startswith(CLAIMED)))

    def claimed_by(self, pid: int) -> bool:
        return any(n.startswith(f"{CLAIMED}{pid}-") for n in self._names())

    def size(self) -> int:
        """The spool's bytes, as read at most ``SIZE_SECONDS`` ago plus what this process put since."""
        if time.monotonic() >= self._size_until:
            self._size, self._size_until = self.bytes(), time.monotonic() + SIZE_SECONDS
        return self._size

    def bytes(self) -> int:
        """The spool's bytes now."""
        total = 0
        for path in self.batches():
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass  # claimed meanwhile
        return total

    def reclaim_orphans(self) -> None:
        """Batches claimed by a process that has died since: back in the spool."""
        for name in self._names():
            if name.startswith(CLAIMED):
                pid, _, original = name.removeprefix(CLAIMED).partition("-")
                if pid.isdigit() and not pid_alive(int(pid)):
                    try:
                        os.rename(self.folder / name, self.folder / original)
                    except FileNotFoundError:
                        pass  # another process put it back first

    def recorder_running(self) -> bool:
        """Whether a recorder process holds this spool's lock (then workers only spool)."""
        try:
            fd = os.open(self.folder / RECORDER_LOCK, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def _names(self) -> list[str]:
        try:
            return os.listdir(self.folder)
        except FileNotFoundError:
            return []


def _batch(data: bytes) -> tuple[str, list[Row]]:
    """A spool file's batch id and records (the first format held the records themselves)."""
    header, _, lines = data.partition(b"\n")
    batch = orjson.loads(header)
    if "rows" in batch:
        return batch["batch_id"], [Row(*values) for values in batch["rows"]]
    return batch["batch_id"], rows_of_lines(lines.split(b"\n"))
