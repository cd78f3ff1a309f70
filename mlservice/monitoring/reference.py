"""The training reference of a model (the card's ``reference``) and the drift of live counts from it.

Drift is measured per input and for the score with the population stability index,
``sum((live - train) * ln(live / train))`` over the bins' shares, and for numbers also with the
Kolmogorov-Smirnov statistic of the binned distributions (the largest gap between the two
cumulative shares at the training deciles; a lower bound of the exact statistic).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mlservice.monitoring.bins import Bins, NumberBins, counts, cut, from_card

#: Shares below this count as this, so an empty bin on either side gives a large, finite index.
SHARE_FLOOR = 1e-4


@dataclass(frozen=True)
class Drift:
    psi: float
    ks: float | None  # numbers and the score only


@dataclass(frozen=True)
class Reference:
    """Each input's bins (model column order) then the score's, and their training counts."""

    inputs: tuple[str, ...]
    bins: tuple[Bins, ...]  # one per input, then the score
    training: tuple[np.ndarray, ...]
    offsets: tuple[int, ...]  # where each one's counts start in a flat row of live counts

    @classmethod
    def from_card(cls, entry: dict[str, Any], inputs: tuple[str, ...]) -> "Reference":
        parts = [*entry["features"], entry["score"]]
        if len(entry["features"]) != len(inputs):
            raise ValueError(f"the card's reference has {len(entry['features'])} inputs, the model {len(inputs)}")
        bins = tuple(from_card(part) for part in parts)
        training = tuple(np.asarray(part["counts"], dtype=np.int64) for part in parts)
        if any(len(t) != b.size for t, b in zip(training, bins)):
            raise ValueError("the card's reference counts do not match its bins")
        sizes = [b.size for b in bins]
        return cls(inputs, bins, training, tuple(int(x) for x in np.cumsum([0, *sizes[:-1]])))

    @property
    def width(self) -> int:
        """Length of a flat row of live counts: every input's bins, then the score's."""
        return self.offsets[-1] + self.bins[-1].size

    def count(self, columns: list[Any], scores: np.ndarray) -> np.ndarray:
        """Live counts of ``columns`` (one sequence per input, model order) and ``scores`` as a flat row;
        a score the model abstained from (NaN) is not counted: abstentions are not a shift of scores."""
        positions = [bins.index(values) + start
                     for values, bins, start in zip([*columns, scores[~np.isnan(scores)]], self.bins, self.offsets)]
        return np.bincount(np.concatenate(positions), minlength=self.width)  # one bincount for every input

    def drift(self, flat: np.ndarray) -> list[Drift]:
        """Each input's drift, then the score's, from a flat row of live counts."""
        return [_drift(flat[start:start + bins.size], train, isinstance(bins, NumberBins))
                for bins, train, start in zip(self.bins, self.training, self.offsets)]


def for_card(names: list[str], rows: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """The card's ``reference`` from the rows a model was fitted on and its scores on them."""
    features = []
    for j, name in enumerate(names):
        column = rows[:, j].tolist()
        bins = cut(column, categorical=any(isinstance(v, str) for v in column))
        features.append({"name": name, **bins.card_entry(), "counts": counts(bins, column).tolist()})
    score_bins = cut(scores, categorical=False)
    score = {**score_bins.card_entry(), "counts": counts(score_bins, scores).tolist()}
    return {"rows": len(rows), "features": features, "score": score}


def psi(live: np.ndarray, train: np.ndarray) -> float:
    a = np.maximum(live / max(live.sum(), 1), SHARE_FLOOR)
    e = np.maximum(train / max(train.sum(), 1), SHARE_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def binned_ks(live: np.ndarray, train: np.ndarray) -> float:
    """Over the values present (the last bin is missing): the largest gap of the cumulative shares."""
    a, e = live[:-1], train[:-1]
    if a.sum() == 0 or e.sum() == 0:
        return 0.0
    return float(np.max(np.abs(np.cumsum(a) / a.sum() - np.cumsum(e) / e.sum())))


def _drift(live: np.ndarray, train: np.ndarray, numeric: bool) -> Drift:
    return Drift(psi(live, train), binned_ks(live, train) if numeric else None)
