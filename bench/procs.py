"""gunicorn servers on 127.0.0.1 for the harness: start, time to ready, CPU and memory from /proc."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deploy.processes import GUNICORN_CONF, ROOT, children, free_port, status_of, stop_process
GUNICORN = Path(sys.executable).parent / "gunicorn"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """One gunicorn master and its workers, started by :func:`serve`."""

    name: str
    url: str
    proc: subprocess.Popen
    ready_seconds: float
    #: Where the server's decision records wait for its recorder (None with records off).
    spool: Path | None = None

    def pids(self) -> list[int]:
        """The master, then its workers."""
        return [self.proc.pid, *children(self.proc.pid)]

    def cpu_seconds(self) -> float:
        """utime + stime of the master and every worker, now."""
        return sum(cpu_seconds(pid) for pid in self.pids())


@contextlib.contextmanager
def serve(name: str, app: str, log: Path, env: dict[str, str], ready_path: str = "/readyz",
          config: Path = GUNICORN_CONF) -> Iterator[Server]:
    """gunicorn with ``config`` (the repository's by default) and 2 sync workers, stopped on exit.

    ``max_requests`` is off (``MLSERVICE_MAX_REQUESTS=0``) so that no worker is
    recycled mid-run, which would lose its CPU counters and charge a reload.
    """
    port = free_port()
    full_env = {**os.environ, **env, "MLSERVICE_BIND": f"127.0.0.1:{port}", "MLSERVICE_WORKERS": "2",
                "MLSERVICE_MAX_REQUESTS": "0"}
    with open(log, "ab") as out:
        start = time.monotonic()
        proc = subprocess.Popen(
            [str(GUNICORN), "--config", str(config), app],
            cwd=ROOT, env=full_env, stdout=out, stderr=out, start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            ready = wait_ready(url + ready_path, proc, start, timeout=60.0)
            records_on = full_env.get("MLSERVICE_DECISIONS_ENABLED", "true").lower() not in ("false", "0")
            spool = Path(env["MLSERVICE_DECISIONS_SPOOL_DIR"]) if records_on and "MLSERVICE_DECISIONS_SPOOL_DIR" in env else None
            yield Server(name, url, proc, ready, spool)
        finally:
            stop_process(proc, signal.SIGTERM, timeout=30.0)


def wait_ready(url: str, proc: subprocess.Popen, start: float, timeout: float) -> float:
    """Seconds from ``start`` until ``url`` answers 200 (polled every 10 ms)."""
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready; see its log")
        if status_of(url) == 200:
            return time.monotonic() - start
        time.sleep(0.01)
    raise TimeoutError(f"{url} not ready within {timeout}s")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory_kib(pid: int) -> dict[str, int]:
    """PSS, RSS and private (USS) memory of one process, in KiB, from smaps_rollup."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        values[key] = int(rest.split()[0])
    return {"pss": values["Pss"], "rss": values["Rss"],
            "uss": values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)}


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used since boot (``/proc/stat``), all cores."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


def busy_processes(own: set[int], threshold: float = 5.0, window: float = 1.0) -> list[str]:
    """Other processes using more than ``threshold`` % of a core over ``window`` seconds."""
    before = {pid: cpu_seconds(pid) for pid in _all_pids()}
    time.sleep(window)
    busy = []
    for pid, then in before.items():
        used = (cpu_seconds(pid) - then) / window * 100
        if pid not in own and used > threshold:
            busy.append(f"{pid} {_command(pid)} {used:.0f}%")
    return busy


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:80].strip()
    except OSError:
        return "?"


def import_seconds(statement: str, runs: int = 3) -> float:
    """Median wall time of a fresh interpreter running ``statement``: what start-up pays before any app code."""
    times = []
    for _ in range(runs):
        start = time.monotonic()
        subprocess.run([sys.executable, "-c", statement], cwd=ROOT, check=True, capture_output=True, timeout=120)
        times.append(time.monotonic() - start)
    return sorted(times)[len(times) // 2]
