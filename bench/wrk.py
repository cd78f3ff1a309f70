"""The load generator: wrk (Debian's package), bounded in time, POSTing one body.

wrk is C and event-driven, so on two cores it takes far less CPU per request
than any Python client would, and it reports latency percentiles itself.
``post.lua`` sets the body and prints one JSON line of results.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).with_name("post.lua")


@dataclass(frozen=True)
class Load:
    """What one wrk run measured."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str:
    """wrk's path; installs Debian's package when it is missing (needs root)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: apt-get install -y wrk", flush=True)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True, timeout=300)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update"], check=True, capture_output=True, timeout=300)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True, timeout=300)
    return shutil.which("wrk") or "wrk"


def run(url: str, body: Path, seconds: float, connections: int, threads: int = 1, method: str = "POST") -> Load:
    """Send ``body`` to ``url`` for ``seconds`` over ``connections`` connections."""
    out = subprocess.run(
        [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
         "-s", str(LUA), url],
        env={"BENCH_BODY": str(body), "BENCH_METHOD": method, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=seconds + 60, check=True,
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON "))
    r = json.loads(line.removeprefix("BENCH_JSON "))
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return Load(r["requests"], r["duration_us"] / 1e6, errors, r["p50_us"] / 1000, r["p99_us"] / 1000)
