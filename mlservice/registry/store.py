"""Artifacts named by URL: fetched once per host into a cache keyed by their pin.

An artifact at ``https://…/risk/1.1.0/model.joblib`` or ``s3://bucket/risk/1.1.0/model.joblib``
is that model file and the ``card.json`` beside it. Both are fetched (fsspec: aiohttp for
HTTP, s3fs for S3 with the standard AWS credential chain), checked against the pinned
digest in memory, and only then written, to a temporary folder renamed into place
(``<cache>/<sha256>/``): a folder there is always whole and always matched its pin. A lock
file per pin makes the workers and replicas of a host fetch it once. The loader then reads
and verifies the cached folder like any local artifact, so the digest makes any transport
safe, and a host that restarts while the store is down serves what it cached.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from mlservice.registry.artifact import artifact_digest
from mlservice.registry.card import CARD_FILE

log = logging.getLogger(__name__)

#: Schemes an artifact URL may have; ``http`` only where its entry says ``allow_http = true``.
SCHEMES = ("https", "s3", "http")
#: Every reason a fetch can fail for (``FetchError.reason``; the loader adds "cache").
FAILURE_REASONS = ("unreachable", "timeout", "missing", "partial", "too_large", "digest_mismatch", "error", "cache")
FETCH_TIMEOUT = 30.0
CACHE_MAX_BYTES = 4 * 1024**3
_PIN = re.compile(r"^[0-9a-f]{64}$")


class FetchError(OSError):
    """The artifact could not be fetched; ``reason`` is one of a few words (a metric label)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def default_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / "mlservice-artifact-cache"


