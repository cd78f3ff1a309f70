"""``mlservice models convert``: an artifact in skops format, from a joblib one.

Done once, by whoever trusts the joblib artifact (it is unpickled here); every
later load of the skops artifact builds only trusted types
(``mlservice.registry.formats``). The card moves along, with the new model file
and its digest; the caller pins the new folder.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from mlservice.registry.card import CARD_FILE, read_card
from mlservice.registry.formats import SKOPS_TRUSTED, load_bytes
from mlservice.training.common import sha256_file

SKOPS_FILE = "model.skops"


def to_skops(source: Path, target: Path) -> Path:
    """Write ``target``/model.skops and its card from the joblib artifact in ``source``; return the model file."""
    import skops.io

    card = json.loads((source / CARD_FILE).read_text(encoding="utf-8"))
    model_file = source / card["artifact"]["file"]
    if sha256_file(model_file) != read_card(source).sha256:
        raise ValueError(f"{model_file} is not the model its card describes")
    model = load_bytes("joblib", model_file.read_bytes())
    target.mkdir(parents=True, exist_ok=False)
    path = target / SKOPS_FILE
    skops.io.dump(model, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    untrusted = set(skops.io.get_untrusted_types(file=path)) - set(SKOPS_TRUSTED)
    if untrusted:
        raise ValueError(f"the model holds types the service does not trust: {sorted(untrusted)}")
    card["artifact"] = {"file": SKOPS_FILE, "sha256": sha256_file(path), "bytes": path.stat().st_size,
                        "format": "skops"}
    (target / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return path
