"""Revoking an API key under load, through nginx and real gunicorn workers: the revoked key is
refused within the poll interval, valid keys never fail, a broken keys file changes nothing."""
from __future__ import annotations

import os
import time

import pytest
import requests

from mlservice.auth.keys import digest
from tests.factories import PATIENT
from tests.figures import record
from tests.load import Load
from tests.stacks import running_stack, wait_until

pytestmark = pytest.mark.integration

POLL = 0.5
KEYS = {"stays": "mls_stays-0123456789abcdefghij", "revoked": "mls_revoked-0123456789abcdefghij"}


def write_keys(path, names: list[str], broken: bool = False) -> None:
    """Replace the keys file atomically, as an operator's tooling (or the kubelet) would."""
    text = "".join(f'[[keys]]\nid = "{n}"\nsha256 = "{digest(KEYS[n])}"\nscopes = ["predict:diagnose"]\n' for n in names)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text + ("[[keys]\n" if broken else ""))
    os.replace(tmp, path)


def test_revoking_a_key_under_load(tmp_path):
    keys_file = tmp_path / "keys.toml"
    write_keys(keys_file, ["stays", "revoked"])
    env = {"MLSERVICE_AUTH_ENABLED": "true", "MLSERVICE_API_KEYS_FILE": str(keys_file),
           "MLSERVICE_API_KEYS_POLL_SECONDS": str(POLL)}
    with running_stack(tmp_path / "run", replicas=1, workers=2, env=env) as stack:
        url = f"{stack.url}/diagnose"

        def valid(session: requests.Session) -> requests.Response:
            return session.post(url, json=PATIENT, headers={"X-API-Key": KEYS["stays"]}, timeout=10)

        def revoked_status() -> int:
            return requests.post(url, json=PATIENT, headers={"X-API-Key": KEYS["revoked"]}, timeout=10).status_code

        with Load(valid, threads=3, seconds=6) as load:
            time.sleep(1)
            assert revoked_status() == 200
            write_keys(keys_file, ["stays"])
            # every worker must refuse it: ten answers in a row
            took = wait_until(lambda: all(revoked_status() == 401 for _ in range(10)), timeout=POLL + 5)
            time.sleep(1)
            write_keys(keys_file, ["stays"], broken=True)
            time.sleep(POLL * 3)
            assert revoked_status() == 401  # the last good keys, not an open door
        ready = requests.get(f"{stack.replicas[0].url}/readyz", timeout=5).json()["api_keys"]
    assert load.total > 100 and load.failed() == 0, load.outcomes
    assert ready["loaded"] == 1 and "unreadable" in ready["rejected"]
    record("auth: key revoked under load", f"refused by every worker within {took:.2f} s of the edit (poll {POLL} s); "
           f"valid key {load.failed()} failed of {load.total}; a broken keys file then kept the last good keys")
