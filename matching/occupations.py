"""Occupation links: a job title linked to the ESCO occupations it names, with a confidence.

Job titles are where sentence encoders are weakest ("tree surgeon" and "arborist" are one occupation; "data
engineer" and "data entry clerk" are not), and a classification that lists every way an occupation is
named is the remedy. ESCO publishes, for each of its 3,039 occupations, a preferred label and the
alternative and hidden labels people use (33,416 in all; `occupations.json.gz`, written from the official
export by `tools/occupations.py`), and its ISCO unit group.

A title is linked by character n-grams (3 to 5, within words, TF-IDF, cosine) against every label, after
folding case, diacritics and script (`scripts.fold`), so that word forms, spelling variants and small typos
still meet; a title is read whole and by its parts between commas, brackets and dashes; an occupation's
confidence is its best label's similarity. A title keeps its best `TOP`
occupations whose confidence reaches `FLOOR` and `RELATIVE` of the best one's, so an unclear title keeps
its few plausible readings and a clear one keeps one.

Two linked texts then agree (`occupation_fit`) by the occupations they share (the geometric mean of the two
confidences) or, failing that, by the ISCO unit group they share, at half that. Scoring uses the agreement as
one component beside semantic similarity (`scoring.py`), and the explanation names the occupation.

This service uses the ESCO classification of the European Commission. © European Union; reuse under
Commission Decision 2011/833/EU, with attribution.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from diaspora.matching.scripts import fold

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

PACKAGED = Path(__file__).with_name("occupations.json.gz")
TOP = 3  # readings kept for one title
FLOOR = 0.6  # least label similarity for a link
RELATIVE = 0.85  # a reading is kept only if it is nearly as good as the best one
FAMILY = 0.5  # agreement on the ISCO unit group alone counts half
_BATCH = 256
_PARTS = re.compile(r"[,;:()\[\]/|]| - | \u2013 | \u2014 ")


@dataclass(frozen=True, slots=True)
class Occupation:
    uri: str
    isco: str
    label: str
    labels: tuple[str, ...] = ()  # alternative and hidden labels


@dataclass(frozen=True, slots=True)
class OccupationLink:
    uri: str
    label: str  # the occupation's preferred label
    isco: str
    confidence: float
    matched_label: str  # the label the title was closest to


@dataclass(frozen=True, slots=True)
class OccupationFit:
    """How two linked texts agree: `value` in [0, 1], the occupation they meet on, and whether they meet on
    the occupation itself or only on its ISCO unit group ("family")."""

    value: float
    occupation: OccupationLink
    via: str  # "occupation" or "family"


def read_occupations(path: Path = PACKAGED) -> list[Occupation]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        payload = json.load(handle)
    return [
        Occupation(uri=o["uri"], isco=o["isco"], label=o["label"], labels=tuple(o["labels"]))
        for o in payload["occupations"]
    ]


class OccupationLinker:
    """Links titles to occupations. Thread-safe; recent titles are remembered."""

    def __init__(
        self,
        occupations: Sequence[Occupation] | None = None,
        *,
        without_labels: Iterable[str] = (),
        cache_size: int = 50_000,
    ) -> None:
        """`occupations`: the packaged ESCO ones when None. `without_labels`: labels to leave out (folded
        comparison), for measuring on a labelled set whose queries are themselves taxonomy labels: the
        linker then knows every other name of an occupation, but not the very words of the query. The
        label index is built on first use (about two seconds)."""
        self._given = None if occupations is None else list(occupations)
        self._left_out = {fold(label) for label in without_labels}
        self._built = False
        self._cache: OrderedDict[str, tuple[OccupationLink, ...]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _build(self) -> None:
        with self._lock:
            if self._built:
                return
            from sklearn.feature_extraction.text import TfidfVectorizer

            self.occupations = read_occupations() if self._given is None else self._given
            labels: list[str] = []
            owners: list[int] = []
            self._label_text: list[str] = []
            for number, occupation in enumerate(self.occupations):
                for label in dict.fromkeys((occupation.label, *occupation.labels)):
                    folded = fold(label)
                    if folded and folded not in self._left_out:
                        labels.append(folded)
                        owners.append(number)
                        self._label_text.append(label)
            self._owners = np.asarray(owners)
            # Labels are grouped by occupation: the first label of each group starts a segment.
            self._starts = np.flatnonzero(np.r_[True, np.diff(self._owners) != 0])
            self._segment_owner = self._owners[self._starts]
            self._vectorizer: TfidfVectorizer = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, dtype=np.float32
            )
            self._labels_t = self._vectorizer.fit_transform(labels).T.tocsr()
            self._built = True

    @property
    def label_count(self) -> int:
        self._build()
        return len(self._owners)

    def link(self, text: str) -> tuple[OccupationLink, ...]:
        return self.link_many([text])[0]

    def link_many(self, texts: Sequence[str]) -> list[tuple[OccupationLink, ...]]:
        """Each text's occupation links, best first (empty when no label is close enough)."""
        self._build()
        keys = [fold(t) for t in texts]
        found: dict[str, tuple[OccupationLink, ...]] = {}
        with self._lock:
            for key in keys:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    found[key] = self._cache[key]
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        for first in range(0, len(missing), _BATCH):
            batch = missing[first : first + _BATCH]
            for key, links in zip(batch, self._link_batch(batch), strict=True):
                found[key] = links
        with self._lock:
            for key in missing:
                self._cache[key] = found[key]
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return [found[k] for k in keys]

    def _link_batch(self, folded: Sequence[str]) -> list[tuple[OccupationLink, ...]]:
        # A title is read whole and by its parts ("cardiologist, two-week mission (Tirana)"): each label
        # keeps its best similarity over them.
        parts: list[str] = []
        first_part: list[int] = []
        for text in folded:
            first_part.append(len(parts))
            pieces = [p.strip() for p in _PARTS.split(text)]
            parts.extend(dict.fromkeys([text, *(p for p in pieces if p)]))
        similarity = (self._vectorizer.transform(parts) @ self._labels_t).toarray()
        similarity = np.maximum.reduceat(similarity, first_part, axis=0)
        # An occupation's confidence is its best label's; remember which label that was.
        best_label = np.maximum.reduceat(similarity, self._starts, axis=1)
        out: list[tuple[OccupationLink, ...]] = []
        for row, text in enumerate(folded):
            scores = best_label[row]
            if not text or scores.max(initial=0.0) < FLOOR:
                out.append(())
                continue
            order = np.argsort(-scores, kind="stable")[:TOP]
            best = float(scores[order[0]])
            links = []
            for segment in order:
                confidence = float(scores[segment])
                if confidence < FLOOR or confidence < RELATIVE * best:
                    break
                start = self._starts[segment]
                end = self._starts[segment + 1] if segment + 1 < len(self._starts) else len(self._owners)
                matched = start + int(np.argmax(similarity[row, start:end]))
                occupation = self.occupations[int(self._segment_owner[segment])]
                links.append(
                    OccupationLink(
                        uri=occupation.uri,
                        label=occupation.label,
                        isco=occupation.isco,
                        confidence=round(min(confidence, 1.0), 4),
                        matched_label=self._label_text[matched],
                    )
                )
            out.append(tuple(links))
        return out


@cache
def packaged_linker() -> OccupationLinker:
    """The linker over the packaged ESCO occupations, one per process (built on first use)."""
    return OccupationLinker()


def occupation_fit(first: Sequence[OccupationLink], second: Sequence[OccupationLink]) -> OccupationFit | None:
    """How two texts' links agree; None when either is unlinked (the component then does not apply)."""
    if not first or not second:
        return None
    best: OccupationFit | None = None
    theirs = {link.uri: link for link in second}
    for link in first:
        other = theirs.get(link.uri)
        if other is not None:
            value = float(np.sqrt(link.confidence * other.confidence))
            if best is None or value > best.value:
                best = OccupationFit(value, link, "occupation")
    if best is not None:
        return best
    for link in first:
        for other in second:
            if link.isco and link.isco == other.isco:
                value = FAMILY * float(np.sqrt(link.confidence * other.confidence))
                if best is None or value > best.value:
                    best = OccupationFit(value, link, "family")
    return best if best is not None else OccupationFit(0.0, first[0], "none")
