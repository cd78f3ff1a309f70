"""A validated columnar batch, as the model code takes it."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class ColumnBatch:
    """A validated columnar batch: per field, a float64 array (numbers, NaN = missing) or a list."""

    n: int
    data: Mapping[str, Any]
    #: Fields whose values are integers (``rows`` gives them back as ``int``).
    integers: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, name: str) -> Any:
        return self.data[name]

    def rows(self, names: Sequence[str], index: Sequence[int] | None = None) -> list[list[Any]]:
        """Rows (all, or those at ``index``) as the row schema loads them, for code that takes rows."""
        return [list(row) for row in zip(*(self._python(name, index) for name in names))]

    def _python(self, name: str, index: Sequence[int] | None) -> list[Any]:
        column = self.data[name]
        if not isinstance(column, np.ndarray):
            return list(column) if index is None else [column[i] for i in index]
        values = (column if index is None else column[np.asarray(index, dtype=np.intp)]).tolist()
        convert = int if name in self.integers else float
        return [None if v != v else convert(v) for v in values]
