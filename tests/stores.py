"""Real artifact stores on 127.0.0.1 for the tests: nginx serving a folder over HTTP, and moto's S3 server."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from deploy.processes import NGINX, free_port, stop_process, wait_for_port

BUCKET = "mlservice-artifacts"


class HttpStore:
    """nginx serving ``folder`` at ``/artifacts/``, and again at ``/slow/`` at ``rate`` bytes per second."""

    def __init__(self, folder: Path, run_dir: Path, rate: str = "100k") -> None:
        self.folder, self.run_dir, self.rate = folder, run_dir, rate
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, path: str, slow: bool = False) -> str:
        return f"http://127.0.0.1:{self.port}/{'slow' if slow else 'artifacts'}/{path}"

    def start(self) -> HttpStore:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        conf = self.run_dir / "nginx.conf"
        conf.write_text(
            f"pid {self.run_dir}/nginx.pid;\nerror_log {self.run_dir}/error.log;\nevents {{}}\n"
            f"http {{ access_log off; client_body_temp_path {self.run_dir}; proxy_temp_path {self.run_dir};\n"
            f"  server {{ listen 127.0.0.1:{self.port};\n"
            f"    location /artifacts/ {{ alias {self.folder}/; }}\n"
            f"    location /slow/ {{ alias {self.folder}/; limit_rate {self.rate}; }} }} }}\n")
        self.proc = subprocess.Popen([NGINX, "-p", str(self.run_dir), "-c", str(conf), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for_port(f"127.0.0.1:{self.port}", 10)
        return self

    def stop(self) -> None:
        """nginx's fast shutdown: connections in progress are closed at once."""
        stop_process(self.proc, signal.SIGTERM, 10)
        self.proc = None


class S3Store:
    """moto's standalone S3 server with one bucket holding the committed artifacts under ``<name>/<version>/``."""

    def __init__(self, artifacts: Path, run_dir: Path) -> None:
        self.artifacts, self.run_dir = artifacts, run_dir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        """The standard AWS variables a client (the service included) finds the store with."""
        return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.port}"}

    def url(self, path: str) -> str:
        return f"s3://{BUCKET}/{path}"

    def start(self, upload: bool = True) -> S3Store:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.run_dir / "moto.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=log, stderr=log, start_new_session=True, cwd=self.run_dir)
        wait_for_port(f"127.0.0.1:{self.port}", 30)
        if upload:
            self.upload()
        return self

    def upload(self) -> None:
        import s3fs

        old = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            fs = s3fs.S3FileSystem(skip_instance_cache=True)
            fs.mkdir(BUCKET)
            for path in sorted(self.artifacts.rglob("*")):
                if path.is_file():
                    fs.pipe_file(f"{BUCKET}/{path.relative_to(self.artifacts)}", path.read_bytes())
        finally:
            for key, value in old.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGKILL, 5)
        self.proc = None
        time.sleep(0.1)
