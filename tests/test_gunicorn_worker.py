"""The worker's socket wrapper: headers and body leave in one write, and always in order."""
from __future__ import annotations

from typing import Any

from deploy.gunicorn_worker import HeldHeadersSocket, WholeResponseWorker
from gunicorn.workers.sync import SyncWorker


class Recorder:
    """A socket that records what was done to it, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def sendall(self, data: bytes) -> None:
        self.calls.append(("sendall", bytes(data)))

    def send(self, data: bytes) -> int:
        self.calls.append(("send", data))
        return len(data)

    def shutdown(self, how: int) -> None:
        self.calls.append(("shutdown", how))


def test_headers_wait_for_the_body_and_leave_with_it():
    raw = Recorder()
    sock = HeldHeadersSocket(raw)
    sock.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    assert raw.calls == []
    sock.sendall(memoryview(b'{"ok": true}'))
    sock.sendall(b"more")
    assert raw.calls == [("sendall", b'HTTP/1.1 200 OK\r\n\r\n{"ok": true}'), ("sendall", b"more")]


def test_any_other_use_sends_what_is_held_first():
    raw = Recorder()
    sock = HeldHeadersSocket(raw)
    sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")  # never held: the client waits for it
    sock.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")  # a response without a body
    sock.shutdown(1)
    assert raw.calls == [("send", b"HTTP/1.1 100 Continue\r\n\r\n"),
                         ("sendall", b"HTTP/1.1 204 No Content\r\n\r\n"), ("shutdown", 1)]


def test_it_is_still_gunicorns_sync_worker():
    assert issubclass(WholeResponseWorker, SyncWorker)
