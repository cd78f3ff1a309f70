"""The registry refuses every artifact it cannot trust, and says why without data."""
from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import joblib
import pytest
import sklearn.base

from mlservice.registry.extension import EXTENSION
from tests.factories import (PATIENT, PATIENT_ROW, card_path, edit_card, repin, tiny_diagnose_model,
                             write_artifact, write_models_config)


def failure(app: Any, name: str = "diagnose") -> str:
    return app.extensions[EXTENSION].failures[name].reason


def test_valid_tiny_model_serves_its_own_predictions(make_app, tiny_entry):
    app = make_app({"diagnose": tiny_entry})
    model = joblib.load(tiny_entry["artifact"])
    response = app.test_client().post("/diagnose", json=PATIENT)
    assert response.status_code == 200
    assert response.json["probability"] == pytest.approx(model.predict_proba([PATIENT_ROW])[0, 1], abs=1e-12)
    assert response.json["model"] == {"name": "diagnose", "version": "0.1.0", "digest": tiny_entry["sha256"][:12]}


class Exploit:
    """A pickle that would create a marker file when unpickled."""

    marker = ""

    def __reduce__(self) -> Any:
        return (Path.touch, (Path(self.marker),))


def test_digest_is_checked_before_unpickling(make_app, tiny_entry, tmp_path):
    exploit = Exploit()
    exploit.marker = str(tmp_path / "pwned")
    Path(tiny_entry["artifact"]).write_bytes(pickle.dumps(exploit))
    app = make_app({"diagnose": tiny_entry})
    assert not (tmp_path / "pwned").exists()
    assert "digest mismatch" in failure(app)
    assert tiny_entry["sha256"][:12] in failure(app)


def test_one_changed_byte_is_refused(make_app, tiny_entry):
    path = Path(tiny_entry["artifact"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    app = make_app({"diagnose": tiny_entry})
    assert "digest mismatch" in failure(app)
    assert app.test_client().post("/diagnose", json=PATIENT).status_code == 503


def test_truncated_pickle_with_a_matching_pin_is_refused_clearly(make_app, tiny_entry):
    path = Path(tiny_entry["artifact"])
    path.write_bytes(path.read_bytes()[:200])
    repin(tiny_entry)
    app = make_app({"diagnose": tiny_entry})
    assert "cannot unpickle" in failure(app)


def test_library_skew_in_the_card_is_refused(make_app, tiny_entry):
    card = json.loads(card_path(tiny_entry).read_text())
    edit_card(tiny_entry, libraries={**card["libraries"], "scikit-learn": "0.24.2"})
    app = make_app({"diagnose": tiny_entry})
    assert "trained with scikit-learn 0.24.2" in failure(app)


def test_inconsistent_version_warning_becomes_a_refusal(make_app, tmp_path, monkeypatch):
    monkeypatch.setattr(sklearn.base, "__version__", "1.0.0")
    model = tiny_diagnose_model()
    path = tmp_path / "old.joblib"
    joblib.dump(model, path)
    monkeypatch.undo()
    entry = write_artifact(tmp_path / "artifacts", model)
    Path(entry["artifact"]).write_bytes(path.read_bytes())
    repin(entry)
    app = make_app({"diagnose": {**entry, "settings": {"threshold": 0.5}}})
    assert "pickled with scikit-learn 1.0.0" in failure(app)


def test_golden_example_mismatch_is_refused(make_app, tiny_entry):
    card = json.loads(card_path(tiny_entry).read_text())
    card["golden"][0]["output"] = [card["golden"][0]["output"][0] + 1e-6]
    edit_card(tiny_entry, golden=card["golden"])
    app = make_app({"diagnose": tiny_entry})
    assert failure(app) == "version 0.1.0: 1 of 1 golden examples differ from the card"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"version": "9.9.9"}, "config says version 9.9.9, card says 0.1.0"),
        ({"settings": {"threshold": 2.0}}, "invalid settings"),
        ({"settings": {}}, "invalid settings"),
        ({"artifact": "/nonexistent/model.joblib"}, "cannot read artifact /nonexistent/model.joblib"),
    ],
)
def test_bad_entries_are_refused_with_their_reason(make_app, tiny_entry, change, reason):
    app = make_app({"diagnose": {**tiny_entry, **change}})
    assert reason in failure(app)


def test_a_model_with_other_features_is_incompatible(make_app, tmp_path):
    features = [{"name": n, "type": "number"} for n in ["npreg", "glucose", "bp", "skin", "bmi", "ped", "age"]]
    entry = write_artifact(tmp_path / "artifacts", tiny_diagnose_model(), features=features)
    app = make_app({"diagnose": {**entry, "settings": {"threshold": 0.5}}})
    assert "features differ" in failure(app)
    assert "glu" in failure(app)


def test_a_model_for_another_use_case_is_refused(make_app, tmp_path):
    entry = write_artifact(tmp_path / "artifacts", tiny_diagnose_model(), name="risk")
    app = make_app({"risk": {**entry, "settings": {"review_at": 0.2, "decline_at": 0.5}}})
    assert "incompatible with use case risk" in failure(app, "risk")


