"""Tiny artifacts written into a temporary directory, the way training writes real ones."""
from __future__ import annotations

import functools
import hashlib
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deploy.processes import ROOT
from mlservice.registry.artifact import folder_digest
from mlservice.registry.card import write_card
from mlservice.registry.compat import library_versions
from mlservice.scoring.classifier import positive_probability
from mlservice.registry.spec import ModelSpec, read_models_config

PIMA = ["npreg", "glu", "bp", "skin", "bmi", "ped", "age"]
PATIENT = {"pregnancies": 2, "glucose": 150.0, "blood_pressure": 70.0, "skin_thickness": 30.0,
           "bmi": 33.0, "pedigree": 0.5, "age": 40}
PATIENT_ROW = [2, 150.0, 70.0, 30.0, 33.0, 0.5, 40]
#: Example inputs for the committed models (the second applicant leaves the optional fields out).
APPLICANTS = [
    {"seniority": 9, "home": "rent", "time": 60, "age": 30, "marital": "married", "records": "no",
     "job": "freelance", "expenses": 73, "income": 129, "assets": 0, "debt": 0, "amount": 800, "price": 846},
    {"seniority": 0, "time": 60, "age": 22, "records": "yes", "expenses": 35, "amount": 1800, "price": 1900},
    {"seniority": 25, "home": "owner", "time": 24, "age": 52, "marital": "married", "records": "no",
     "job": "fixed", "expenses": 60, "income": 300.5, "assets": 20000, "debt": 0, "amount": 500, "price": 2000},
]
PATIENTS = [
    {"pregnancies": 6, "glucose": 148, "blood_pressure": 72, "skin_thickness": 35, "bmi": 33.6, "pedigree": 0.627, "age": 50},
    {"pregnancies": 1, "glucose": 85, "blood_pressure": 66, "skin_thickness": 29, "bmi": 26.6, "pedigree": 0.351, "age": 31},
]
#: The use-case settings every tiny diagnose artifact is deployed with.
SETTINGS = {"threshold": 0.5}


