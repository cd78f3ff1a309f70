"""Reading files named by a config that someone may get wrong, or turn against the service.

``Path.read_bytes()`` blocks forever on a FIFO (no writer), and reads ``/dev/zero``
or a huge file until memory runs out, in every worker at once. Here a file is
opened without blocking, checked to be a regular file no larger than a limit on
the open descriptor (so it cannot be swapped between check and read), and read
up to that limit. Reads of a regular local file do not block, so no timeout is
needed once the type is checked. Failures are ``OSError``s with a plain reason,
which every caller already reports.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

#: Config and key files: far above any real one, far below harm.
CONFIG_MAX_BYTES = 1024 * 1024
#: A card (ranges, golden rows, metrics, reference distributions).
CARD_MAX_BYTES = 16 * 1024 * 1024
#: Default for ``MODEL_MAX_BYTES``: a model file larger than this is refused unread.
MODEL_MAX_BYTES = 1024**3


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path``, refused when it is anything else or over ``max_bytes``."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        if info.st_size > max_bytes:
            raise OSError(errno.EFBIG, f"larger than the limit of {max_bytes} bytes", str(path))
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # grew since the check
        raise OSError(errno.EFBIG, f"larger than the limit of {max_bytes} bytes", str(path))
    return data


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs: files named after the worker that writes them (a spool's
    claims, monitoring's counts) are another worker's to take over once it has died."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True
