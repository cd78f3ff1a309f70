"""Request-time similarity votes, read straight from the CSR arrays of ``similarity_``.

scipy's fancy indexing (``similarity_[seeds]``, ``[:, items]``) builds and checks
new matrices on every call, and summing duplicates sorts them: most of a request's
0.5-1 ms. Here a request gathers its seeds' neighbour slices with the C++ loop that
indexing runs (``csr_row_index``), without the matrix around it, and sums them with
one ``bincount``: over the catalog when it is at most a few times
the votes, else over labels found through :class:`Marks`, a catalog-sized array that
is all zero between requests. Every step costs O(votes + k), never O(catalog), and a
request makes a few dozen NumPy calls (each ~1 us: what remains of its cost).

Imported by the unpickled model: numpy, scipy and the standard library only.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

try:  # private to scipy since 1.8; the NumPy gather below does the same at 2-3x the cost
    from scipy.sparse._sparsetools import csr_row_index
except ImportError:  # pragma: no cover - a scipy that moved it
    csr_row_index = None

#: ``unseen_sums`` goes dense when the catalog is at most this many times the entries.
_DENSE_RATIO = 3


class Rows(NamedTuple):
    """The entries of some CSR rows, row by row: columns, values, and where each row ends."""

    columns: np.ndarray
    values: np.ndarray
    ends: np.ndarray


class Description(NamedTuple):
    """Per item, as a response shows it: ``votes_for`` plus titles (None: no seed voted)."""

    titles: list[str]
    votes: list[float]
    because: list[int]
    because_titles: list[str | None]
    voters: list[int]


class Marks:
    """An integer per catalog item, zero except where this request wrote."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self._written: list[np.ndarray] = []

    def write(self, positions: np.ndarray, values: np.ndarray | int) -> None:
        self.array[positions] = values
        self._written.append(positions)

    def clear(self) -> None:
        for positions in self._written:
            self.array[positions] = 0
        self._written.clear()


class MarksPool:
    """:class:`Marks` made once per request in flight, then reused: ``with pool.borrowed() as marks``.

    ``list.pop`` and ``append`` are atomic, so concurrent threads never share one.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.free: list[Marks] = []

    def borrowed(self) -> _Loan:
        return _Loan(self)


class _Loan:
    """One use of a pool's :class:`Marks`, cleared on the way back (a plain class: the
    ``contextlib`` generator costs several times more, twice a request)."""

    __slots__ = ("pool", "marks")

    def __init__(self, pool: MarksPool) -> None:
        self.pool = pool

    def __enter__(self) -> Marks:
        try:
            self.marks = self.pool.free.pop()
        except IndexError:
            self.marks = Marks(np.zeros(self.pool.size, dtype=np.intp))
        return self.marks

    def __exit__(self, *exc: object) -> None:
        self.marks.clear()
        self.pool.free.append(self.marks)


def gather(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, rows: np.ndarray) -> Rows:
    """Entries of CSR ``rows`` (in that order) without building a matrix: O(their entries).
    Columns come as ``intp``: NumPy converts any other index type on every use.

    The C++ loop trusts its input: the arrays must be well formed (the model checks them
    when unpickled) and ``rows`` in range (NumPy checks past the end; below 0 is refused).
    """
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if len(ends) else 0
    if len(rows) and rows.min() < 0:
        raise IndexError("negative row")
    if csr_row_index is None:  # the same entries through offsets into the arrays
        offsets = np.arange(total)
        offsets += np.repeat(starts - (ends - lengths), lengths)
        columns, values = indices.take(offsets), data.take(offsets)
    else:
        columns, values = np.empty(total, dtype=indices.dtype), np.empty(total, dtype=data.dtype)
        csr_row_index(len(rows), rows.astype(indptr.dtype, copy=False), indptr, indices, data, columns, values)
    return Rows(columns.astype(np.intp), values, ends)


def unseen_sums(rows: Rows, seen: np.ndarray, marks: Marks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each distinct column of ``rows`` not in ``seen``, with the float64 sum of its values
    added row by row, and an array over the catalog that is zero except at those columns
    and ``seen``.

    With as many entries as a fraction of the catalog, one dense ``bincount`` is
    cheapest; otherwise the columns are labelled through ``marks``: O(entries) either way.
    """
    if len(marks.array) <= _DENSE_RATIO * len(rows.columns):
        totals = np.bincount(rows.columns, weights=rows.values, minlength=len(marks.array))
        totals[seen] = -1.0
        voted = np.flatnonzero(totals > 0)
        return voted, totals[voted], totals
    columns = rows.columns
    label = np.arange(1, len(columns) + 1)
    marks.write(columns, label)
    found = marks.array[columns]  # one entry per column wins; it labels all of them
    sums = np.bincount(found, weights=rows.values, minlength=len(columns) + 1)
    first = np.flatnonzero(found == label)
    marks.write(seen, -1)
    first = first[marks.array[columns[first]] > 0]
    return columns[first], sums[first + 1], marks.array


def votes_for(rows: Rows, items: np.ndarray, marks: Marks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item of ``items`` (catalog positions): the sum of the rows' values in its column
    (added row by row, as ``unseen_sums`` does), the first row holding the largest one
    (-1: none) and how many rows hold a nonzero one."""
    if len(set(items.tolist())) < len(items):  # an item listed twice: the same answer twice
        unique, copy_of = np.unique(items, return_inverse=True)
        votes, best, voters = votes_for(rows, unique, marks)
        return votes[copy_of], best[copy_of], voters[copy_of]
    n = len(items)
    marks.write(items, np.arange(1, n + 1))
    slot = marks.array[rows.columns]
    hits = (slot != 0).nonzero()[0]
    hits = hits[rows.values[hits] != 0]
    item, value = slot[hits] - 1, rows.values[hits].astype(np.float64)
    row = np.searchsorted(rows.ends, hits, side="right")
    votes = np.bincount(item, weights=value, minlength=n)
    return votes, _first_largest(item, value, row, n, len(rows.ends)), np.bincount(item, minlength=n)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` for a few integers: NumPy 2's hashing version costs several times more."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values


def _first_largest(item: np.ndarray, value: np.ndarray, row: np.ndarray, n: int, n_rows: int) -> np.ndarray:
    """For each of ``n`` items, the lowest row among its largest values; -1 without any."""
    largest = np.full(n, -np.inf)
    np.maximum.at(largest, item, value)
    first = np.full(n, n_rows, dtype=np.int64)
    np.minimum.at(first, item, np.where(value == largest[item], row, n_rows))
    return np.where(first < n_rows, first, -1)
