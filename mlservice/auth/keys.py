"""API keys with scopes, stored only as SHA-256 digests.

Keys are random 256-bit tokens, so an unsalted SHA-256 is enough to make a
leaked keys file useless (no dictionary to try), and it keeps lookup cheap.
A presented key is hashed and compared with every stored digest in constant
time, so timing reveals neither which key nor how much of it matched.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlservice.files import CONFIG_MAX_BYTES, read_bounded

#: Scopes every deployment knows; ``predict:<use case>`` scopes are added per use case (``scopes_for``).
BASE_SCOPES = ("predict", "admin", "feedback")
KEY_PREFIX = "mls_"


def scopes_for(use_cases: Iterable[str]) -> tuple[str, ...]:
    """Every scope a key may hold: ``predict`` (all use cases), ``admin``, and ``predict:<use case>``."""
    return (*BASE_SCOPES, *(f"predict:{name}" for name in use_cases))


class KeyConfigError(ValueError):
    """The keys file or environment entry is malformed (never includes key material)."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    sha256: str
    scopes: frozenset[str]
    rate_per_second: int | None = None  # nginx's per-key limit for this key (deploy/render.py)

    def grants(self, scope: str) -> bool:
        """``predict`` covers every ``predict:<use case>``."""
        return scope in self.scopes or (scope.startswith("predict:") and "predict" in self.scopes)


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyStore:
    """Look up a presented key; ``None`` when it matches no stored digest."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self.keys = keys

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, presented: str) -> ApiKey | None:
        wanted = digest(presented).encode()
        found = None
        for key in self.keys:
            if hmac.compare_digest(wanted, key.sha256.encode()):
                found = key
        return found

    @classmethod
    def load(cls, keys_file: str | None, env_keys: str | list | None,
             scopes: Iterable[str] = BASE_SCOPES) -> "KeyStore":
        """Keys from a TOML file of digests and/or a list of plaintext keys (from a secret store).

        ``env_keys`` is ``MLSERVICE_API_KEYS``: Flask's prefixed-env loader has
        usually decoded its JSON already, so a list is taken as it is.
        """
        allowed = frozenset(scopes)
        keys = _from_file(Path(keys_file), allowed) if keys_file else []
        keys += _from_env(env_keys, allowed) if env_keys else []
        return cls(keys)


def _from_file(path: Path, allowed: frozenset[str]) -> list[ApiKey]:
    try:
        raw = tomllib.loads(read_bounded(path, CONFIG_MAX_BYTES).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KeyConfigError(f"keys file {path} is unreadable: {type(exc).__name__}") from None
    entries = raw.get("keys", [])
    if not isinstance(entries, list):
        raise KeyConfigError(f"keys file {path}: keys must be an array of tables ([[keys]])")
    return [_entry(e, e.get("sha256") if isinstance(e, dict) else None, f"{path} [[keys]] #{i}", allowed)
            for i, e in enumerate(entries)]


def _from_env(value: str | list, allowed: frozenset[str]) -> list[ApiKey]:
    try:
        raw = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        raise KeyConfigError("MLSERVICE_API_KEYS is not valid JSON") from None
    if not isinstance(raw, list):
        raise KeyConfigError("MLSERVICE_API_KEYS must be a JSON list")
    return [_entry(e, digest(e["key"]) if isinstance(e, dict) and isinstance(e.get("key"), str) else None,
                   f"MLSERVICE_API_KEYS entry #{i}", allowed) for i, e in enumerate(raw)]


def _entry(raw: Any, sha256: str | None, where: str, allowed: frozenset[str]) -> ApiKey:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(sha256, str):
        raise KeyConfigError(f"{where} needs an id and a key digest")
    scopes = raw.get("scopes")
    if not isinstance(scopes, list) or not scopes or not set(scopes) <= allowed:
        raise KeyConfigError(f"{where} ({raw['id']}) needs scopes from {sorted(allowed)}")
    if len(sha256) != 64:
        raise KeyConfigError(f"{where} ({raw['id']}) sha256 is not 64 hex digits")
    rate = raw.get("rate_per_second")
    if rate is not None and (type(rate) is not int or not 1 <= rate <= 100_000):
        raise KeyConfigError(f"{where} ({raw['id']}) rate_per_second must be an integer from 1 to 100000")
    return ApiKey(raw["id"], sha256.lower(), frozenset(scopes), rate)
