"""Where records go, from the service's config: the store's URL and the spool's folder."""
from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def store_url(config: Mapping[str, Any]) -> str:
    """``DECISIONS_URL``, else an SQLite file in ``$TMPDIR``: records with no setup."""
    return config.get("DECISIONS_URL") or f"sqlite:///{Path(tempfile.gettempdir()) / 'mlservice-decisions.sqlite3'}"


def spool_dir(config: Mapping[str, Any]) -> Path:
    return Path(config.get("DECISIONS_SPOOL_DIR") or Path(tempfile.gettempdir()) / "mlservice-decisions-spool")
