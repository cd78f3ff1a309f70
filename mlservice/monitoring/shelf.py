"""Arrays every worker of a replica can read: one file per worker and name, mapped into memory.

Each worker writes only its own files (``mine``); whoever answers a scrape or an outcome reads
everyone's (``everyone``), the way prometheus_client's multiprocess mode keeps one file per
worker. Files live beside the metrics files, which gunicorn's config wipes before any worker
starts. Without a folder (one process: tests, ``flask run``) the arrays live in memory.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np


class Shelf:
    def __init__(self, folder: str | None) -> None:
        self.folder = Path(folder) if folder else None
        self._mine: dict[str, np.ndarray] = {}
        self._pid = os.getpid()

    def mine(self, name: str, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
        """This worker's array ``name``, zeroed when first asked for (a new file after a fork)."""
        if self._pid != os.getpid():
            self._mine, self._pid = {}, os.getpid()
        array = self._mine.get(name)
        if array is None:
            array = self._mine[name] = self._create(name, np.dtype(dtype), shape)
        return array

    def everyone(self, name: str) -> list[np.ndarray]:
        """Every worker's array ``name``, this one's included; dead workers' too, for their history."""
        if self.folder is None:
            return [self._mine[name]] if name in self._mine else []
        arrays = []
        for path in self.folder.glob(f"{name}.*.npy"):
            try:
                arrays.append(np.load(path, mmap_mode="r"))
            except (OSError, ValueError):  # being created, or removed since the listing
                continue
        return arrays

    def remove_stale(self, older_than: float) -> None:
        """Remove dead workers' files not written to for ``older_than`` seconds: nothing in them counts."""
        if self.folder is None:
            return
        limit = time.time() - older_than
        for path in self.folder.glob("*.npy"):
            pid = path.suffixes[-2].lstrip(".") if len(path.suffixes) >= 2 else ""
            if pid.isdigit() and not _alive(int(pid)) and _mtime(path) < limit:
                path.unlink(missing_ok=True)

    def _create(self, name: str, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
        if self.folder is None:
            return np.zeros(shape, dtype=dtype)
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{name}.{self._pid}.npy"
        partial = self.folder / f".{name}.{self._pid}.npy"
        np.lib.format.open_memmap(partial, mode="w+", dtype=dtype, shape=shape).flush()
        os.replace(partial, final)  # readers never see a file without its full header
        return np.load(final, mmap_mode="r+")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")
