"""A mounted ConfigMap as the kubelet lays it out and updates it, for the swap tests."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from deploy.processes import ROOT


def kubelet_update(folder: Path, files: dict[str, str], stamp: int) -> None:
    """What the kubelet's AtomicWriter does: new timestamped folder, ``..data`` renamed onto it, old folder removed."""
    folder.mkdir(exist_ok=True)
    new = folder / f"..2026_12_05_10_00_00.{stamp:09d}"
    new.mkdir()
    for name, text in files.items():
        (new / name).write_text(text)
    data = folder / "..data"
    old = os.readlink(data) if data.is_symlink() else None
    os.symlink(new.name, folder / "..data_tmp")
    os.rename(folder / "..data_tmp", data)
    for name in files:
        if not (folder / name).is_symlink():
            os.symlink(f"..data/{name}", folder / name)
    if old:
        shutil.rmtree(folder / old)


def models_toml(artifacts: Path, diagnose_version: str, diagnose_pin: str) -> str:
    """The committed models config with artifacts under ``artifacts``, diagnose at ``diagnose_version``."""
    text = (ROOT / "configs" / "models.toml").read_text().replace('"../artifacts/', f'"{artifacts}/')
    start = text.index("[models.diagnose]")
    end = text.index("[models.diagnose.settings]")
    entry = (f'[models.diagnose]\nversion = "{diagnose_version}"\n'
             f'artifact = "{artifacts}/diagnose/{diagnose_version}/model.joblib"\n'
             f'sha256 = "{diagnose_pin}"\n\n')
    return text[:start] + entry + text[end:]
