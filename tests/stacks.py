"""The real stack (nginx + gunicorn on 127.0.0.1) for integration tests, and reading its answers and metrics."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

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


def wait_until(predicate: Callable[[], Any], timeout: float, step: float = 0.05) -> float:
    """Seconds until ``predicate()`` is true; fails the test after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(step)
    return time.monotonic() - start


def scrape(url: str) -> str:
    """``/metrics`` of ``url``, checked to be Prometheus text."""
    response = requests.get(f"{url}/metrics", timeout=5)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    return response.text


def value(text: str, name: str, labels: dict[str, str]) -> float:
    """The samples ``name`` of a scrape whose labels include ``labels``, added up (one sample when
    ``labels`` names them all); 0 when there is none (a counter not yet incremented)."""
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and labels.items() <= sample.labels.items())
