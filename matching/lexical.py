"""The lexical channel: how much of one title's wording another shares, by BM25.

Embeddings are weakest where wording is strongest: a rare word two titles share ("angiography",
"V-belt"), a spelling the encoder never saw, a word in another script. Published work on linking job
titles to occupations finds BM25 competitive with multilingual encoders on such titles, so the matcher
scores both and combines them.

Texts are folded first (`scripts.fold`: case, diacritics and Cyrillic or Latin script), then counted as
words and as character 3- to 5-grams within words; the n-grams stand in for stemming, which the
region's languages lack in maintained libraries, so "kardiolog" meets "kardiologija" and "cardiologist"
meets "cardiology". Terms are hashed (scikit-learn's `HashingVectorizer`), so nothing is fitted and any
text can be scored. Their rarity (inverse document frequency) and the typical length are those of every
label of the packaged taxonomy's occupations, a fixed reference corpus, so a score does not depend on
who else is registered: "specialist" and "manager" count little, "cardiologist" much.

`similarity(query, documents)` is the BM25 score of each document for the query's terms divided by the
query's score against itself, so it reads as the share of the query's weighted wording a document
carries, in [0, 1]. `agreement` averages both directions, so a long title that contains a short one and
a short one contained in a long one are scored alike whichever is the query.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from diaspora.matching.scripts import fold

K1 = 1.2  # term-frequency saturation (the usual BM25 constants)
B = 0.75  # length normalisation
_FEATURES = 2**20
_REMEMBERED = 20_000  # texts whose counts are kept (under a kilobyte each)
_WORD = re.compile(r"\w+")


def _vectorizers() -> tuple[HashingVectorizer, HashingVectorizer]:
    def hashed(**analysis: Any) -> HashingVectorizer:
        return HashingVectorizer(
            n_features=_FEATURES, alternate_sign=False, norm=None, lowercase=False, **analysis
        )

    words = hashed(analyzer="word", token_pattern=_WORD.pattern)
    return words, hashed(analyzer="char_wb", ngram_range=(3, 5))


Row = tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]  # a text's term ids (sorted), BM25 weights


class LexicalScorer:
    """BM25 agreement of short texts (titles), with the term statistics of a reference corpus."""

    def __init__(self, reference: Sequence[str]) -> None:
        if not reference:
            raise ValueError("the reference corpus is empty")
        self._words, self._grams = _vectorizers()
        self._rows: OrderedDict[str, Row] = OrderedDict()
        self._lock = threading.Lock()
        counts = self._count(reference)
        present = counts.copy()
        present.data[:] = 1.0
        frequency = np.asarray(present.sum(axis=0)).ravel()
        n = len(reference)
        self._idf = np.log1p((n - frequency + 0.5) / (frequency + 0.5)).astype(np.float64)
        self._average_length = float(counts.sum()) / n

    def _count(self, texts: Sequence[str]) -> sp.csr_matrix:
        folded = [fold(t) for t in texts]  # once for both analyses
        both = sp.hstack([self._words.transform(folded), self._grams.transform(folded)], format="csr")
        both = sp.csr_matrix(both, dtype=np.float64)
        both.sort_indices()
        return both

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """BM25 document weights: each term's saturated, length-normalised frequency times its rarity."""
        lengths = np.asarray(counts.sum(axis=1)).ravel()
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        tf = counts.data
        norm = K1 * (1.0 - B + B * lengths[rows] / self._average_length)
        weighted = counts.copy()
        weighted.data = self._idf[counts.indices] * tf * (K1 + 1.0) / (tf + norm)
        return weighted

    def _weighted_rows(self, texts: Sequence[str]) -> list[Row]:
        """Each text's terms and weights. They are remembered (the same candidates come back request
        after request), and the texts not seen lately are counted together."""
        with self._lock:  # requests are ranked in worker threads
            missing = list(dict.fromkeys(t for t in texts if t not in self._rows))
            if missing:
                weighted = self._weigh(self._count(missing))
                for i, text in enumerate(missing):
                    start, end = weighted.indptr[i], weighted.indptr[i + 1]
                    self._rows[text] = (weighted.indices[start:end], weighted.data[start:end])
            rows = []
            for text in texts:
                rows.append(self._rows[text])
                self._rows.move_to_end(text)
            while len(self._rows) > _REMEMBERED:
                self._rows.popitem(last=False)
        return rows

    def _matrix(self, rows: Sequence[Row], *, presence: bool = False) -> sp.csr_matrix:
        lengths = np.fromiter((len(r[0]) for r in rows), dtype=np.int64, count=len(rows))
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.concatenate([r[0] for r in rows])
        data = np.ones(len(indices)) if presence else np.concatenate([r[1] for r in rows])
        return sp.csr_matrix((data, indices, indptr), shape=(len(rows), 2 * _FEATURES))

    def matrix(self, queries: Sequence[str], documents: Sequence[str]) -> npt.NDArray[np.float64]:
        """similarity[i, j]: the share of query i's weighted terms that document j carries, in [0, 1]."""
        if not queries or not documents:
            return np.zeros((len(queries), len(documents)))
        query_rows, document_rows = self._weighted_rows(queries), self._weighted_rows(documents)
        scores = (self._matrix(query_rows, presence=True) @ self._matrix(document_rows).T).toarray()
        own = np.array([w.sum() for _, w in query_rows])
        return _shares(scores, own[:, None])

    def similarity(self, query: str, documents: Sequence[str]) -> npt.NDArray[np.float64]:
        row: npt.NDArray[np.float64] = self.matrix([query], documents)[0]
        return row

    def agreement(self, text: str, others: Sequence[str]) -> npt.NDArray[np.float64]:
        """How much `text` and each of `others` share their wording, both ways averaged, in [0, 1]:
        `matrix` both ways for one text against many, in plain array operations (a request's work)."""
        if not others:
            return np.zeros(0)
        (mine, my_weights), *theirs = self._weighted_rows([text, *others])
        lengths = np.fromiter((len(ids) for ids, _ in theirs), dtype=np.int64, count=len(theirs))
        owner = np.repeat(np.arange(len(theirs)), lengths)  # the other text each term belongs to
        ids = np.concatenate([i for i, _ in theirs])
        weights = np.concatenate([w for _, w in theirs])
        position = np.minimum(np.searchsorted(mine, ids), max(len(mine) - 1, 0))
        shared = mine[position] == ids if len(mine) else np.zeros(len(ids), dtype=bool)
        count = len(theirs)

        def per_text(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            return np.bincount(owner, weights=values, minlength=count).astype(np.float64)

        forward = per_text(np.where(shared, weights, 0.0))
        backward = per_text(np.where(shared, my_weights[position] if len(mine) else 0.0, 0.0))
        own = per_text(weights)
        both: npt.NDArray[np.float64] = (_shares(forward, my_weights.sum()) + _shares(backward, own)) / 2.0
        return both


def _shares(scores: npt.NDArray[np.float64], own: Any) -> npt.NDArray[np.float64]:
    """Scores as shares of the query's own score (0 where it has none), clipped to [0, 1]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(own > 0, scores / own, 0.0)
    clipped: npt.NDArray[np.float64] = np.clip(shares, 0.0, 1.0)
    return clipped


def shared_words(text: str, other: str) -> list[str]:
    """The words (folded) two texts both contain, in the first one's order: what an explanation shows."""
    theirs = set(_WORD.findall(fold(other)))
    seen: list[str] = []
    for word in _WORD.findall(fold(text)):
        if word in theirs and word not in seen:
            seen.append(word)
    return seen


@cache
def packaged_scorer() -> LexicalScorer:
    """The scorer with the packaged taxonomy's occupation labels as its reference corpus (built once per
    process: about a second)."""
    from diaspora.matching.occupations import read_occupations

    labels = [label for o in read_occupations() for label in (o.label, *o.labels)]
    return LexicalScorer(labels)
