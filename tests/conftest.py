"""Fixtures: every app is built through the factory; unit tests use tiny models in tmp_path."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import pytest
from flask import Flask

from mlservice import create_app
from tests.factories import SETTINGS, tiny_diagnose_model, write_artifact, write_models_config


@pytest.fixture(scope="module")
def app() -> Flask:
    """The app on the committed config and artifacts (module scope: loading is the slow part)."""
    return create_app({"TESTING": True})


@pytest.fixture()
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture()
def tiny_entry(tmp_path: Path) -> dict[str, Any]:
    """A valid models-config entry for a tiny diagnose model under tmp_path."""
    entry = write_artifact(tmp_path / "artifacts", tiny_diagnose_model())
    return {**entry, "settings": dict(SETTINGS)}


@pytest.fixture()
def make_app(tmp_path: Path) -> Callable[..., Flask]:
    """Build an app whose models config holds ``entries`` (name -> entry), with any ``config`` on top."""

    def build(entries: dict[str, dict[str, Any]], **config: Any) -> Flask:
        models = write_models_config(tmp_path / "models.toml", entries)
        return create_app({"TESTING": True, "MODELS_CONFIG": str(models), "MODELS_STATE_DIR": str(tmp_path / "state"),
                           **config})

    return build


_RECORDS = Path(tempfile.mkdtemp(prefix="mlservice-test-records-"))


def pytest_configure(config: pytest.Config) -> None:
    """Decision records are on by default: the tests' apps (and the servers they start) record into this
    session's folder, not into the default store in $TMPDIR, which anything the user runs shares."""
    os.environ.setdefault("MLSERVICE_DECISIONS_URL", f"sqlite:///{_RECORDS / 'records.sqlite3'}")
    os.environ.setdefault("MLSERVICE_DECISIONS_SPOOL_DIR", str(_RECORDS / "spool"))


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_RECORDS, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that starts real servers is slow too, so `-m "not slow"` leaves the quick loop."""
    for item in items:
        if item.get_closest_marker("integration"):
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print what the tests measured (fuzz cases, failed requests, shares), so CI logs show the figures."""
    from tests.figures import FIGURES

    for name, measured in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{name}: {measured}")
