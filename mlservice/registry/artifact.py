"""An artifact is a folder, and its pin is one SHA-256 over every byte in it.

The card beside the model is trusted as much as the model: its training ranges
drive abstention and warnings, its golden rows and library versions gate the
load. So the pin covers the whole folder: a manifest line per file (name, size,
SHA-256), sorted by name, hashed once. The files are read once, under one size
cap, and everything the loader uses (the model's bytes, the card) comes from
that same read, so nothing can change between the check and the use, and
nothing is unpickled before the whole artifact matches its pin.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from mlservice.files import MODEL_MAX_BYTES, read_bounded

#: More files than any artifact has; a folder with more is refused unread.
MAX_FILES = 32


def read_artifact(folder: Path, max_bytes: int = MODEL_MAX_BYTES, first: str | None = None) -> dict[str, bytes]:
    """Every file of ``folder`` by name, ``first`` (the model file) read before the others are listed;
    ``OSError`` for a missing model, a subfolder, a non-regular file or more than ``max_bytes`` in all."""
    files: dict[str, bytes] = {}
    if first is not None:
        files[first] = read_bounded(folder / first, max_bytes)
    names = sorted(entry.name for entry in os.scandir(folder))
    if len(names) > MAX_FILES:
        raise OSError(f"more than {MAX_FILES} files in {folder}")
    budget = max_bytes - sum(map(len, files.values()))
    for name in names:
        if name not in files:
            files[name] = read_bounded(folder / name, budget)
            budget -= len(files[name])
    return files


def artifact_digest(files: Mapping[str, bytes]) -> str:
    """The pin: SHA-256 of the manifest ``name NUL size NUL sha256 LF`` of every file, sorted by name."""
    manifest = b"".join(b"%s\0%d\0%s\n" % (name.encode("utf-8"), len(data), sha256_hex(data).encode())
                        for name, data in sorted(files.items()))
    return sha256_hex(manifest)


def folder_digest(folder: Path) -> str:
    """The pin of the artifact in ``folder`` as it is on disk (for ``mlservice train`` and ``models pin``)."""
    return artifact_digest(read_artifact(folder))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
