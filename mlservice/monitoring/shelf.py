"""Arrays every worker of a replica can read: one file per worker and name, mapped into memory.

Each worker writes only its own files (``mine``); whoever answers a scrape or an outcome reads
everyone's (``everyone``), the way prometheus_client's multiprocess mode keeps one file per
worker. A new worker adopts a dead worker's file (renamed to its own pid, contents kept), so
recycled workers neither lose what the dead one counted nor leave files to pile up: there are
as many files as workers. Files live beside the metrics files, which gunicorn's config wipes
before any worker starts. Without a folder (one process: tests, ``flask run``) the arrays live
in memory.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from mlservice.files import pid_alive


class Shelf:
    def __init__(self, folder: str | None) -> None:
        self.folder = Path(folder) if folder else None
        self._mine: dict[str, np.ndarray] = {}
        #: Names whose file this worker took over from a dead one (the others start empty).
        self.adopted: set[str] = set()
        self._pid = os.getpid()

    def mine(self, name: str, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
        """This worker's array ``name``, zeroed when first asked for (a new file after a fork)."""
        if self._pid != os.getpid():
            self._mine, self.adopted, self._pid = {}, set(), os.getpid()
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
            pid = _pid_of(path)
            if pid and not pid_alive(pid) and _mtime(path) < limit:
                path.unlink(missing_ok=True)

    def _create(self, name: str, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
        if self.folder is None:
            return np.zeros(shape, dtype=dtype)
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{name}.{self._pid}.npy"
        adopted = self._adopt(name, final, dtype, shape)
        if adopted is not None:
            return adopted
        partial = self.folder / f".{name}.{self._pid}.npy"
        np.lib.format.open_memmap(partial, mode="w+", dtype=dtype, shape=shape).flush()
        os.replace(partial, final)  # readers never see a file without its full header
        return np.load(final, mmap_mode="r+")

    def _adopt(self, name: str, final: Path, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray | None:
        """A file this pid left (the pid reused) or a dead worker's, renamed to ours, if it has our layout."""
        dead = [p for p in self.folder.glob(f"{name}.*.npy") if _pid_of(p) and not pid_alive(_pid_of(p))]
        for candidate in [final, *dead]:
            try:
                if candidate != final:
                    os.rename(candidate, final)  # atomic: of two workers adopting it, one gets it
                array = np.load(final, mmap_mode="r+")
            except (OSError, ValueError):
                continue
            if array.dtype == dtype and array.shape == shape:
                self.adopted.add(name)
                return array
            final.unlink(missing_ok=True)
        return None


def _pid_of(path: Path) -> int:
    """The pid in ``<name>.<pid>.npy`` (0 for anything else)."""
    pid = path.suffixes[-2].lstrip(".") if len(path.suffixes) >= 2 else ""
    return int(pid) if pid.isdigit() else 0



def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")
