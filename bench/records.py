"""Decision records' cost: the same service with recording off and on, alternating, and the recorder's CPU.

The recorder works at the lowest priority, so its work waits for CPU that serving leaves.
After each timed run of a server that records (``procs.Server.spool``) the harness waits
until that run's records are in the store: no run of any server pays for records made in
an earlier one. What the recorder spent is measured over the whole pair and reported per
record beside the ratio.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import procs
from deploy.processes import is_recorder

#: The writer's linger (``mlservice.decisions.writer.LINGER``) and a margin: a slice's last lines reach
#: the spool no later than this after the slice.
HAND_OFF_SECONDS = 0.7
#: A slice's records are in the store within this, or the run says so.
SETTLE_LIMIT_SECONDS = 30.0


def on_env(env: dict[str, str], run_dir: Path) -> dict[str, str]:
    return {**env, "MLSERVICE_DECISIONS_ENABLED": "true",
            "MLSERVICE_DECISIONS_URL": f"sqlite:///{run_dir / 'decisions.sqlite3'}",
            "MLSERVICE_DECISIONS_SPOOL_DIR": str(run_dir / "decisions-spool")}


def settler(spool: Path) -> tuple[Callable[[], None], list[float]]:
    """A function that waits until ``spool`` is empty, and the list of how long each wait took."""
    waits: list[float] = []

    def settle() -> None:
        waits.append(settle_spool(spool))

    return settle, waits


def settle_spool(spool: Path) -> float:
    """Wait (untimed by the caller) until a slice's records have left ``spool``; the seconds it took."""
    start = time.monotonic()
    time.sleep(HAND_OFF_SECONDS)
    while spool.is_dir() and any(p.name.endswith(".rows.json") for p in spool.iterdir()):
        if time.monotonic() - start > SETTLE_LIMIT_SECONDS:
            break
        time.sleep(0.02)
    return time.monotonic() - start


def recorder_pid(server: procs.Server) -> int | None:
    return next((pid for pid in server.pids() if is_recorder(pid)), None)


def written(run_dir: Path) -> int:
    """Records in the store (0 before the recorder has made its table)."""
    with sqlite3.connect(run_dir / "decisions.sqlite3") as db:
        try:
            return db.execute("SELECT count(*) FROM mlservice_decisions").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def summary(on: dict[str, Any], recorder_cpu_s: float, records: int, waits: list[float]) -> dict[str, Any]:
    """The "on" run with what its records cost outside its slices."""
    return on | {"records_written": records, "recorder_us_per_record": recorder_cpu_s / max(records, 1) * 1e6,
                 "settle_s": sum(waits) / max(len(waits), 1)}


def remove_store(run_dir: Path) -> None:
    for path in run_dir.glob("decisions.sqlite3*"):
        path.unlink()
