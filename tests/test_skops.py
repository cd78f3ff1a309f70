"""skops artifacts: the same answers as the joblib ones, and a file naming an untrusted type is
refused before anything of it is built."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlservice.cli import main
from mlservice.registry.artifact import folder_digest
from mlservice.registry.extension import EXTENSION
from tests.factories import APPLICANTS, PATIENTS, committed_entry, committed_specs

pytestmark = pytest.mark.slow  # converts the committed models (the recommender is 3 MB)

QUERIES = {"risk": ("/risk/batch", {"rows": APPLICANTS}), "diagnose": ("/diagnose/batch", {"rows": PATIENTS}),
           "recommend": ("/recommend", {"user_id": 15, "k": 10})}


class Evil:
    """Would leave a marker behind if skops ever built it."""

    marker = ""

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["marker"]).touch()


@pytest.fixture(scope="module")
def skops_entries(tmp_path_factory) -> dict[str, dict[str, Any]]:
    root = tmp_path_factory.mktemp("skops")
    entries = {}
    for name, spec in committed_specs().items():
        result = CliRunner().invoke(main, ["models", "convert", str(spec.artifact_dir), str(root / name)])
        assert result.exit_code == 0, result.output
        assert f'sha256 = "{folder_digest(root / name)}"' in result.output
        entries[name] = {**committed_entry(name), "artifact": str(root / name / "model.skops"), "format": "skops",
                         "sha256": folder_digest(root / name)}
    return entries


def test_skops_artifacts_answer_as_the_joblib_ones(make_app, skops_entries):
    joblib_client = make_app({n: committed_entry(n) for n in QUERIES}).test_client()
    skops_client = make_app(skops_entries).test_client()
    for name, (path, body) in QUERIES.items():
        expected, got = joblib_client.post(path, json=body).json, skops_client.post(path, json=body).json
        assert got.pop("model")["digest"] == skops_entries[name]["sha256"][:12]
        expected.pop("model")
        assert got == expected, name
        detail = skops_client.get(f"/models/{name}").json
        assert (detail["format"], detail["loading_runs_code"]) == ("skops", False)
    assert joblib_client.get("/models/risk").json["loading_runs_code"] is True


def test_models_check_says_which_format_runs_code(skops_entries, tmp_path):
    from tests.factories import write_models_config

    config = write_models_config(tmp_path / "models.toml", skops_entries)
    result = CliRunner().invoke(main, ["models", "check", str(config)])
    assert result.exit_code == 0, result.output
    assert result.output.count("skops (loading runs no code)") == 3


def test_a_skops_file_naming_an_untrusted_type_is_refused_with_nothing_built(make_app, skops_entries, tmp_path):
    import skops.io

    evil = Evil()
    evil.marker = str(tmp_path / "built")
    folder = Path(skops_entries["diagnose"]["artifact"]).parent
    crafted = tmp_path / "crafted"
    crafted.mkdir()
    skops.io.dump(evil, crafted / "model.skops")
    card = json.loads((folder / "card.json").read_text())  # a consistent card, as whoever crafted it would write
    card["artifact"]["sha256"] = hashlib.sha256((crafted / "model.skops").read_bytes()).hexdigest()
    (crafted / "card.json").write_text(json.dumps(card))
    entry = {**skops_entries["diagnose"], "artifact": str(crafted / "model.skops"), "sha256": folder_digest(crafted)}
    app = make_app({"diagnose": entry})
    reason = app.extensions[EXTENSION].failures["diagnose"].reason
    assert "untrusted types" in reason and "Evil" in reason
    assert not (tmp_path / "built").exists()
