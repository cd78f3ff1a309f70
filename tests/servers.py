"""Real servers on 127.0.0.1 for integration tests, always stopped, bounded in time."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(url: str, status: int = 200, timeout: float = 30.0) -> requests.Response:
    """Poll ``url`` until it answers ``status``; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == status:
                return response
            last = response.status_code
        except requests.ConnectionError as exc:
            last = type(exc).__name__
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer {status} within {timeout}s (last: {last})")


@contextlib.contextmanager
def gunicorn(port: int | None = None, workers: int = 2, env: dict[str, str] | None = None,
             log: Path | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """gunicorn with the repository's config, serving ``wsgi:app`` on 127.0.0.1."""
    port = port or free_port()
    full_env = {**os.environ, "MLSERVICE_BIND": f"127.0.0.1:{port}", "MLSERVICE_WORKERS": str(workers), **(env or {})}
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT, env=full_env, stdout=out, stderr=out, start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        stop(proc)
        if log:
            out.close()


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