def test_unknown_model_name_and_missing_entries_are_reported(make_app, tiny_entry):
    app = make_app({"diagnose": tiny_entry, "fraud": tiny_entry})
    assert "no use case named fraud" in failure(app, "fraud")
    assert "no [models.risk] entry" in failure(app, "risk")


def test_an_app_serving_some_use_cases_skips_the_others_entries(make_app, tiny_entry):
    """One models config for several fleets (USE_CASES): another fleet's entry is not a refusal."""
    app = make_app({"diagnose": tiny_entry, "risk": tiny_entry}, USE_CASES=["diagnose"])
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200 and ready.json["rejected"] == {}
    assert app.extensions[EXTENSION].names == ["diagnose"]


def test_a_name_removed_from_the_config_leaves_no_refusal_behind(make_app, tiny_entry, tmp_path):
    app = make_app({"diagnose": tiny_entry, "fraud": tiny_entry})
    assert "no use case named fraud" in failure(app, "fraud")
    write_models_config(tmp_path / "models.toml", {"diagnose": tiny_entry})
    app.extensions[EXTENSION].refresh()
    assert "fraud" not in app.extensions[EXTENSION].failures
    assert app.test_client().get("/models/fraud").status_code == 404


def test_unreadable_config_fails_every_model_but_the_app_starts(tmp_path):
    from mlservice import create_app

    config = tmp_path / "models.toml"
    config.write_text('[models.diagnose]\nversion = "0.1', encoding="utf-8")
    app = create_app({"TESTING": True, "MODELS_CONFIG": str(config)})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert set(response.json["errors"]["models"]) == {"risk", "diagnose", "recommend"}
    assert app.test_client().get("/healthz").status_code == 200


# -- The pin covers every file of the artifact, card included ------------------------------

def widen_glucose_range(entry: dict[str, Any], *, pin: bool) -> None:
    """The tampering that motivated the whole-artifact pin: a training range raised in the card."""
    card = json.loads(card_path(entry).read_text())
    card["features"][1]["max"] = 400.0
    edit_card(entry, pin=pin, features=card["features"])


def test_a_changed_card_byte_is_refused_at_start_before_unpickling(make_app, tiny_entry, tmp_path):
    exploit = Exploit()
    exploit.marker = str(tmp_path / "pwned")
    Path(tiny_entry["artifact"]).write_bytes(pickle.dumps(exploit))
    widen_glucose_range(tiny_entry, pin=False)
    app = make_app({"diagnose": tiny_entry})
    assert "digest mismatch" in failure(app) and tiny_entry["sha256"][:12] in failure(app)
    assert not (tmp_path / "pwned").exists()


def test_a_changed_card_byte_is_refused_on_a_swap_and_by_models_check(make_app, tiny_entry, tmp_path):
    from click.testing import CliRunner

    from mlservice.cli import main

    app = make_app({"diagnose": tiny_entry})
    served = app.test_client().post("/diagnose", json=PATIENT).json["model"]
    candidate = {**write_artifact(tmp_path / "candidates", tiny_diagnose_model(1), version="0.2.0"),
                 "settings": tiny_entry["settings"]}
    widen_glucose_range(candidate, pin=False)
    config = write_models_config(tmp_path / "models.toml", {"diagnose": candidate})
    app.extensions[EXTENSION].refresh()
    assert app.test_client().post("/diagnose", json=PATIENT).json["model"] == served
    assert "digest mismatch" in failure(app)
    checked = CliRunner().invoke(main, ["models", "check", "--only", "diagnose", str(config)])
    assert checked.exit_code == 1 and "digest mismatch" in checked.output


def test_an_extra_file_in_the_artifact_is_refused(make_app, tiny_entry):
    Path(tiny_entry["artifact"]).with_name("notes.txt").write_text("x")
    assert "digest mismatch" in failure(make_app({"diagnose": tiny_entry}))


def test_a_pin_of_the_model_file_alone_is_refused_and_says_how_to_pin(make_app, tiny_entry):
    old_style = {**tiny_entry, "sha256": json.loads(card_path(tiny_entry).read_text())["artifact"]["sha256"]}
    reason = failure(make_app({"diagnose": old_style}))
    assert "digest mismatch" in reason and "mlservice models pin" in reason


def test_the_response_digest_names_the_whole_artifact(make_app, tiny_entry):
    widen_glucose_range(tiny_entry, pin=True)  # a deliberate, re-pinned change is a new identity
    app = make_app({"diagnose": tiny_entry})
    assert app.test_client().post("/diagnose", json=PATIENT).json["model"]["digest"] == tiny_entry["sha256"][:12]


def test_models_pin_prints_the_digest_the_registry_checks(tiny_entry):
    from click.testing import CliRunner

    from mlservice.cli import main

    printed = CliRunner().invoke(main, ["models", "pin", str(Path(tiny_entry["artifact"]).parent)])
    assert printed.exit_code == 0 and f'sha256 = "{tiny_entry["sha256"]}"' in printed.output
