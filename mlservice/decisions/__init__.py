"""Decision records: every prediction traceable (docs/decisions.md).

``DecisionLog`` is a Flask extension. A service notes what it answered (``note``);
after a 200 the note becomes a ``Pending`` record on the writer's queue, so a record
exists exactly for each prediction served, and no request waits for the store.
"""
from __future__ import annotations

import atexit
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g

from mlservice.decisions.policy import InputPolicy
from mlservice.decisions.records import Pending, rows_of
from mlservice.decisions.store import RecordStore
from mlservice.decisions.writer import Writer
from mlservice.registry.contract import UseCase
from mlservice.registry.extension import registry
from mlservice.registry.model import LoadedModel

EXTENSION = "decisions"


class DecisionLog:
    """Policies per use case, the store and this process's writer."""

    def init_app(self, app: Flask, use_cases: list[UseCase]) -> None:
        if not app.config["DECISIONS_ENABLED"]:
            return
        self.store = RecordStore(app.config.get("DECISIONS_URL") or default_url())
        key = app.config.get("DECISIONS_HASH_KEY")
        inputs = app.config.get("DECISIONS_INPUTS") or {}
        self.policies = {u.name: InputPolicy.from_config(u.name, inputs.get(u.name, {}), _fields(u, inputs), _bytes(key))
                         for u in use_cases}
        self.inputs_days = float(app.config["DECISIONS_INPUTS_RETENTION_DAYS"])
        spool = Path(app.config.get("DECISIONS_SPOOL_DIR") or Path(tempfile.gettempdir()) / "mlservice-decisions-spool")
        self.writer = Writer(self.store, self.expand, spool, int(app.config["DECISIONS_SPOOL_MAX_BYTES"]))
        app.extensions[EXTENSION] = self
        app.after_request(self._after)
        atexit.register(self.writer.flush)

    def expand(self, pending: Pending) -> list[dict[str, Any]]:
        return rows_of(pending, self.policies[pending.use_case], self.inputs_days)

    def _after(self, response: Response) -> Response:
        noted = g.pop("decision", None)
        if noted is not None and response.status_code == 200:
            use_case, model, kind, data = noted
            deployment = registry().deployments.get(use_case)
            role = "canary" if deployment is not None and deployment.canary is model else "default"
            self.writer.put(Pending(datetime.now(timezone.utc), g.get("request_id", ""), g.get("api_key_id"),
                                    use_case, (model.spec.name, model.spec.version, model.spec.sha256), role,
                                    kind, data))
        return response


def note(use_case: str, model: LoadedModel, kind: str, data: Any) -> None:
    """Remember what this request answered, for its record once the response is a 200."""
    if EXTENSION in current_app.extensions:
        g.decision = (use_case, model, kind, data)


def default_url() -> str:
    return f"sqlite:///{Path(tempfile.gettempdir()) / 'mlservice-decisions.sqlite3'}"


def _fields(use_case: UseCase, inputs: dict[str, Any]) -> set[str]:
    if use_case.row_schema is None:
        return set(inputs.get(use_case.name, {}))  # no row schema to check the names against
    return set(use_case.row_schema().fields)


def _bytes(key: Any) -> bytes | None:
    return key.encode() if isinstance(key, str) else key
