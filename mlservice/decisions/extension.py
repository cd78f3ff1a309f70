"""Decision records as a Flask extension: what each request answered, handed to the writer.

``DecisionLog`` is a Flask extension. A service notes what it answered (``note``), and
what the shadow answered when one ran, each as one line (``records.line_of``); after a 200
the lines go on the writer's queue, so a record exists exactly for each prediction served,
and no request waits for the store.
"""
from __future__ import annotations

import atexit
import time
from typing import Any

from flask import Flask, Response, current_app, g

from mlservice.decisions.policy import InputPolicy
from mlservice.decisions.records import line_of
from mlservice.decisions.settings import spool_dir, store_url
from mlservice.decisions.spool import Spool
from mlservice.decisions.store import RecordStore
from mlservice.decisions.writer import Writer
from mlservice.registry.contract import UseCase
from mlservice.registry.extension import EXTENSION as REGISTRY
from mlservice.registry.model import LoadedModel

EXTENSION = "decisions"


class DecisionLog:
    """Policies per use case, the store and this process's writer."""

    def init_app(self, app: Flask, use_cases: list[UseCase]) -> None:
        if not app.config["DECISIONS_ENABLED"]:
            return
        self.store = RecordStore(store_url(app.config))
        key = app.config.get("DECISIONS_HASH_KEY")
        inputs = app.config.get("DECISIONS_INPUTS") or {}
        self.policies = {u.name: InputPolicy.from_config(u.name, inputs.get(u.name, {}), _fields(u, inputs), _bytes(key))
                         for u in use_cases}
        self.inputs_days = float(app.config["DECISIONS_INPUTS_RETENTION_DAYS"])
        self.spool = Spool(spool_dir(app.config), int(app.config["DECISIONS_SPOOL_MAX_BYTES"]))
        self.writer = Writer(self.store, self.spool)
        self.registry = app.extensions[REGISTRY]
        app.extensions[EXTENSION] = self
        app.after_request(self._after)
        atexit.register(self.writer.flush)

    def note(self, use_case: str, model: LoadedModel, kind: str, inputs: Any, answer: Any) -> None:
        """The request's records, made now and handed to the writer after a 200 (``_after``). Every
        lookup here is on the request path, once: ``g`` is reached through one proxy look-up."""
        now = g._get_current_object()  # noqa: SLF001 - Flask's own way past the proxy
        head = (time.time(), now.get("request_id", ""), now.get("api_key_id"), use_case)
        deployment = self.registry.deployments.get(use_case)
        role = "default" if deployment is None else deployment.role_of(model)  # a V2 versioned path may reach any
        policy = self.policies[use_case]
        lines = [line_of(head, model.spec.identity, role, kind, inputs, answer, policy, self.inputs_days)]
        shadow = now.pop("shadow_answer", None)
        if shadow is not None:
            lines.append(line_of(head, shadow[0].spec.identity, "shadow", kind, inputs, shadow[1], policy,
                                 self.inputs_days))
        now.decisions = lines

    def _after(self, response: Response) -> Response:
        lines = g._get_current_object().pop("decisions", None)  # noqa: SLF001 - one proxy look-up, not two
        if lines is not None and response.status_code == 200:
            for line, rows in lines:
                self.writer.put(line, rows)
        return response


def note(use_case: str, model: LoadedModel, kind: str, inputs: Any, answer: Any) -> None:
    """Remember what this request answered (``records.line_of`` says what ``kind``, ``inputs`` and
    ``answer`` are), and what the shadow answered if one ran, for their records once the response is a 200."""
    log = current_app.extensions.get(EXTENSION)
    if log is not None:
        log.note(use_case, model, kind, inputs, answer)


def _fields(use_case: UseCase, inputs: dict[str, Any]) -> set[str]:
    if use_case.row_schema is None:
        return set(inputs.get(use_case.name, {}))  # no row schema to check the names against
    return set(use_case.row_schema().fields)


def _bytes(key: Any) -> bytes | None:
    return key.encode() if isinstance(key, str) else key
