"""Item-based nearest-neighbour recommender, pickled into the recommend artifact.

The service unpickles this class, so it imports numpy and scipy only.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

#: Items per similarity block in ``fit``; bounds peak memory. At most 2**11 (sort key).
_BLOCK = 2048
#: Catalog size limit of the 23-bit column field in the neighbour sort key.
_MAX_ITEMS = 1 << 23
_ONE_BITS = 0x3F800000  # float32 1.0 as an unsigned integer
#: MovieLens marks items without genres this way; it is not a genre to filter on.
NO_GENRES = "(no genres listed)"
_MAX_GENRES = 64  # one bit each in ``genre_bits_``


class ItemKNNRecommender:
    """Recommends items that co-occur with what a user liked (item-item cosine).

    Similarity uses implicit feedback (any rating means "chose to watch"):
    ``|U_i & U_j| / (sqrt|U_i| * sqrt|U_j| + shrinkage)`` over the users who
    rated both; shrinkage damps pairs seen by few users. Each item keeps its
    ``n_neighbors`` most similar items, rescaled to sum to 1 (float32 CSR), so
    the artifact grows linearly with the catalog and every liked item casts
    one vote.

    Score of item i: the votes it gets from the user's *liked* items (rating
    ``>= like_threshold``; all rated items when fitted without ratings) plus
    ``popularity_weight * popularity / max popularity``. The prior is worth
    ``popularity_weight`` liked items, so it dominates for users who liked
    little and fades for users who liked a lot.

    ``popularity_weight`` is read at request time (refit not needed to change it).

    Fallback: an unknown user, no liked item, or liked items whose neighbours
    were all seen, gets ``popular(k, exclude=<rated or liked>)``; items without
    votes rank by popularity. Ties are broken by popularity, then by item id,
    so rankings are deterministic. Items the user rated (or liked) are never
    returned. A request scores only the items its seeds vote for, plus the
    k most popular others, with ``np.partition`` for the top k: its cost does
    not grow with the catalog.

    Filters: ``genres`` keeps items with at least one of those genres (a bit
    mask per item), ``exclude`` leaves ids out (unknown ids are ignored). Both
    are applied before the top k, and the popular candidates come from per-genre
    popularity lists, so a filtered request still costs O(neighbours + k), and
    equals ranking the filtered catalog.

    Explanations (``explain``): an item's score is its similarity votes plus
    its popularity part; ``explain`` gives the votes and the seed that cast the
    largest one.
    """

    def __init__(
        self,
        n_neighbors: int = 50,
        shrinkage: float = 50.0,
        popularity_weight: float = 1.0,
        like_threshold: float = 4.0,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.shrinkage = shrinkage
        self.popularity_weight = popularity_weight
        self.like_threshold = like_threshold

    def fit(
        self,
        user_ids: Sequence[int],
        item_ids: Sequence[int],
        ratings: Sequence[float] | None = None,
        titles: Sequence[str] | None = None,
        years: Sequence[float] | None = None,
        genres: Sequence[str] | None = None,
    ) -> "ItemKNNRecommender":
        """Fit from one entry per rating; metadata is per rating row, first one wins."""
        users, u_idx = np.unique(np.asarray(user_ids, dtype=np.int64), return_inverse=True)
        items, i_idx = np.unique(np.asarray(item_ids, dtype=np.int64), return_inverse=True)
        if len(items) > _MAX_ITEMS:
            raise ValueError(f"catalog of {len(items)} items exceeds {_MAX_ITEMS}")
        values = np.ones(len(u_idx)) if ratings is None else np.asarray(ratings, dtype=float)
        self.like_threshold_ = -np.inf if ratings is None else float(self.like_threshold)
        self.user_ids_, self.item_ids_ = users, items
        self.user_items_ = _csr(u_idx, i_idx, values, (len(users), len(items)))
        watched = self.user_items_.T.tocsr()
        watched.data[:] = 1.0
        self.similarity_ = _neighbours(watched, self.n_neighbors, self.shrinkage)
        self._fit_popularity(np.diff(watched.indptr) / len(users))
        first = np.unique(i_idx, return_index=True)[1]  # first rating row of each item
        self.titles_ = _texts(titles, first, len(items))
        self.genres_ = _texts(genres, first, len(items))
        self.years_ = _years(years, first, len(items))
        self._fit_genres()
        return self

    def _fit_popularity(self, share: np.ndarray) -> None:
        """Share of users who rated each item, and the order that breaks all ties."""
        self.popularity_ = share
        self.popular_order_ = np.lexsort((self.item_ids_, -share))
        self.popularity_rank_ = np.empty(len(share), dtype=np.int64)
        self.popularity_rank_[self.popular_order_] = np.arange(len(share))

    def _fit_genres(self) -> None:
        """A genre bit mask per item, and each genre's items in popularity order."""
        names = sorted({g for text in self.genres_ for g in str(text).split("|")} - {"", NO_GENRES})
        if len(names) > _MAX_GENRES:
            raise ValueError(f"{len(names)} genres exceed {_MAX_GENRES}")
        index = {name: bit for bit, name in enumerate(names)}
        bits = np.zeros(len(self.genres_), dtype=np.uint64)
        for i, text in enumerate(self.genres_):
            for g in str(text).split("|"):
                if g in index:
                    bits[i] |= np.uint64(1 << index[g])
        ordered = [self.popular_order_[(bits[self.popular_order_] & np.uint64(1 << b)) != 0] for b in range(len(names))]
        self.genre_names_ = np.array(names, dtype=object)
        self.genre_bits_ = bits
        self.genre_indptr_ = np.concatenate([[0], np.cumsum([len(o) for o in ordered], dtype=np.int64)])
        self.genre_popular_ = np.concatenate(ordered).astype(np.int64) if ordered else np.empty(0, dtype=np.int64)

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
        rated, _ = self._user_ratings(user_id)
        return self.item_ids_[rated]

    def liked_by(self, user_id: int) -> np.ndarray:
        """Ids of the items a known user rated at or above the like threshold: their seeds."""
        rated, ratings = self._user_ratings(user_id)
        return self.item_ids_[rated[ratings >= self.like_threshold_]]

    def raters(self, item_ids: Sequence[int]) -> np.ndarray:
        """How many users rated each item (0 for an unknown id)."""
        positions = self._positions(item_ids)
        counts = np.rint(self.popularity_[np.maximum(positions, 0)] * self.n_users).astype(np.int64)
        return np.where(positions >= 0, counts, 0)

    def recommend_for_user(
        self, user_id: int, k: int, genres: Sequence[str] | None = None, exclude: Sequence[int] = ()
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k unseen items for a known user; popularity for an unknown one."""
        if self._user_row(user_id) < 0:
            return self.popular(k, exclude, genres)
        rated, ratings = self._user_ratings(user_id)
        seen = np.union1d(rated, self._known(exclude))
        return self._recommend(rated[ratings >= self.like_threshold_], seen, k, self._mask(genres))

    def recommend_for_items(
        self, liked: Sequence[int], k: int, genres: Sequence[str] | None = None, exclude: Sequence[int] = ()
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k items for someone who liked ``liked``; unknown ids are ignored."""
        positions = self._known(liked)
        seen = np.union1d(positions, self._known(exclude))
        return self._recommend(positions, seen, k, self._mask(genres))

    def popular(
        self, k: int, exclude: Sequence[int] = (), genres: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Most-rated items (score: share of users who rated it), minus ``exclude``."""
        head = self._most_popular(max(int(k), 0), self._known(exclude), self._mask(genres))
        return self.item_ids_[head], self.popularity_[head].astype(np.float64)

    def explain(self, seeds: Sequence[int], items: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per item: the similarity votes ``seeds`` gave it (its score minus the popularity
        part), the seed that gave the largest vote (-1: none; ties: lower id) and how many
        seeds voted. O(|seeds| k)."""
        sources = self._known(seeds)
        block = self.similarity_[sources][:, self._known_positions(items)].toarray().astype(np.float64)
        voters = np.count_nonzero(block, axis=0)
        if block.shape[0] == 0:
            return np.zeros(block.shape[1]), np.full(block.shape[1], -1, dtype=np.int64), voters
        best = self.item_ids_[sources[block.argmax(axis=0)]]
        return block.sum(axis=0), np.where(voters > 0, best, -1), voters

    def _most_popular(self, k: int, excluded: np.ndarray, mask: np.uint64 | None = None) -> np.ndarray:
        """Positions of the k most popular items not in ``excluded`` (with a genre in ``mask``):
        O(k + |excluded|) per genre."""
        n = k + len(excluded)
        head = self.popular_order_[:n] if mask is None else self._popular_in(mask, n)
        return head[~np.isin(head, excluded)][:k]

    def _popular_in(self, mask: np.uint64, n: int) -> np.ndarray:
        """The n most popular items with a genre in ``mask``: each is among its genre's first n."""
        starts, ends = self.genre_indptr_[:-1], self.genre_indptr_[1:]
        parts = [self.genre_popular_[starts[b] : min(starts[b] + n, ends[b])]
                 for b in range(len(self.genre_names_)) if int(mask) >> b & 1]
        merged = np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
        return merged[np.argsort(self.popularity_rank_[merged])][:n]

    def _recommend(
        self, seeds: np.ndarray, seen: np.ndarray, k: int, mask: np.uint64 | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Score only the items that got votes plus the k most popular others.

        Unvoted items score ``prior * popularity``, so no unvoted item outside
        the k most popular can beat them: the result equals ranking the whole
        (filtered) catalog, at a cost set by the seeds' neighbours, not the
        catalog size.
        """
        voted, votes = _column_sums(self.similarity_[seeds])
        keep = ~np.isin(voted, seen)
        if mask is not None:
            keep &= (self.genre_bits_[voted] & mask) != 0
        voted, votes = voted[keep], votes[keep]
        k = max(int(k), 0)
        if len(voted) == 0:
            head = self._most_popular(k, seen, mask)
            return self.item_ids_[head], self.popularity_[head].astype(np.float64)
        others = self._most_popular(k, np.concatenate([seen, voted]), mask)
        candidates = np.concatenate([voted, others])
        prior = self.popularity_[candidates] / self.popularity_[self.popular_order_[0]]
        scores = np.concatenate([votes, np.zeros(len(others))]) + self.popularity_weight * prior
        top = self._top_k(candidates, scores, k)
        return self.item_ids_[candidates[top]], scores[top]

    def _top_k(self, positions: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
        """Indices of the k best ``scores``; ties go to the more popular item
        (``popularity_rank_``: popularity, then item id). O(n) + O(k log k)."""
        k = min(k, len(scores))
        if k == 0:
            return np.empty(0, dtype=np.int64)
        ranks = self.popularity_rank_[positions]
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        above, tied = np.flatnonzero(scores > kth), np.flatnonzero(scores == kth)
        need = k - len(above)
        if len(tied) > need:
            tied = tied[np.argpartition(ranks[tied], need - 1)[:need]]
        chosen = np.concatenate([above, tied])
        return chosen[np.lexsort((ranks[chosen], -scores[chosen]))]

    def _positions(self, item_ids: Sequence[int]) -> np.ndarray:
        """Catalog positions of ``item_ids``; -1 where unknown."""
        return _lookup(self.item_ids_, item_ids)

    def _known(self, item_ids: Sequence[int]) -> np.ndarray:
        """Sorted unique catalog positions of the known ids among ``item_ids``."""
        positions = self._positions(item_ids)
        return np.unique(positions[positions >= 0])

    def _known_positions(self, item_ids: Sequence[int]) -> np.ndarray:
        """Catalog positions of ``item_ids`` in order; every id must be known."""
        positions = self._positions(item_ids)
        if np.any(positions < 0):
            raise KeyError("unknown item id")
        return positions

    def _mask(self, genres: Sequence[str] | None) -> np.uint64 | None:
        """The genre bit mask of ``genres`` (unknown names add nothing); None: no filter."""
        if genres is None:
            return None
        bits = {name: b for b, name in enumerate(self.genre_names_)}
        return np.uint64(sum(1 << bits[g] for g in set(genres) if g in bits))

    def _user_ratings(self, user_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(catalog positions, ratings) of a user's rated items; empty for an unknown user."""
        row = self._user_row(user_id)
        if row < 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        span = slice(self.user_items_.indptr[row], self.user_items_.indptr[row + 1])
        return self.user_items_.indices[span].astype(np.int64), self.user_items_.data[span]

    def _position(self, item_id: int) -> int:
        pos = int(self._positions([item_id])[0])
        if pos < 0:
            raise KeyError(item_id)
        return pos

    def _user_row(self, user_id: int) -> int:
        return int(_lookup(self.user_ids_, [user_id])[0])


def _column_sums(rows: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Columns with a nonzero entry in ``rows`` and their sums (float64)."""
    total = sparse.csr_matrix(
        (rows.data.astype(np.float64), rows.indices, [0, rows.nnz]), shape=(1, rows.shape[1])
    )
    total.sum_duplicates()
    return total.indices.astype(np.int64), total.data


def _lookup(sorted_ids: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    wanted = np.asarray(ids, dtype=np.int64).ravel()
    if len(sorted_ids) == 0:
        return np.full(len(wanted), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_ids, wanted), len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == wanted, pos, -1)


def _csr(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple) -> sparse.csr_matrix:
    """CSR of float32 values; a repeated (row, col) keeps its last value."""
    keys = rows.astype(np.int64) * shape[1] + cols
    last = len(keys) - 1 - np.unique(keys[::-1], return_index=True)[1]
    matrix = sparse.csr_matrix(
        (values[last].astype(np.float32), (rows[last], cols[last])), shape=shape
    )
    matrix.sort_indices()
    return matrix


def _neighbours(by_item: sparse.csr_matrix, n_neighbors: int, shrinkage: float) -> sparse.csr_matrix:
    """Each item's top ``n_neighbors`` shrunk cosines, rows rescaled to sum to 1."""
    norms = np.sqrt(np.diff(by_item.indptr).astype(np.float64))
    blocks = [
        _neighbour_block(by_item, start, norms, n_neighbors, shrinkage)
        for start in range(0, by_item.shape[0], _BLOCK)
    ]
    if not blocks:
        return sparse.csr_matrix(by_item.shape[:1] * 2, dtype=np.float32)
    similarity = sparse.vstack(blocks, format="csr")
    totals = np.asarray(similarity.sum(axis=1, dtype=np.float64)).ravel()
    per_entry = np.repeat(totals, np.diff(similarity.indptr))
    similarity.data = (similarity.data / per_entry).astype(np.float32)
    return similarity


def _neighbour_block(
    by_item: sparse.csr_matrix, start: int, norms: np.ndarray, n_neighbors: int, shrinkage: float
) -> sparse.csr_matrix:
    """Rows ``start:start + _BLOCK`` of the top-neighbour matrix (not yet rescaled)."""
    block = (by_item[start : start + _BLOCK] @ by_item.T).tocoo()
    rows, cols = block.row.astype(np.int64), block.col.astype(np.int64)
    sims = block.data / (norms[rows + start] * norms[cols] + shrinkage)
    sims = np.clip(sims, 0.0, 1.0).astype(np.float32)
    keep = (rows + start != cols) & (sims > 0)
    rows, cols, sims = rows[keep], cols[keep], sims[keep]
    order = np.argsort(_row_similarity_column_key(rows, sims, cols))
    rows, cols, sims = rows[order], cols[order], sims[order]
    counts = np.bincount(rows, minlength=block.shape[0])
    rank_in_row = np.arange(len(rows)) - (np.cumsum(counts) - counts)[rows]
    top = rank_in_row < n_neighbors
    shape = (block.shape[0], by_item.shape[0])
    result = sparse.csr_matrix((sims[top], (rows[top], cols[top])), shape=shape)
    result.sort_indices()
    return result


def _row_similarity_column_key(rows: np.ndarray, sims: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """One unique uint64 per entry ordering by row, similarity (desc), column.

    Unique keys make a single fast (unstable) sort deterministic. Bits: row in
    the block (11, hence ``_BLOCK <= 2048``), bits of float32 1.0 minus bits of
    the float32 sim (30; positive floats order like their bits; sims are in
    (0, 1]), column (23, hence ``_MAX_ITEMS``).
    """
    inverse = np.uint64(_ONE_BITS) - sims.view(np.uint32).astype(np.uint64)
    return (rows.astype(np.uint64) << 53) | (inverse << 23) | cols.astype(np.uint64)


def _texts(values: Sequence[str] | None, first: np.ndarray, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, "", dtype=object)
    picked = np.asarray(values, dtype=object)[first]
    return np.array([v if isinstance(v, str) else "" for v in picked], dtype=object)


def _years(values: Sequence[float] | None, first: np.ndarray, n: int) -> np.ndarray:
    """Release years as int16; 0 where unknown."""
    if values is None:
        return np.zeros(n, dtype=np.int16)
    picked = np.asarray(values, dtype=np.float64)[first]
    return np.nan_to_num(picked, nan=0.0).astype(np.int16)
