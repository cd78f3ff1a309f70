"""A bounded load generator: a few threads posting until stopped or out of time."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class Outcome:
    at: float
    status: int  # 0 = connection error
    body: dict[str, Any] | None


@dataclass
class Load:
    url: str
    body: Callable[[int], dict[str, Any]]
    threads: int = 3
    max_seconds: float = 120.0
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(self.threads)]

    def __enter__(self) -> "Load":
        self._deadline = time.monotonic() + self.max_seconds
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(15)

    def _run(self, index: int) -> None:
        session = requests.Session()
        n = 0
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            n += 1
            try:
                response = session.post(self.url, json=self.body(index * 1_000_000 + n), timeout=10)
                outcome = Outcome(time.monotonic(), response.status_code, response.json())
            except (requests.RequestException, ValueError):
                outcome = Outcome(time.monotonic(), 0, None)
            with self._lock:
                self.outcomes.append(outcome)

    def since(self, t: float) -> list[Outcome]:
        with self._lock:
            return [o for o in self.outcomes if o.at >= t]

    def failures(self) -> list[Outcome]:
        with self._lock:
            return [o for o in self.outcomes if o.status != 200]
