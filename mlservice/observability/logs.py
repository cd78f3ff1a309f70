"""JSON log lines on stderr: one per request, and every other ``mlservice`` record.

Request lines are built from chosen fields (ids, route, status, timing, model),
never from the request: no body, no query string, no feature value can reach them.
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import orjson

ROOT_LOGGER = "mlservice"
ACCESS = logging.getLogger("mlservice.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per record; an exception is named by type only (its text may hold data)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = _entry(datetime.fromtimestamp(record.created, timezone.utc), record.levelname, record.name,
                       record.getMessage(), getattr(record, "fields", None) or {})
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
        return orjson.dumps(entry, default=str).decode()


def _entry(when: datetime, level: str, logger: str, message: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """One line's JSON object, the same whether logging formats it or ``access`` writes it."""
    return {"ts": when.isoformat(timespec="milliseconds"), "level": level, "logger": logger, "message": message,
            **fields}


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (pytest swaps it between tests)."""

    @property
    def stream(self) -> Any:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(level: str | int = "INFO") -> None:
    """Send ``mlservice.*`` records to stderr as JSON; idempotent, since tests build many apps."""
    logger = logging.getLogger(ROOT_LOGGER)
    if not any(isinstance(h, StderrHandler) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(level)


def access(**fields: Any) -> None:
    """The one line a request leaves; callers pass only fields that are safe to keep.

    When our stderr handler is the only one that would see it (as ``configure`` sets
    things up), the line is written directly: the same JSON, without a ``LogRecord``,
    the handler lock and the formatter, which cost about 40 µs, a tenth of a small
    request. Any other handler (an operator's, pytest's ``caplog``) gets the record.
    """
    if not ACCESS.isEnabledFor(logging.INFO):
        return
    handler = _sole_handler(ACCESS)
    if not isinstance(handler, StderrHandler) or handler.filters or ACCESS.filters or handler.level > logging.INFO:
        ACCESS.info("request", extra={"fields": fields})
        return
    entry = _entry(datetime.now(timezone.utc), "INFO", ACCESS.name, "request", fields)
    stream = handler.stream
    stream.write(orjson.dumps(entry, default=str, option=orjson.OPT_APPEND_NEWLINE).decode())
    stream.flush()


def _sole_handler(logger: logging.Logger) -> logging.Handler | None:
    """The one handler a record from ``logger`` would reach, or None if none or several."""
    handlers: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        handlers += current.handlers
        current = current.parent if current.propagate else None
    return handlers[0] if len(handlers) == 1 else None