def tiny_patients(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """60 synthetic patients (Pima column order) and their labels."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(0, 10, 60), rng.normal(120, 30, 60), rng.normal(70, 10, 60),
                         rng.normal(29, 10, 60), rng.normal(32, 6, 60), rng.uniform(0.1, 2, 60),
                         rng.integers(21, 70, 60)])
    return X, (X[:, 1] + rng.normal(0, 15, 60) > 125).astype(int)


def tiny_diagnose_model(seed: int = 0) -> Any:
    """A 7-feature logistic regression fitted on 60 synthetic patients."""
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(*tiny_patients(seed))


def diagnose_features(seed: int = 0) -> list[dict[str, Any]]:
    """Card features with the training ranges and spreads of ``tiny_patients(seed)``."""
    X, _ = tiny_patients(seed)
    return [{"name": n, "type": "integer" if n in ("npreg", "age") else "number", "min": float(col.min()),
             "max": float(col.max()), "median": float(np.median(col)), "std": float(col.std())}
            for n, col in zip(PIMA, X.T)]


def write_artifact(root: Path, estimator: Any, *, name: str = "diagnose", version: str = "0.1.0",
                   features: list[dict[str, Any]] | None = None, golden_rows: list[list[Any]] | None = None,
                   **card: Any) -> dict[str, str]:
    """Dump ``estimator`` and its card; return the models-config entry that pins it."""
    folder = root / name / version
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.joblib"
    joblib.dump(estimator, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    rows = golden_rows or [PATIENT_ROW]
    golden = [{"input": r, "output": [float(p)]} for r, p in zip(rows, positive_probability(estimator, rows))]
    write_card(folder, {
        "name": name, "version": version, "use_case": name, "kind": "binary_classifier",
        "created_at": datetime.now(timezone.utc).isoformat(),
        "artifact": {"file": "model.joblib", "sha256": digest},
        "libraries": library_versions(), "features": features or diagnose_features(),
        "classes": [0, 1], "golden": golden, **card,
    })
    return {"version": version, "artifact": str(path), "sha256": folder_digest(folder)}


def write_models_config(path: Path, entries: dict[str, dict[str, Any]]) -> Path:
    """A models TOML file; nested mappings (settings, canary, shadow) become sub-tables."""
    lines: list[str] = []
    for name, entry in entries.items():
        _table(lines, f"models.{name}", entry)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _table(lines: list[str], header: str, table: dict[str, Any]) -> None:
    lines.append(f"[{header}]")
    lines += [f"{k} = {_toml(v)}" for k, v in table.items() if not isinstance(v, dict)]
    for key, sub in table.items():
        if isinstance(sub, dict):
            _table(lines, f"{header}.{key}", sub)


def _toml(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


# -- the committed models (configs/models.toml) ------------------------------------------


@functools.cache
def committed_specs() -> dict[str, ModelSpec]:
    """Each committed model's default version, as ``configs/models.toml`` pins it."""
    return {name: d.default for name, d in read_models_config(ROOT / "configs" / "models.toml").items()}


def committed_entry(name: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """A models-config entry for a committed artifact where it lies, with its own or other ``settings``."""
    spec = committed_specs()[name]
    return {"version": spec.version, "artifact": str(spec.artifact), "sha256": spec.sha256,
            "settings": dict(spec.settings if settings is None else settings)}


def copy_of(name: str, root: Path, version: str = "9.0.0", settings: dict[str, Any] | None = None,
            edit: Any = None) -> dict[str, Any]:
    """A copy of a committed artifact (same bytes, same digest) whose card ``edit`` may change."""
    spec = committed_specs()[name]
    folder = root / name / version
    shutil.copytree(spec.artifact_dir, folder)
    card = json.loads((folder / "card.json").read_text())
    card["version"] = version
    if edit:
        edit(card)
    (folder / "card.json").write_text(json.dumps(card))
    return {"version": version, "artifact": str(folder / "model.joblib"), "sha256": folder_digest(folder),
            "settings": dict(spec.settings if settings is None else settings)}


def card_path(entry: dict[str, Any]) -> Path:
    return Path(entry["artifact"]).with_name("card.json")


def repin(entry: dict[str, Any]) -> None:
    """Pin whatever the artifact file now holds, as a careless operator would."""
    model_digest = hashlib.sha256(Path(entry["artifact"]).read_bytes()).hexdigest()
    edit_card(entry, artifact={"file": "model.joblib", "sha256": model_digest})


def edit_card(entry: dict[str, Any], *, pin: bool = True, **changes: Any) -> None:
    """Change the card; ``pin``: and pin the artifact as it now is (else the old pin stays)."""
    path = card_path(entry)
    card = json.loads(path.read_text())
    card.update(changes)
    path.write_text(json.dumps(card))
    if pin:
        entry["sha256"] = folder_digest(path.parent)


# -- Changes a swap test applies to a deployed tiny artifact ----------------------------


def corrupt(entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` pointing at a copy of its artifact with one byte flipped (its pinned digest kept)."""
    source = Path(entry["artifact"])
    folder = source.parent.with_name(f"{source.parent.name}-corrupt")
    shutil.copytree(source.parent, folder, dirs_exist_ok=True)
    bad = folder / source.name
    data = bytearray(source.read_bytes())
    data[100] ^= 0xFF
    bad.write_bytes(bytes(data))
    return {**entry, "version": "0.2.0", "artifact": str(bad)}


def other_features(tmp_path: Path) -> dict[str, Any]:
    """A sound artifact whose card names features the diagnose use case does not send."""
    features = [{"name": n, "type": "number"} for n in ["npreg", "glucose", "bp", "skin", "bmi", "ped", "age"]]
    entry = write_artifact(tmp_path / "other", tiny_diagnose_model(2), version="0.3.0", features=features)
    return {**entry, "settings": SETTINGS}


def with_canary(versions: dict[str, Any], share: float) -> dict[str, Any]:
    """A diagnose config serving 0.1.0, with 0.2.0 as the canary for ``share`` of subjects."""
    canary = {k: v for k, v in versions["0.2.0"].items() if k != "settings"}
    return {"diagnose": {**versions["0.1.0"], "canary": {**canary, "share": share}}}
