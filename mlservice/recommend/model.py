"""Item-based nearest-neighbour recommender, pickled into the recommend artifact.

The service unpickles this class, so it and the modules it imports (relatively:
``fitting``, ``votes``, ``topk``) use numpy, scipy and the standard library only.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import fitting, topk
from .catalog import CatalogLookups
from .votes import Description, MarksPool, Rows, gather, votes_for, sorted_unique, unseen_sums

#: Attributes serving derives from the fitted ones on first use; never pickled.
_SERVING = ("_marks_pool",)
#: A ranking: (item ids, scores), best first; with ``with_reasons=True``, also their ``Description``.
Ranking = tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, Description]
_NO_SEEDS = np.empty(0, dtype=np.int64)


class ItemKNNRecommender(CatalogLookups):
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
    not grow with the catalog. The votes are read straight from the CSR
    arrays (``votes``), never through scipy indexing.

    Filters: ``genres`` keeps items with at least one of those genres (a bit
    mask per item), ``exclude`` leaves ids out (unknown ids are ignored). Both
    are applied before the top k, and the popular candidates come from per-genre
    popularity lists, so a filtered request still costs O(neighbours + k), and
    equals ranking the filtered catalog.

    Explanations (``votes_for``; ``describe`` adds titles): an item's score is its
    similarity votes plus its popularity part; ``votes_for`` gives the votes and
    the seed that cast the largest one, from the rows the ranking just read.
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

    def __getstate__(self) -> dict:
        """The fitted attributes only: what serving derives is rebuilt after unpickling."""
        return {name: value for name, value in self.__dict__.items() if name not in _SERVING}

    def __setstate__(self, state: dict) -> None:
        """Unpickle, refusing (ValueError) arrays the request path cannot read safely:
        its row gather is scipy's C++ loop, which trusts the CSR structure."""
        self.__dict__.update(state)
        if "similarity_" in state:
            self._check_arrays()

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
        for name in _SERVING:
            self.__dict__.pop(name, None)
        users, u_idx = np.unique(np.asarray(user_ids, dtype=np.int64), return_inverse=True)
        items, i_idx = np.unique(np.asarray(item_ids, dtype=np.int64), return_inverse=True)
        if len(items) > fitting.MAX_ITEMS:
            raise ValueError(f"catalog of {len(items)} items exceeds {fitting.MAX_ITEMS}")
        values = np.ones(len(u_idx)) if ratings is None else np.asarray(ratings, dtype=float)
        self.like_threshold_ = -np.inf if ratings is None else float(self.like_threshold)
        self.user_ids_, self.item_ids_ = users, items
        self.user_items_ = fitting.csr(u_idx, i_idx, values, (len(users), len(items)))
        watched = self.user_items_.T.tocsr()
        watched.data[:] = 1.0
        self.similarity_ = fitting.neighbours(watched, self.n_neighbors, self.shrinkage)
        self._fit_popularity(np.diff(watched.indptr) / len(users))
        first = np.unique(i_idx, return_index=True)[1]  # first rating row of each item
        self.titles_ = fitting.texts(titles, first, len(items))
        self.genres_ = fitting.texts(genres, first, len(items))
        self.years_ = fitting.years(years, first, len(items))
        self._fit_genres()
        return self

    def _fit_popularity(self, share: np.ndarray) -> None:
        """Share of users who rated each item, and the order that breaks all ties."""
        self.popularity_ = share
        self.popular_order_, self.popularity_rank_ = fitting.popularity_order(share, self.item_ids_)

    def _fit_genres(self) -> None:
        """A genre bit mask per item, and each genre's items in popularity order."""
        index = fitting.genre_index(self.genres_, self.popular_order_)
        self.genre_names_, self.genre_bits_, self.genre_indptr_, self.genre_popular_ = index

    def recommend_for_user(
        self, user_id: int, k: int, genres: Sequence[str] | None = None, exclude: Sequence[int] = (),
        with_reasons: bool = False,
    ) -> Ranking:
        """Top-k unseen items for a known user; popularity for an unknown one.

        With ``with_reasons``, also ``describe(liked_by(user_id), items)``, from the rows the ranking read.
        """
        row = self._user_row(user_id)
        if row < 0:
            return self.popular(k, exclude, genres, with_reasons)
        rated, ratings = self._user_ratings(row)
        seen = sorted_unique(np.concatenate([rated, self._known(exclude)])) if len(exclude) else rated
        return self._recommend(rated[ratings >= self.like_threshold_], seen, k, self._mask(genres), with_reasons)

    def recommend_for_items(
        self, liked: Sequence[int], k: int, genres: Sequence[str] | None = None, exclude: Sequence[int] = (),
        with_reasons: bool = False,
    ) -> Ranking:
        """Top-k items for someone who liked ``liked``; unknown ids are ignored.

        With ``with_reasons``, also ``describe(liked, items)``, from the rows the ranking read.
        """
        positions = self._known(liked)
        seen = sorted_unique(np.concatenate([positions, self._known(exclude)])) if len(exclude) else positions
        return self._recommend(positions, seen, k, self._mask(genres), with_reasons)

    def popular(
        self, k: int, exclude: Sequence[int] = (), genres: Sequence[str] | None = None, with_reasons: bool = False
    ) -> Ranking:
        """Most-rated items (score: share of users who rated it), minus ``exclude``; with
        ``with_reasons``, also their ``describe([], items)`` (no seed voted for any)."""
        excluded = self._known(exclude)
        with self._marks().borrowed() as marks:
            marks.write(excluded, 1)
            head = self._most_popular(max(int(k), 0), len(excluded), self._mask(genres), marks.array)
        ranked = self.item_ids_[head], self.popularity_[head].astype(np.float64)
        return (*ranked, self._described(_NO_SEEDS, head)) if with_reasons else ranked

    def votes_for(self, seeds: Sequence[int], items: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per item: the similarity votes ``seeds`` gave it (its score minus the popularity
        part), the seed that gave the largest vote (-1: none; ties: lower id) and how many
        seeds voted. O(|seeds| n_neighbors + k)."""
        votes, best, voters = self._votes_for(self._known(seeds), self._known_positions(items))
        return votes, np.where(best >= 0, self.item_ids_[best], -1), voters

    def describe(self, seeds: Sequence[int], items: Sequence[int]) -> Description:
        """``votes_for`` plus the titles a response shows, looking each list of ids up once."""
        return self._described(self._known(seeds), self._known_positions(items))

    def _described(self, sources: np.ndarray, positions: np.ndarray, rows: Rows | None = None) -> Description:
        """``describe`` on catalog positions; ``rows``: the sources' rows, when the caller just read them."""
        votes, best, voters = self._votes_for(sources, positions, rows)
        because = np.where(best >= 0, self.item_ids_[best], -1).tolist()
        titles = [str(t) for t in self.titles_[positions]]
        named = [str(t) for t in self.titles_[best]]  # best -1: the last title, dropped below
        return Description(titles, votes.tolist(), because, [t if b >= 0 else None for b, t in zip(because, named)],
                           voters.tolist())

    def _votes_for(
        self, sources: np.ndarray, positions: np.ndarray, rows: Rows | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``votes_for`` on catalog positions; the top-voting seed as a position (-1: none)."""
        if len(sources) == 0:
            n = len(positions)
            return np.zeros(n), np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int64)
        with self._marks().borrowed() as marks:
            votes, best, voters = votes_for(self._rows(sources) if rows is None else rows, positions, marks)
        return votes, np.where(best >= 0, sources[best], -1), voters

    def _recommend(
        self, seeds: np.ndarray, seen: np.ndarray, k: int, mask: np.uint64 | None = None, with_reasons: bool = False
    ) -> Ranking:
        """Score only the items that got votes plus the k most popular others.

        Unvoted items score ``prior * popularity``, so no unvoted item outside
        the k most popular can beat them: the result equals ranking the whole
        (filtered) catalog, at a cost set by the seeds' neighbours, not the
        catalog size. With ``with_reasons``, the ranked items' description comes
        from the same rows.
        """
        k = max(int(k), 0)
        rows = self._rows(seeds)
        with self._marks().borrowed() as marks:
            voted, votes, taken = unseen_sums(rows, seen, marks)
            if mask is not None:
                keep = (self.genre_bits_[voted] & mask) != 0
                voted, votes = voted[keep], votes[keep]
            others = self._most_popular(k, len(rows.columns) + len(seen), mask, taken)
        if len(voted) == 0:
            positions, scores = others, self.popularity_[others].astype(np.float64)
        else:
            candidates = np.concatenate([voted, others])
            prior = self.popularity_[candidates] / self.popularity_[self.popular_order_[0]]
            scores = self.popularity_weight * prior
            scores[: len(votes)] += votes  # votes + prior part, as ``votes_for`` splits them
            top = self._top_k(candidates, scores, k)
            positions, scores = candidates[top], scores[top]
        ranked = self.item_ids_[positions], scores
        return (*ranked, self._described(seeds, positions, rows)) if with_reasons else ranked

    def _rows(self, positions: np.ndarray) -> Rows:
        """The neighbours and similarities of the items at ``positions``, item by item."""
        similarity = self.similarity_
        return gather(similarity.indptr, similarity.indices, similarity.data, positions)

    def _top_k(self, positions: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
        """Indices of the k best ``scores``; ties go to the more popular item
        (``popularity_rank_``: popularity, then item id)."""
        return topk.best(scores, positions, self.popularity_rank_, k)

    def _most_popular(self, k: int, n_taken: int, mask: np.uint64 | None, taken: np.ndarray) -> np.ndarray:
        """Positions of the k most popular items where ``taken`` is zero (with a genre in
        ``mask``); it is nonzero at ``n_taken`` positions at most. Reads at most
        k + ``n_taken`` items (per genre)."""
        if mask is None:
            return topk.most_popular(lambda n: self.popular_order_[:n], taken, k, k + n_taken)
        bits = [b for b in range(len(self.genre_names_)) if int(mask) >> b & 1]
        indptr, popular, rank = self.genre_indptr_.tolist(), self.genre_popular_, self.popularity_rank_
        return topk.most_popular(lambda n: topk.genre_head(indptr, popular, rank, bits, n), taken, k, k + n_taken)

    def _marks(self) -> MarksPool:
        """Request scratch space, made on first use (never pickled)."""
        pool = self.__dict__.get("_marks_pool")
        if pool is None or pool.size != self.n_items:
            pool = self._marks_pool = MarksPool(self.n_items)
        return pool
