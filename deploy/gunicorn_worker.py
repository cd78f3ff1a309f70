"""A sync worker whose responses leave in one write, so a crash cannot truncate one.

gunicorn's sync worker sends a response's status line and headers with one
``sendall`` and its body with another. A worker that dies between the two (killed,
OOM, segfault) leaves nginx holding headers it has already passed to the client:
it cannot retry any more, and the client gets a truncated response. Under load,
4 of 30 replica kills did that to one request each. Holding the headers until the
first body write makes them one write: a worker that dies before it has sent
nothing, and nginx retries the request on another replica.

Loaded by the gunicorn master (``worker_class`` in ``gunicorn.conf.py``), so it must
not import ``mlservice``.
"""
from __future__ import annotations

from typing import Any

from gunicorn.workers.sync import SyncWorker


class HeldHeadersSocket:
    """A client socket whose first ``sendall`` (the headers) waits for the next (the body).

    Any other use of the socket (``send`` for a 100 Continue, ``sendfile``,
    ``shutdown``, ``close``) sends what is held first, so bytes always leave in order.
    """

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._held: bytes | None = None
        self._first = True

    def sendall(self, data: bytes) -> None:
        if self._first:
            self._first, self._held = False, bytes(data)
            return
        held, self._held = self._held, None
        self._sock.sendall(held + bytes(data) if held else data)

    def flush(self) -> None:
        held, self._held = self._held, None
        if held:
            self._sock.sendall(held)

    def __getattr__(self, name: str) -> Any:
        self.flush()
        return getattr(self._sock, name)


class WholeResponseWorker(SyncWorker):
    """gunicorn's sync worker, with each response's headers and body sent together."""

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        super().handle(listener, client if self.cfg.is_ssl else HeldHeadersSocket(client), addr)
