"""A daemon thread per worker that polls the models config.

Polling (rather than inotify or signals) works the same on every filesystem,
needs no one to send a signal, and bounds the time to a swap by the interval.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Watcher(threading.Thread):
    """Calls ``refresh`` every ``interval`` seconds until the process exits."""

    def __init__(self, refresh: Callable[[], object], interval: float) -> None:
        super().__init__(name="models-config-watcher", daemon=True)
        self.refresh = refresh
        self.interval = interval
        self.pid = os.getpid()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.check()

    def check(self) -> None:
        """One refresh; nothing it raises may stop the watcher or a worker's boot."""
        try:
            self.refresh()
        except Exception as exc:  # noqa: BLE001 - the watcher must outlive any bad change
            log.error("models config check failed: %s", type(exc).__name__)
