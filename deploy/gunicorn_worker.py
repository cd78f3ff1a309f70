"""A sync worker whose responses leave in one write, whose own errors are JSON, and
which no client can hold for long.

gunicorn's sync worker sends a response's status line and headers with one
``sendall`` and its body with another. A worker that dies between the two (killed,
OOM, segfault) leaves nginx holding headers it has already passed to the client:
it cannot retry any more, and the client gets a truncated response. Under load,
4 of 30 replica kills did that to one request each. Holding the headers until the
first body write makes them one write: a worker that dies before it has sent
nothing, and nginx retries the request on another replica.

gunicorn answers requests it cannot parse (a 5 KB request line, too many headers,
a lowercase method, ``HTTP/2.0``, a ``SCRIPT_NAME`` header) itself, with an HTML page
that repeats the request line, and logs the line. Here those answers are the
service's one error shape with a request id, and the log names only the kind of
error. A client socket gets a timeout, so a client that stops sending (a
``Content-Length`` larger than its body, headers sent a byte a second) frees the
worker after ``CLIENT_TIMEOUT`` seconds instead of holding it until gunicorn kills it.

Loaded by the gunicorn master (``worker_class`` in ``gunicorn.conf.py``), so it must
not import ``mlservice``.
"""
from __future__ import annotations

import json
import os
import uuid
from http import HTTPStatus
from typing import Any

from gunicorn.http import errors
from gunicorn.workers.sync import SyncWorker

#: Seconds a client may stay silent mid-request; below gunicorn's ``timeout`` (30 s) and equal to nginx's.
CLIENT_TIMEOUT = float(os.environ.get("MLSERVICE_CLIENT_TIMEOUT", "10"))

#: gunicorn's own refusals: status and what the client is told (never what it sent).
REFUSALS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], int, str], ...] = (
    (errors.LimitRequestLine, 414, "The request line is too long."),
    (errors.LimitRequestHeaders, 431, "The request has too many or too large headers."),
    (errors.UnsupportedTransferCoding, 501, "This Transfer-Encoding is not supported."),
    (errors.ExpectationFailed, 417, "This Expect header is not supported."),
    (errors.ForbiddenProxyRequest, 403, "Proxy requests are not allowed from this address."),
    ((errors.InvalidChunkSize, errors.ChunkMissingTerminator, errors.InvalidChunkExtension), 400,
     "The chunked request body is malformed."),
    (errors.ParseException, 400, "The request is malformed."),
)


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


def refusal(exc: BaseException) -> tuple[int, str]:
    """Status and message for an error gunicorn raised while reading a request; 500 for anything else."""
    if isinstance(exc, (errors.InvalidResponseHeader, errors.InvalidResponseHeaderName)):
        return 500, "Internal server error."
    for kinds, status, message in REFUSALS:
        if isinstance(exc, kinds):
            return status, message
    return 500, "Internal server error."


def error_answer(status: int, message: str) -> bytes:
    """A whole HTTP response in the service's error shape (``mlservice.errors``), with a fresh request id."""
    body = json.dumps({"code": status, "status": HTTPStatus(status).phrase, "message": message},
                      separators=(",", ":")).encode()
    head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"X-Request-ID: {uuid.uuid4().hex}\r\nX-Content-Type-Options: nosniff\r\n\r\n")
    return head.encode("latin-1") + body


class WholeResponseWorker(SyncWorker):
    """gunicorn's sync worker, with each response's headers and body sent together."""

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        client.settimeout(CLIENT_TIMEOUT)
        super().handle(listener, client if self.cfg.is_ssl else HeldHeadersSocket(client), addr)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """gunicorn's own error answer, in the one JSON shape; logged by kind, never by content."""
        status, message = refusal(exc)
        if status >= 500:
            self.log.error("error handling request: %s", type(exc).__name__)
        else:
            self.log.warning("refused a malformed request (%s): %s", status, type(exc).__name__)
        try:
            client.sendall(error_answer(status, message))
        except Exception:  # noqa: BLE001 - the client may be gone; nothing else to do
            self.log.debug("could not send the error answer")
