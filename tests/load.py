"""A bounded load generator: threads sending one request after another, every outcome kept."""
from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class Outcome:
    at: float
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    version: str | None  # the model version a prediction names, if any


class Load:
    """``request(session)`` from ``threads`` threads for at most ``seconds`` and ``max_each`` requests each.

    By default the load runs its full time even after the ``with`` body ends (a
    fault injected in the body is then surrounded by load); ``stop_on_exit``
    ends it with the body instead.
    """

    def __init__(self, request: Callable[[requests.Session], requests.Response], threads: int = 4,
                 seconds: float = 5.0, max_each: int = 100_000, stop_on_exit: bool = False) -> None:
        self.request, self.seconds, self.max_each, self.stop_on_exit = request, seconds, max_each, stop_on_exit
        self.results: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> "Load":
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.stop_on_exit:
            self._stop.set()
        for thread in self._threads:
            thread.join(self.seconds + 30)

    def _run(self) -> None:
        deadline = self.started + self.seconds
        with requests.Session() as session:
            for _ in range(self.max_each):
                if self._stop.is_set() or time.monotonic() > deadline:
                    return
                outcome = _send(self.request, session)
                with self._lock:
                    self.results.append(outcome)

    @property
    def outcomes(self) -> Counter[int]:
        """Requests per status (0 = no answer), for messages."""
        with self._lock:
            return Counter(o.status for o in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    def failed(self) -> int:
        """Requests that got no 200 (no answer included)."""
        with self._lock:
            return sum(o.status != 200 for o in self.results)

    def since(self, t: float) -> list[Outcome]:
        with self._lock:
            return [o for o in self.results if o.at >= t]


def _send(request: Callable[[requests.Session], requests.Response], session: requests.Session) -> Outcome:
    try:
        response = request(session)
    except requests.RequestException:
        return Outcome(time.monotonic(), 0, None)
    try:
        model = response.json().get("model")
    except (ValueError, AttributeError):
        model = None
    return Outcome(time.monotonic(), response.status_code, model.get("version") if isinstance(model, dict) else None)


def numbered(make: Callable[[int], dict], url: str) -> Callable[[requests.Session], requests.Response]:
    """A request posting ``make(n)`` for n = 0, 1, 2, ... across all threads."""
    counter = itertools.count()
    return lambda session: session.post(url, json=make(next(counter)), timeout=10)
