"""``mlservice decisions export``, ``expire`` and ``record``: reading records out, applying the
retention, and the host's recorder."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

import click
from flask import Flask

from mlservice.config import load_config
from mlservice.decisions import recorder
from mlservice.decisions.settings import store_url
from mlservice.decisions.store import RecordStore


def open_store() -> tuple[RecordStore, Flask]:
    """The store the service's config names (``MLSERVICE_CONFIG``, ``MLSERVICE_DECISIONS_URL``)."""
    app = Flask("mlservice")
    load_config(app)
    return RecordStore(store_url(app.config)), app


@click.group("decisions")
def decisions() -> None:
    """Decision records: export them, apply the retention (docs/decisions.md)."""


@decisions.command("export")
@click.option("--since", type=click.DateTime(), help="Records from this time on (UTC).")
@click.option("--use-case", help="Only this use case's records.")
def export(since: datetime | None, use_case: str | None) -> None:
    """Print records as JSON lines, oldest first."""
    store, _ = open_store()
    store.migrate()
    since = since.replace(tzinfo=timezone.utc) if since else None
    for record in store.export(since, use_case):
        sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")


@decisions.command("expire")
def expire() -> None:
    """Delete records older than DECISIONS_RETENTION_DAYS and kept inputs past their date."""
    store, app = open_store()
    store.migrate()
    records, inputs = store.expire(float(app.config["DECISIONS_RETENTION_DAYS"]))
    click.echo(f"removed {records} records and the kept inputs of {inputs}")



@decisions.command("record")
def record() -> None:
    """Write the records every worker spools into the store, until SIGTERM (then drain).

    The gunicorn master starts this (as ``python -m mlservice.decisions.recorder``) beside
    its workers; run it yourself to record from a separate container of the same pod.
    """
    recorder.main()
