"""The last accepted deployments, shared by every worker of a machine.

A worker that restarts (crash, ``max_requests``, timeout) while a bad config is
on disk cannot learn from the file what its siblings serve; it reads this file
instead and loads the same versions, through the same checks.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from mlservice.registry.spec import DeploymentSpec

log = logging.getLogger(__name__)


def default_state_dir() -> Path:
    shm = Path("/dev/shm")
    return (shm if shm.is_dir() else Path(tempfile.gettempdir())) / "mlservice"


class LastGood:
    """``last-good-<config hash>.json``: one file per models config path."""

    def __init__(self, state_dir: Path, config_path: Path) -> None:
        key = hashlib.sha256(os.path.abspath(config_path).encode()).hexdigest()[:16]  # not through symlinks
        self.path = state_dir / f"last-good-{key}.json"

    def read(self) -> dict[str, DeploymentSpec]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {name: DeploymentSpec.from_json(entry) for name, entry in raw.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable last-good state %s: %s", self.path, type(exc).__name__)
            return {}

    def write(self, specs: dict[str, DeploymentSpec]) -> None:
        """Atomic replace, so a reader never sees half a file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({name: spec.to_json() for name, spec in sorted(specs.items())}, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".last-good-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body)
        os.replace(tmp, self.path)
