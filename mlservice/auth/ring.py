"""The keys a worker checks against, reloaded when the keys file changes.

A revoked key must stop working without a restart. Each worker looks at the
file's size, mtime and inode at most every ``API_KEYS_POLL_SECONDS`` (on the
next request; a ``stat`` costs microseconds, no thread needed) and, when they
changed, loads it again. A file that no longer loads keeps the last good keys,
and the reason is shown in ``/readyz`` and counted: a broken edit never opens
the service, and never locks every caller out either.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from mlservice.auth.keys import KeyConfigError, KeyStore
from mlservice.observability import metrics

log = logging.getLogger(__name__)


class KeyRing:
    """The current ``KeyStore``, and why the last reload was refused (None when it was not)."""

    def __init__(self, load: Callable[[], KeyStore], path: str | None, poll_seconds: float) -> None:
        self._load, self.path, self.poll_seconds = load, path, poll_seconds
        self._seen = self._stat()
        self.store = load()  # a broken file at start refuses to start: never open by accident
        self.rejected: str | None = None
        self._checked = time.monotonic()
        metrics.set_keys_loaded(len(self.store))

    def current(self) -> KeyStore:
        """The keys to check now, reloading first when the file changed and the interval passed."""
        if self.path and self.poll_seconds > 0 and time.monotonic() - self._checked >= self.poll_seconds:
            self._checked = time.monotonic()
            seen = self._stat()
            if seen != self._seen:
                self._seen = seen
                self._reload()
        return self.store

    def _reload(self) -> None:
        try:
            self.store = self._load()
        except KeyConfigError as exc:
            self.rejected = str(exc)
            metrics.record_keys_reload("refused")
            log.error("api keys change refused: %s; the last good keys stay", exc)
            return
        self.rejected = None
        metrics.record_keys_reload("ok")
        metrics.set_keys_loaded(len(self.store))
        log.info("api keys reloaded: %d keys", len(self.store))

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path) if self.path else None
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns, st.st_ino) if st else None