def check_url(url: str, allow_http: bool) -> str:
    """``url`` if it may name an artifact, else ``ValueError`` saying why (never echoing credentials)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or (parts.scheme == "http" and not allow_http):
        allowed = "https or s3" + (", http" if allow_http else " (http only with allow_http = true)")
        raise ValueError(f"artifact URL scheme must be {allowed}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("artifact URL must not carry credentials, a query or a fragment "
                         "(S3: the AWS credential chain; HTTPS: a store that needs no secret in the URL)")
    if not parts.netloc or not PurePosixPath(parts.path).name:
        raise ValueError("artifact URL must name a host (or bucket) and the model file")
    return url


def cached_path(cache_dir: Path, sha256: str, url: str) -> Path:
    """Where the model file of the artifact pinned ``sha256`` lives once fetched."""
    return cache_dir / sha256 / PurePosixPath(urlsplit(url).path).name


def fetch(url: str, model_file: Path, sha256: str, max_bytes: int, timeout: float = FETCH_TIMEOUT) -> bool:
    """Make ``model_file``'s folder hold the artifact at ``url`` pinned ``sha256``; True if it was fetched now.

    Raises :class:`FetchError`: the store unreachable or too slow, an object missing, a
    download cut short, more than ``max_bytes``, or bytes that do not match the pin.
    """
    folder = model_file.parent
    if _complete(folder, model_file.name):
        os.utime(folder)  # recently used: evicted last
        return False
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _locked(folder.parent / f".{folder.name}.lock"):
        if _complete(folder, model_file.name):  # another worker or replica fetched it meanwhile
            return False
        files = _download(url, (model_file.name, CARD_FILE), max_bytes, timeout)
        actual = artifact_digest(files)
        if actual != sha256:
            raise FetchError("digest_mismatch", f"{_shown(url)} and its card have sha256 {actual[:12]}…, "
                                                f"the config pins {sha256[:12]}…")
        _write_whole(folder, files)
    log.info("artifact fetched url=%s sha256=%s", _shown(url), sha256[:12])
    return True


def evict(cache_dir: Path, pinned: Iterable[str], max_bytes: int = CACHE_MAX_BYTES) -> list[str]:
    """Remove cached artifacts no configured model pins, least recently used first, until the cache
    holds at most ``max_bytes``; return the pins removed."""
    keep = set(pinned)
    entries = [p for p in cache_dir.glob("*") if p.is_dir() and _PIN.match(p.name)] if cache_dir.is_dir() else []
    sizes = {p: sum(f.stat().st_size for f in p.iterdir() if f.is_file()) for p in entries}
    total = sum(sizes.values())
    removed = []
    for path in sorted((p for p in entries if p.name not in keep), key=lambda p: p.stat().st_mtime):
        if total <= max_bytes:
            break
        shutil.rmtree(path, ignore_errors=True)
        total -= sizes[path]
        removed.append(path.name)
    return removed


def _complete(folder: Path, model_name: str) -> bool:
    return (folder / model_name).is_file() and (folder / CARD_FILE).is_file()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _download(url: str, names: tuple[str, ...], max_bytes: int, timeout: float) -> dict[str, bytes]:
    """The files ``names`` of the folder ``url`` is in, each read whole or not at all."""
    import fsspec  # the transports load only when a config names a URL

    base = url.rsplit("/", 1)[0]
    fs, _ = fsspec.core.url_to_fs(url, skip_instance_cache=True, **_options(url, timeout))
    files: dict[str, bytes] = {}
    started = time.monotonic()
    for name in names:
        location = f"{base}/{name}"
        try:
            size = fs.size(location)
            if size is not None and size > max_bytes - sum(map(len, files.values())):
                raise FetchError("too_large", f"{_shown(location)} is larger than the limit of {max_bytes} bytes")
            data = fs.cat_file(location)
        except FetchError:
            raise
        except FileNotFoundError as exc:  # fsspec's answer to a 404, and to a store it could not ask
            cause = exc.__cause__ or exc.__context__
            raise _classified(location, cause or exc, time.monotonic() - started, timeout, "missing") from None
        except Exception as exc:  # noqa: BLE001 - every transport fails in its own types
            raise _classified(location, exc, time.monotonic() - started, timeout) from None
        if size is not None and len(data) != size:
            raise FetchError("partial", f"{_shown(location)}: {len(data)} of {size} bytes arrived")
        files[name] = data
    return files


def _options(url: str, timeout: float) -> dict[str, object]:
    if url.startswith("s3://"):
        return {"config_kwargs": {"connect_timeout": timeout, "read_timeout": timeout,
                                  "retries": {"max_attempts": 2, "mode": "standard"}}}
    import aiohttp

    return {"client_kwargs": {"timeout": aiohttp.ClientTimeout(total=timeout)}}


def _classified(location: str, exc: BaseException, seconds: float, timeout: float, otherwise: str = "error") -> FetchError:
    """One of a few reasons, from whatever the transport raised; ``otherwise`` when none fits."""
    text = f"{type(exc).__name__} {exc}".lower()
    if "timeout" in text or isinstance(exc, TimeoutError) or seconds >= timeout:
        return FetchError("timeout", f"{_shown(location)}: no complete answer within {timeout:g} s")
    if "payload" in text or "incomplete" in text or "content-length" in text or "not enough data" in text:
        return FetchError("partial", f"{_shown(location)}: the download was cut short")
    if any(word in text for word in ("connect", "refused", "unreachable", "name resolution", "endpoint")):
        return FetchError("unreachable", f"{_shown(location)}: the store cannot be reached")
    if otherwise == "missing" or getattr(exc, "errno", None) == errno.ENOENT or "404" in text or "nosuchkey" in text:
        return FetchError("missing", f"{_shown(location)} does not exist in the store")
    return FetchError(otherwise, f"{_shown(location)}: {type(exc).__name__}")


def _write_whole(folder: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into a temporary folder beside ``folder``, then rename it into place."""
    temporary = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name[:12]}-"))
    try:
        for name, data in files.items():
            with open(temporary / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temporary, 0o755)
        os.rename(temporary, folder)
    except OSError:
        shutil.rmtree(temporary, ignore_errors=True)
        if not folder.is_dir():
            raise


def _shown(url: str) -> str:
    """A URL as messages and logs may show it: scheme, host and path only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"
