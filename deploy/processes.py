"""The processes of the loopback stack: gunicorn replicas and nginx, each in its own group.

Each process gets its own session (process group), so a test can kill a whole
replica (master and workers) at once, and Ctrl-C in the runner's terminal reaches
only the runner, which then stops everything in order.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from deploy import render

ROOT = Path(__file__).resolve().parents[1]
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
NGINX = "nginx"


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float, status: int = 200) -> None:
    """Poll ``url`` until it answers ``status``, or raise after ``timeout`` seconds."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = status_of(url)
        if last == status:
            return
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer {status} within {timeout}s (last: {last})")


def status_of(url: str) -> int | str:
    """``GET url``'s status, or the name of the error that stopped it.

    The standard library only: ``make stack`` runs on the service's own install,
    which has no HTTP client library.
    """
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError as exc:  # URLError (refused, timed out) included
        return type(exc).__name__


def wait_for_port(address: str, timeout: float) -> None:
    """Wait until ``host:port`` accepts a connection."""
    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {address} after {timeout}s") from None
            time.sleep(0.05)


def is_recorder(pid: int) -> bool:
    """Whether ``pid`` is the decision recorder a gunicorn master starts beside its workers."""
    with contextlib.suppress(OSError):
        return b"mlservice.decisions.recorder" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


def workers(master: int) -> list[int]:
    """A gunicorn master's workers: its children but the decision recorder it starts beside them."""
    return [pid for pid in children(master) if not is_recorder(pid)]


def children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (a gunicorn master's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return sorted(found)


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def stop_process(proc: subprocess.Popen | None, sig: int, timeout: float) -> None:
    """Send ``sig`` to the leader, wait, then SIGKILL the group; never leaves anything behind."""
    if proc is None:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    signal_group(proc, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


@dataclass
class Replica:
    """One gunicorn master with its workers, on its own port and metrics folder."""

    index: int
    run_dir: Path
    workers: int = 2
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.run_dir / f"replica-{self.index}.log"

    @property
    def metrics_dir(self) -> Path:
        return self.run_dir / f"replica-{self.index}-metrics"

    def start(self) -> None:
        self.metrics_dir.mkdir(parents=True, exist_ok=True)
        from mlservice.config import absolute_path_env  # the replica starts in ROOT, not where the user stands

        env = absolute_path_env({**os.environ, "MLSERVICE_BEHIND_PROXY": "true", **self.env,
                                 "MLSERVICE_BIND": self.address, "MLSERVICE_WORKERS": str(self.workers),
                                 "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir)})
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "--config", str(GUNICORN_CONF), "wsgi:app"],
                cwd=ROOT, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            )

    def wait_healthy(self, timeout: float = 60.0) -> None:
        wait_for(f"{self.url}/healthz", timeout)

    def worker_pids(self) -> list[int]:
        return [pid for pid in self._children() if not is_recorder(pid)]

    def recorder_pids(self) -> list[int]:
        """The decision recorder the master starts beside its workers (with decision records on)."""
        return [pid for pid in self._children() if is_recorder(pid)]

    def _children(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []

    def terminate(self) -> None:
        """Graceful: the master stops accepting and lets in-flight requests finish."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)

    def kill(self) -> None:
        """Abrupt: SIGKILL the master and every worker at once, as a crashed host would."""
        if self.proc:
            signal_group(self.proc, signal.SIGKILL)
            self.proc.wait(5)

    def stop(self, timeout: float = 35.0) -> None:
        stop_process(self.proc, signal.SIGTERM, timeout)


@dataclass
class Nginx:
    """nginx with its own main config, pid, logs and temp files under ``run_dir``."""

    run_dir: Path
    settings: render.NginxSettings
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.settings.listen}"

    @property
    def access_log(self) -> Path:
        return Path(self.settings.access_log)

    @property
    def error_log(self) -> Path:
        return Path(self.settings.error_log)

    def write_configs(self) -> Path:
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.run_dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        (self.run_dir / "mlservice.conf").write_text(render.site_config(self.settings))
        main = self.run_dir / "nginx.conf"
        main.write_text(render.main_config(self.run_dir))
        return main

    def start(self, timeout: float = 10.0) -> None:
        main = self.write_configs()
        command = [NGINX, "-p", str(self.run_dir), "-c", str(main), "-e", str(self.error_log)]
        check = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True, timeout=30)
        if check.returncode:
            raise RuntimeError(f"nginx refused {main}: {check.stderr.strip()}")
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for_port(self.settings.listen, timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGQUIT: stop accepting, finish what is in flight, exit."""
        stop_process(self.proc, signal.SIGQUIT, timeout)
