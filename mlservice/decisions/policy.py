"""Which request fields a decision record may hold: ``omit`` (the default), ``hash`` or ``keep``.

Credit and diagnosis inputs are personal data. A field is left out of every record
unless the service config names it: ``hash`` stores a keyed HMAC-SHA256 of the value
(records can be joined on it; without the key it cannot be reversed or guessed by
trying values), ``keep`` stores the value itself (what replay needs), for as long as
``DECISIONS_INPUTS_RETENTION_DAYS`` allows.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

POLICIES = ("omit", "hash", "keep")


class PolicyError(ValueError):
    """The decisions config names an unknown policy, or ``hash`` without a key."""


@dataclass(frozen=True)
class InputPolicy:
    """Per field of one use case: what a record holds of it (absent: omit)."""

    fields: Mapping[str, str]
    key: bytes | None = None

    @classmethod
    def from_config(cls, use_case: str, table: Mapping[str, Any], known: set[str], key: bytes | None) -> InputPolicy:
        unknown = sorted(set(table) - known)
        if unknown:
            raise PolicyError(f"DECISIONS_INPUTS.{use_case} names fields the use case does not have: {unknown}")
        wrong = sorted(f for f, p in table.items() if p not in POLICIES)
        if wrong:
            raise PolicyError(f"DECISIONS_INPUTS.{use_case}: the policy of {wrong} must be one of {POLICIES}")
        fields = {f: p for f, p in table.items() if p != "omit"}
        if "hash" in fields.values() and not key:
            raise PolicyError("a hash policy needs DECISIONS_HASH_KEY (from the environment or a secret store)")
        return cls(fields, key)

    @property
    def records_inputs(self) -> bool:
        return bool(self.fields)

    @property
    def keeps(self) -> bool:
        return "keep" in self.fields.values()

    def apply(self, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
        """What a record holds of ``inputs``: kept values and hashes only; None when nothing."""
        if not self.fields:
            return None
        out = {}
        for field, policy in self.fields.items():
            if field in inputs:
                out[field] = inputs[field] if policy == "keep" else self.digest(inputs[field])
        return out

    def digest(self, value: Any) -> str:
        """HMAC-SHA256 of the value's canonical JSON, under the configured key."""
        data = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(self.key or b"", data, hashlib.sha256).hexdigest()
