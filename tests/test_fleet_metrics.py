"""What each replica tells Prometheus about its models: which version serves in which role, and every swap's outcome."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlservice import create_app
from mlservice.registry import refusals
from mlservice.registry.extension import EXTENSION
from tests.factories import SETTINGS, tiny_diagnose_model, write_artifact, write_models_config
from tests.stacks import value


@pytest.mark.parametrize(("message", "kind"), [
    ("version 1.2.0: cannot fetch the artifact (timeout): https://store/x/model.joblib: no complete answer", "fetch_timeout"),
    ("version 1.2.0: digest mismatch for artifact /a/b: config pins sha256 0000…, its files have 1111…", "digest_mismatch"),
    ("version 1.2.0: 2 of 8 golden examples differ from the card", "golden_mismatch"),
    ("version 1.2.0: incompatible with use case diagnose: features differ", "incompatible"),
    ("version 1.2.0: exact scikit-learn 1.9.0 needed, running 1.8.0", "library_skew"),
    ("models config /etc/x.toml is not valid TOML: line 3", "config_error"),
    ("something nobody foresaw", "other"),
])
def test_every_refusal_has_a_kind_from_a_fixed_list(message, kind):
    assert refusals.kind_of(message) == kind
    assert kind in refusals.KINDS or kind.startswith("fetch_")


def metrics_text(app: Any) -> str:
    return app.test_client().get("/metrics").get_data(as_text=True)


def served(text: str, entry: dict[str, Any], role: str = "default") -> float:
    labels = {"model": "diagnose", "version": entry["version"], "digest": entry["sha256"][:12], "role": role}
    return value(text, "mlservice_model_info", labels)


def swaps(text: str, outcome: str, reason: str) -> float:
    return value(text, "mlservice_model_swaps_total", {"model": "diagnose", "outcome": outcome, "reason": reason})


def test_model_info_follows_swaps_and_refusals(tmp_path: Path):
    root = tmp_path / "artifacts"
    versions = {v: {**write_artifact(root, tiny_diagnose_model(i), version=v), "settings": SETTINGS}
                for i, v in enumerate(["0.1.0", "0.2.0", "0.3.0"])}
    config = tmp_path / "models.toml"
    write_models_config(config, {"diagnose": versions["0.1.0"]})
    app = create_app({"TESTING": True, "MODELS_CONFIG": str(config), "MODELS_STATE_DIR": str(tmp_path / "state"),
                      "USE_CASES": ["diagnose"], "MODELS_POLL_SECONDS": 0})
    registry = app.extensions[EXTENSION]
    text = metrics_text(app)  # counters are process-wide: every check below is a difference
    assert served(text, versions["0.1.0"]) == 1

    write_models_config(config, {"diagnose": {**versions["0.2.0"], "sha256": "0" * 64}})
    assert registry.refresh() is False
    after = metrics_text(app)
    assert served(after, versions["0.1.0"]) == 1  # the old model still serves
    assert swaps(after, "refused", "digest_mismatch") - swaps(text, "refused", "digest_mismatch") == 1

    canary = {k: v for k, v in versions["0.3.0"].items() if k != "settings"}
    write_models_config(config, {"diagnose": {**versions["0.2.0"], "canary": {**canary, "share": 0.2}}})
    assert registry.refresh() is True
    final = metrics_text(app)
    assert served(final, versions["0.1.0"]) == 0  # no longer served: the series drops to 0, not a stale 1
    assert served(final, versions["0.2.0"]) == 1 and served(final, versions["0.3.0"], role="canary") == 1
    assert swaps(final, "applied", "ok") - swaps(after, "applied", "ok") == 1
