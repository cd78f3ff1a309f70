"""The whole stack on loopback: nginx in front of gunicorn replicas, one command.

    .venv/bin/python deploy/stack.py            # or: make stack
    .venv/bin/python deploy/stack.py render --upstream 10.0.0.5:8000 --upstream 10.0.0.6:8000

The first writes every config into a run directory (``run/`` by default), starts
the replicas, waits until they answer, starts nginx, prints the URL and runs until
Ctrl-C or SIGTERM, then stops nginx first (no new requests) and the replicas
gracefully. A replica that exits meanwhile is restarted and the runner says so,
as systemd's ``Restart=`` does in production (docs/systemd/mlservice@.service);
one that keeps exiting stops the stack. ``render`` only prints the nginx site file for a real deployment.
Tests use :class:`Stack` as a context manager.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``deploy`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy import render  # noqa: E402
from deploy.processes import ROOT, Nginx, Replica, free_port, wait_for  # noqa: E402


#: As systemd: wait this long before a restart; give up after this many restarts within the window.
RESTART_SECONDS, RESTART_LIMIT, RESTART_WINDOW = 2.0, 5, 60.0

#: nginx's defaults live in one place, ``render.NginxSettings``; the stack and the CLI take theirs from it.
DEFAULTS = render.NginxSettings


class Stack:
    """nginx + ``replicas`` gunicorn masters of ``workers`` workers each, all on 127.0.0.1."""

    def __init__(self, run_dir: Path, *, replicas: int = 2, workers: int = 2, port: int | None = None,
                 env: Mapping[str, str] | None = None, rate_per_second: int = DEFAULTS.rate_per_second,
                 burst: int = DEFAULTS.burst, admin_allow: tuple[str, ...] = DEFAULTS.admin_allow,
                 key_rate_per_second: int | None = None, key_burst: int | None = None) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.env = dict(env or {})
        self.replicas = [Replica(i, self.run_dir, workers, env=self.env) for i in range(replicas)]
        self.nginx = Nginx(self.run_dir / "nginx", render.NginxSettings(
            listen=f"127.0.0.1:{port or free_port()}",
            upstreams=tuple(r.address for r in self.replicas),
            client_max_body_size=render.app_setting("MAX_CONTENT_LENGTH", self.env),
            rate_per_second=rate_per_second, burst=burst, admin_allow=admin_allow,
            key_rate_per_second=key_rate_per_second, key_burst=key_burst, key_rates=render.key_rates_of(self.env),
            access_log=str(self.run_dir / "nginx" / "access.log"), error_log=str(self.run_dir / "nginx" / "error.log"),
        ))

    @property
    def url(self) -> str:
        return self.nginx.url

    def start(self, timeout: float = 90.0) -> Stack:
        """Start every replica, wait until each answers, then put nginx in front."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            for replica in self.replicas:
                replica.start()
            for replica in self.replicas:
                replica.wait_healthy(timeout)
            self.nginx.start()
            wait_for(f"{self.url}/healthz", timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """nginx first, so nothing new arrives; then every replica drains at the same time."""
        self.nginx.stop()
        for replica in self.replicas:
            replica.terminate()
        for replica in self.replicas:
            replica.stop()

    def exited_replicas(self) -> list[tuple[Replica, int]]:
        return [(r, r.proc.returncode) for r in self.replicas if r.proc and r.proc.poll() is not None]

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C/SIGTERM or until a process dies; always stop everything."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with Stack(args.run_dir, replicas=args.replicas, workers=args.workers, port=args.port,
               rate_per_second=args.rate, burst=args.burst) as stack:
        print(f"mlservice on {stack.url}  (docs: {stack.url}/docs, logs: {stack.run_dir})", flush=True)
        print(f"readiness: {_readiness(stack.url)}", flush=True)
        try:
            return _supervise(stack)
        except KeyboardInterrupt:
            return 0


def _supervise(stack: Stack) -> int:
    """Restart replicas that exit while nginx serves; stop when nginx exits or a replica keeps exiting."""
    restarts: list[float] = []
    while stack.nginx.proc and stack.nginx.proc.poll() is None:
        time.sleep(RESTART_SECONDS)
        for replica, code in stack.exited_replicas():
            now = time.monotonic()
            restarts = [t for t in restarts if now - t < RESTART_WINDOW] + [now]
            if len(restarts) > RESTART_LIMIT:
                print(f"replicas exited {len(restarts)} times in {RESTART_WINDOW:.0f}s; stopping the stack "
                      f"(see {replica.log_path})", file=sys.stderr, flush=True)
                return 1
            replica.start()
            print(f"replica {replica.index} ({replica.address}) exited with status {code}; restarted it "
                  f"(log: {replica.log_path})", file=sys.stderr, flush=True)
    print("nginx exited; stopping the replicas", file=sys.stderr)
    return 1


def _readiness(url: str, timeout: float = 10.0) -> str:
    try:
        wait_for(f"{url}/readyz", timeout)
        return "ready"
    except TimeoutError:
        return f"NOT ready after {timeout:.0f}s: see {url}/readyz (prediction endpoints answer 503)"


def print_site(args: argparse.Namespace) -> int:
    settings = render.NginxSettings(
        listen=args.listen, upstreams=tuple(args.upstream), server_name=args.server_name,
        client_max_body_size=render.app_setting("MAX_CONTENT_LENGTH"), rate_per_second=args.rate,
        burst=args.burst, access_log=args.access_log, error_log=args.error_log, key_rates=render.key_rates_of(),
        js_module=args.js_module,
    )
    print(render.site_config(settings), end="")
    return 0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=DEFAULTS.rate_per_second,
                        help="requests per second per client (default %(default)s)")
    parser.add_argument("--burst", type=int, default=DEFAULTS.burst,
                        help="requests over the rate served at once (default %(default)s)")
    parser.add_argument("--run-dir", type=Path, default=ROOT / "run")
    parser.add_argument("--port", type=int, default=int(os.environ.get("MLSERVICE_STACK_PORT", 8080)))
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per replica")
    parser.set_defaults(action=run)
    site = parser.add_subparsers().add_parser("render", help="print the nginx site file for these upstreams")
    site.add_argument("--upstream", action="append", required=True, help="host:port or unix:/path (repeat)")
    site.add_argument("--listen", default="80")
    site.add_argument("--server-name", default="_")
    site.add_argument("--access-log", default=DEFAULTS.access_log)
    site.add_argument("--error-log", default=DEFAULTS.error_log)
    site.add_argument("--js-module", default=DEFAULTS.js_module, help="where mlservice.js is installed")
    site.set_defaults(action=print_site)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    return args.action(args)


if __name__ == "__main__":
    sys.exit(main())
