"""Looking ids up in the recommender's catalog and ratings: positions, titles, users' rated items.

Part of the pickled recommend artifact (``ItemKNNRecommender`` inherits it), so
it uses numpy and the standard library only.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .votes import sorted_unique


class CatalogLookups:
    """Id and position lookups over the fitted ``item_ids_``, ``user_ids_`` and ``user_items_``."""

    def _check_arrays(self) -> None:
        """CSR matrices well formed, similarity n_items x n_items, ratings n_users x n_items."""
        for name, rows in (("similarity_", self.n_items), ("user_items_", self.n_users)):
            matrix = getattr(self, name)
            matrix.check_format(full_check=True)
            if matrix.shape != (rows, self.n_items):
                raise ValueError(f"{name} has shape {matrix.shape}, not {(rows, self.n_items)}")

    @property
    def n_items(self) -> int:
        return len(self.item_ids_)

    @property
    def n_users(self) -> int:
        return len(self.user_ids_)

    def has_user(self, user_id: int) -> bool:
        return self._user_row(user_id) >= 0

    def unknown_items(self, item_ids: Sequence[int]) -> list[int]:
        """Ids not in the catalog, deduplicated, in the order given."""
        ids = list(dict.fromkeys(int(i) for i in item_ids))
        return [i for i, pos in zip(ids, self._positions(ids)) if pos < 0]

    def title(self, item_id: int) -> str:
        return str(self.titles_[self._position(item_id)])

    def year(self, item_id: int) -> int | None:
        year = int(self.years_[self._position(item_id)])
        return year or None

    def genres(self, item_id: int) -> list[str]:
        text = str(self.genres_[self._position(item_id)])
        return text.split("|") if text else []

    def rated_items(self, user_id: int) -> np.ndarray:
        """Ids of the items a known user rated (empty for an unknown user)."""
        rated, _ = self._user_ratings(self._user_row(user_id))
        return self.item_ids_[rated]

    def liked_by(self, user_id: int) -> np.ndarray:
        """Ids of the items a known user rated at or above the like threshold: their seeds."""
        return self.item_ids_[self._liked_positions(self._user_row(user_id))]

    def raters(self, item_ids: Sequence[int]) -> np.ndarray:
        """How many users rated each item (0 for an unknown id)."""
        positions = self._positions(item_ids)
        counts = np.rint(self.popularity_[np.maximum(positions, 0)] * self.n_users).astype(np.int64)
        return np.where(positions >= 0, counts, 0)

    def _positions(self, item_ids: Sequence[int]) -> np.ndarray:
        """Catalog positions of ``item_ids``; -1 where unknown."""
        return _lookup(self.item_ids_, item_ids)

    def _known(self, item_ids: Sequence[int]) -> np.ndarray:
        """Sorted unique catalog positions of the known ids among ``item_ids``."""
        positions = self._positions(item_ids)
        return sorted_unique(positions[positions >= 0])

    def _known_positions(self, item_ids: Sequence[int]) -> np.ndarray:
        """Catalog positions of ``item_ids`` in order; every id must be known."""
        positions = self._positions(item_ids)
        if len(positions) and positions.min() < 0:
            raise KeyError("unknown item id")
        return positions

    def _mask(self, genres: Sequence[str] | None) -> np.uint64 | None:
        """The genre bit mask of ``genres`` (unknown names add nothing); None: no filter."""
        if genres is None:
            return None
        bits = {name: b for b, name in enumerate(self.genre_names_)}
        return np.uint64(sum(1 << bits[g] for g in set(genres) if g in bits))

    def _user_ratings(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(sorted catalog positions, ratings) of user ``row``'s rated items; empty for row -1."""
        if row < 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        start, end = self.user_items_.indptr[row : row + 2].tolist()
        return self.user_items_.indices[start:end], self.user_items_.data[start:end]

    def _liked_positions(self, row: int) -> np.ndarray:
        """Sorted catalog positions of the items user ``row`` liked (empty for row -1)."""
        rated, ratings = self._user_ratings(row)
        return rated[ratings >= self.like_threshold_]

    def _position(self, item_id: int) -> int:
        pos = int(self._positions([item_id])[0])
        if pos < 0:
            raise KeyError(item_id)
        return pos

    def _user_row(self, user_id: int) -> int:
        """The user's row, -1 if unknown (one scalar search; a known user's request makes three)."""
        ids = self.user_ids_
        row = int(ids.searchsorted(user_id))
        return row if row < len(ids) and ids[row] == user_id else -1


def _lookup(sorted_ids: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    wanted = np.asarray(ids, dtype=np.int64).ravel()
    if len(sorted_ids) == 0:
        return np.full(len(wanted), -1, dtype=np.int64)
    pos = np.minimum(sorted_ids.searchsorted(wanted), len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == wanted, pos, -1)
