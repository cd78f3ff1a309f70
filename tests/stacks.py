"""The real stack (nginx + gunicorn on 127.0.0.1) for integration tests, and bounded load."""
from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from deploy.stack import Stack

#: Load in tests must never hit the production rate limit.
UNLIMITED = {"rate_per_second": 100000, "burst": 100000}


@contextmanager
def running_stack(run_dir: Path, **kwargs: Any) -> Iterator[Stack]:
    """A started stack, always stopped; rate limits off unless the test sets them."""
    with Stack(run_dir, **{**UNLIMITED, **kwargs}) as stack:
        yield stack


def example(spec: dict[str, Any], path: str) -> Any:
    """The request example the OpenAPI document gives for ``POST path``."""
    return spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["example"]


def assert_nginx_error(response: requests.Response, status: int) -> dict[str, Any]:
    """nginx's own answer, in the service's error shape, with a request id."""
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "status", "message"} and body["code"] == status
    assert response.headers["X-Request-ID"]
    return body


class Load:
    """Threads sending ``request(session)`` until ``seconds`` pass or each sent ``max_each``."""

    def __init__(self, request: Callable[[requests.Session], requests.Response], threads: int = 4,
                 seconds: float = 5.0, max_each: int = 3000) -> None:
        self.request, self.seconds, self.max_each = request, seconds, max_each
        self.outcomes: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        for thread in self._threads:
            thread.join(self.seconds + 30)

    def _run(self) -> None:
        deadline = self.started + self.seconds
        with requests.Session() as session:
            for _ in range(self.max_each):
                if time.monotonic() > deadline:
                    return
                try:
                    outcome = str(self.request(session).status_code)
                except requests.RequestException as exc:
                    outcome = type(exc).__name__
                with self._lock:
                    self.outcomes[outcome] += 1

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    def failed(self, ok: str = "200") -> int:
        return self.total - self.outcomes[ok]


def wait_until(predicate: Callable[[], Any], timeout: float, step: float = 0.05) -> float:
    """Seconds until ``predicate()`` is true; fails the test after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(step)
    return time.monotonic() - start
