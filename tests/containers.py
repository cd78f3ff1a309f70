"""The project's image, built and run with podman on 127.0.0.1 for the integration tests.

No registry is reachable from the test machines, so the base comes from Debian's
packages (``scripts/base-image.sh``: mmdebstrap, then ``podman import``; kept by
podman between runs) and the image is built on it by the project's own
``scripts/build-image.sh``, as ``make image`` builds it. Containers share the
host's network (each listens on its own loopback port) and run with runc: on
these machines crun cannot set rlimits (../shared/notes/containers.md).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import requests

from deploy import render
from deploy.processes import ROOT, Nginx, free_port
from tests.stacks import UNLIMITED

BASE = "localhost/python-base:bookworm"
TAG = "localhost/mlservice:test"
RUN_FLAGS = ("--network", "host", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    runtime = ("--runtime", "/usr/sbin/runc") if Path("/usr/sbin/runc").exists() else ()
    return subprocess.run(["podman", *runtime, *args], capture_output=True, text=True, timeout=timeout, check=check)


def build_image() -> tuple[str, float]:
    """(tag, seconds to build) of the image on a Debian-built base, both made when missing or stale."""
    for tool in ("podman", "mmdebstrap"):
        assert shutil.which(tool), f"{tool} is needed (make test installs it: scripts/install-system-deps.sh)"
    subprocess.run([str(ROOT / "scripts" / "base-image.sh"), BASE], check=True, capture_output=True, timeout=600)
    start = time.monotonic()
    env = {"BASE": BASE, "PIP": f"{sys.executable} -m pip", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    built = subprocess.run([str(ROOT / "scripts" / "build-image.sh"), TAG], capture_output=True, text=True,
                           timeout=900, env=env, cwd=ROOT)
    if built.returncode:
        pytest.fail(f"image build failed:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}")
    return TAG, time.monotonic() - start


def inspect(tag: str) -> dict[str, Any]:
    [info] = json.loads(podman("image", "inspect", tag).stdout)
    return info


class Container:
    """One container of the image on ``127.0.0.1:port``, read-only root filesystem, removed on ``remove``."""

    def __init__(self, image: str, name: str, *, volumes: Sequence[str] = (), env: dict[str, str] | None = None):
        self.image, self.name, self.port = image, name, free_port()
        self.volumes, self.env = list(volumes), dict(env or {})
        self.started_at = 0.0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> Container:
        podman("rm", "--force", self.name, check=False)
        env = {"MLSERVICE_BIND": self.address, "MLSERVICE_WORKERS": "2", **self.env}
        args = ["run", "--detach", "--name", self.name, "--read-only", *RUN_FLAGS]
        args += [f"--env={k}={v}" for k, v in env.items()] + [f"--volume={v}" for v in self.volumes]
        self.started_at = time.monotonic()
        podman(*args, self.image)
        return self

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds from ``start`` to the first ``/readyz`` 200."""
        while time.monotonic() - self.started_at < timeout:
            try:
                if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - self.started_at
            except requests.RequestException:
                pass
            if self.state() not in ("running", "created", "configured"):
                pytest.fail(f"container {self.name} is {self.state()}:\n{self.logs()[-3000:]}")
            time.sleep(0.05)
        pytest.fail(f"container {self.name} not ready within {timeout}s:\n{self.logs()[-3000:]}")

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return podman("exec", self.name, *command, check=False, timeout=30)

    def signal(self, name: str) -> None:
        podman("kill", "--signal", name, self.name)

    def state(self) -> str:
        done = podman("inspect", "--format", "{{.State.Status}}", self.name, check=False)
        return done.stdout.strip() or "gone"

    def exit_code(self) -> int:
        return int(podman("inspect", "--format", "{{.State.ExitCode}}", self.name).stdout.strip())

    def logs(self) -> str:
        done = podman("logs", self.name, check=False)
        return done.stdout + done.stderr

    def remove(self) -> None:
        podman("rm", "--force", "--time", "0", self.name, check=False)


def nginx_in_front(run_dir: Path, containers: Sequence[Container]) -> Nginx:
    """The project's nginx (not started) with ``containers`` as its upstreams, rate limits off."""
    return Nginx(run_dir, render.NginxSettings(
        listen=f"127.0.0.1:{free_port()}", upstreams=tuple(c.address for c in containers),
        client_max_body_size=render.app_setting("MAX_CONTENT_LENGTH"), **UNLIMITED,
        access_log=str(run_dir / "access.log"), error_log=str(run_dir / "error.log")))
