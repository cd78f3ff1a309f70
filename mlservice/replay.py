"""``mlservice decisions replay``: re-score recorded inputs with a candidate model, before a swap.

The candidate comes from a models config (its pin, version and settings), and is
loaded and verified exactly as the service would load it. Only records whose inputs
were kept (``keep`` for every model input) can be replayed; the report says how many.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
import numpy as np

from mlservice.app import USE_CASES
from mlservice.classifier_service import ClassifierService
from mlservice.decisions.commands import decisions, open_store
from mlservice.decisions.store import RecordStore
from mlservice.diagnose.service import diagnoses
from mlservice.registry.loader import load_model
from mlservice.registry.spec import read_models_config
from mlservice.risk.service import assessments

SERVICES: dict[str, ClassifierService] = {"risk": assessments, "diagnose": diagnoses}
PROBABILITY = {"risk": "probability_of_default", "diagnose": "probability"}
WHY = {"risk": "reasons", "diagnose": "factors"}


def replay(use_case: str, candidate_config: Path, store: RecordStore, since: datetime | None = None) -> dict[str, Any]:
    """How the candidate would have answered the recorded requests, against what was answered."""
    if use_case not in SERVICES:
        raise ValueError(f"replay covers {', '.join(SERVICES)}: a recommendation has no inputs to keep")
    [contract] = [u for u in USE_CASES if u.name == use_case]
    spec = read_models_config(candidate_config)[use_case].default
    model = load_model(spec, contract)
    records = list(store.export(since, use_case))
    usable = [r for r in records if r["inputs"] and all(f in r["inputs"] for f in model.input_fields)]
    report: dict[str, Any] = {"use_case": use_case, "candidate": {"version": spec.version, "digest": spec.sha256},
                              "records": len(records), "replayed": len(usable)}
    if not usable:
        report["message"] = ("no record keeps every input of the model: set DECISIONS_INPUTS to keep them "
                             f"({', '.join(model.input_fields)}) to replay")
        return report
    service = SERVICES[use_case]
    rows = [[r["inputs"][f] for f in model.input_fields] for r in usable]
    answers = service.score_rows(model, rows)
    return {**report, **_compare(use_case, service.compared, [r["outputs"] for r in usable], answers)}


def _compare(use_case: str, compared: str, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, Any]:
    changes = Counter(f"{b[compared]} -> {a[compared]}" for b, a in zip(before, after) if b[compared] != a[compared])
    key, why = PROBABILITY[use_case], WHY[use_case]
    pairs = [(b[key], a[key]) for b, a in zip(before, after) if b[key] is not None and a[key] is not None]
    shift = np.array([a - b for b, a in pairs]) if pairs else np.zeros(0)
    reasons = sum([x["feature"] for x in b[why]] != [x["feature"] for x in a[why]] for b, a in zip(before, after))
    return {
        f"{compared}s_changed": sum(changes.values()), "changes": dict(sorted(changes.items())),
        "probability_shift": {"mean": float(shift.mean()) if len(shift) else 0.0,
                              "mean_absolute": float(np.abs(shift).mean()) if len(shift) else 0.0,
                              "max_absolute": float(np.abs(shift).max()) if len(shift) else 0.0},
        f"{why}_changed": int(reasons),
        "out_of_range_share": sum(bool(a["warnings"]) for a in after) / len(after),
    }


@decisions.command("replay")
@click.option("--use-case", required=True, help="risk or diagnose.")
@click.option("--candidate", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A models config naming the candidate (version, artifact, sha256, settings).")
@click.option("--since", type=click.DateTime(), help="Records from this time on (UTC).")
def replay_command(use_case: str, candidate: Path, since: datetime | None) -> None:
    """Re-score the kept inputs with a candidate model; print what would change (JSON)."""
    store, _ = open_store()
    click.echo(json.dumps(replay(use_case, candidate, store, since.replace(tzinfo=timezone.utc) if since else None),
                          indent=2))
