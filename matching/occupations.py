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

A title no label spells closely enough (most titles written in Albanian, Serbian, Macedonian or German:
ESCO's labels here are English) can be linked **by meaning** instead (`LabelVectors`): every label encoded
once by the matcher's own multilingual encoder and kept in the model cache, the title linked to the
occupations whose labels its vector is closest to, the confidence read through the encoder's calibration
(`calibration.py`), at `DENSE_FLOOR` or more. Spelling decides where it can: on the English dev set the
n-gram links are right more often than the nearest labels by meaning, and meaning only fills their gaps.

Two linked texts then agree (`occupation_fit`) by the occupations they share (the geometric mean of the two
confidences) or, failing that, by the ISCO unit group they share, at half that. Scoring uses the agreement as
one component beside semantic similarity (`scoring.py`), and the explanation names the occupation.

This service uses the ESCO classification of the European Commission. © European Union; reuse under
Commission Decision 2011/833/EU, with attribution.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from diaspora.matching.calibration import calibration_for
from diaspora.matching.scripts import fold

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from diaspora.matching.encoder import Encoder

log = logging.getLogger("diaspora.matching")

PACKAGED = Path(__file__).with_name("occupations.json.gz")
TOP = 3  # readings kept for one title
FLOOR = 0.6  # least label similarity for a link
RELATIVE = 0.85  # a reading is kept only if it is nearly as good as the best one
FAMILY = 0.5  # agreement on the ISCO unit group alone counts half
# Least calibrated similarity of a title to an occupation's closest label for a link by meaning: nearer
# "the same thing" than a spelled link needs, since encoders place neighbouring occupations close.
DENSE_FLOOR = 0.75
LABEL_VECTORS_VERSION = 1  # bump when what is encoded for a label changes
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
    chosen: bool = False  # the member chose it for their headline (confidence 1), rather than it being linked


@dataclass(frozen=True, slots=True)
class OccupationFit:
    """How two linked texts agree: `value` in [0, 1], the occupation they meet on, and whether they meet on
    the occupation itself or only on its ISCO unit group ("family")."""

    value: float
    occupation: OccupationLink
    via: str  # "occupation" or "family"
    chosen: bool = False  # a side's link that made the fit is the occupation its owner chose


def read_occupations(path: Path = PACKAGED) -> list[Occupation]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        payload = json.load(handle)
    return [
        Occupation(uri=o["uri"], isco=o["isco"], label=o["label"], labels=tuple(o["labels"]))
        for o in payload["occupations"]
    ]


def _label_rows(occupations: Sequence[Occupation]) -> tuple[list[str], list[int]]:
    """Every distinct label of every occupation, grouped by occupation, and the occupation of each."""
    labels: list[str] = []
    owners: list[int] = []
    for number, occupation in enumerate(occupations):
        for label in dict.fromkeys((occupation.label, *occupation.labels)):
            if fold(label):
                labels.append(label)
                owners.append(number)
    return labels, owners


class LabelVectors:
    """Every occupation label encoded by one encoder, for links by meaning: computed once (minutes on
    two CPU cores for ESCO's 33,416 labels) and saved in `folder` under a name that identifies the model
    and the labels, then opened memory-mapped (the processes of a host share its pages).

    `prepare` computes or opens them; until it has, `vectors` is None and titles are linked by spelling
    alone, so a process can start serving while another thread prepares them."""

    def __init__(self, encoder: Encoder, occupations: Sequence[Occupation], folder: Path) -> None:
        self.encoder = encoder
        self.labels, _ = _label_rows(occupations)
        identity = "\n".join([f"v{LABEL_VECTORS_VERSION}", encoder.model_id, *self.labels])
        key = hashlib.sha256(identity.encode()).hexdigest()[:16]
        self.path = folder / f"occupation-labels-{key}.npy"
        self.vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self.vectors is not None

    def open(self) -> bool:
        """Open the saved vectors if they are there (cheap when they are not); returns `ready`."""
        with self._lock:
            if self.vectors is None and self.path.exists():
                vectors = np.load(self.path, mmap_mode="r")
                if vectors.shape != (len(self.labels), self.encoder.dimension):
                    raise ValueError(f"{self.path}: {vectors.shape} vectors for {len(self.labels)} labels")
                self.vectors = vectors
            return self.vectors is not None

    def prepare(self, *, show_progress: bool = False) -> None:
        """Open the saved vectors, or encode every label and save them (the file appears whole or not at
        all, so processes that open it meanwhile never see half of it)."""
        if self.open():
            return
        log.info("encoding %d occupation labels with %s (once)", len(self.labels), self.encoder.model_id)
        vectors = self.encoder.encode(self.labels, batch_size=128, show_progress=show_progress)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f"{self.path.stem}.{uuid.uuid4().hex}.partial.npy")
        np.save(partial, vectors.astype(np.float32))
        partial.replace(self.path)
        self.open()


class OccupationLinker:
    """Links titles to occupations. Thread-safe; recent titles are remembered."""

    def __init__(
        self,
        occupations: Sequence[Occupation] | None = None,
        *,
        without_labels: Iterable[str] = (),
        cache_size: int = 50_000,
        by_meaning: LabelVectors | None = None,
    ) -> None:
        """`occupations`: the packaged ESCO ones when None. `without_labels`: labels to leave out (folded
        comparison), for measuring on a labelled set whose queries are themselves taxonomy labels: the
        linker then knows every other name of an occupation, but not the very words of the query. The
        label index is built on first use (about two seconds). `by_meaning`: the labels' vectors (of the
        same occupations), to link by meaning the titles no label spells, once they are prepared."""
        self._given = None if occupations is None else list(occupations)
        self._left_out = {fold(label) for label in without_labels}
        self.by_meaning = by_meaning
        self._meaning_ready = False  # whether the links remembered were made with links by meaning
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
            self._by_uri = {o.uri: o for o in self.occupations}
            self._codes = {o.uri: code for code, o in enumerate(self.occupations)}
            families: dict[str, list[int]] = {}
            for code, o in enumerate(self.occupations):
                families.setdefault(o.isco, []).append(code)
            self._family = [families[o.isco] for o in self.occupations]
            self._digest = hashlib.sha256("\n".join(self._codes).encode()).hexdigest()[:16]
            all_labels, all_owners = _label_rows(self.occupations)
            # The rows of the labels kept (the label vectors are kept for every label, in this order).
            self._kept_rows = np.asarray(
                [row for row, label in enumerate(all_labels) if fold(label) not in self._left_out],
                dtype=np.int64,
            )
            self._label_text = [all_labels[row] for row in self._kept_rows]
            labels = [fold(label) for label in self._label_text]
            self._owners = np.asarray([all_owners[row] for row in self._kept_rows])
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

    def occupation(self, uri: str) -> Occupation | None:
        """The occupation of that URI, or None when the taxonomy has none."""
        self._build()
        return self._by_uri.get(uri)

    @property
    def digest(self) -> str:
        """Identifies the taxonomy's occupations in their order: codes mean the same under one digest."""
        self._build()
        return self._digest

    def codes_of(self, links: Iterable[OccupationLink]) -> list[int]:
        """The links' occupations as codes (positions in the taxonomy, which `digest` identifies): what an
        index stores per row."""
        self._build()
        return [self._codes[link.uri] for link in links if link.uri in self._codes]

    def family_codes(self, codes: Iterable[int]) -> list[int]:
        """Every occupation of the same ISCO unit groups as these, except these."""
        self._build()
        given = set(codes)
        return sorted({c for code in given for c in self._family[code]} - given)

    def chosen(self, uri: str) -> OccupationLink | None:
        """The link a person made themselves, by choosing an occupation: certain (confidence 1)."""
        occupation = self.occupation(uri)
        if occupation is None:
            return None
        return OccupationLink(occupation.uri, occupation.label, occupation.isco, 1.0, occupation.label, True)

    def links_of(
        self, titles: Sequence[str], chosen: Sequence[str | None]
    ) -> list[tuple[OccupationLink, ...]]:
        """Each title's links: the occupation its owner chose where they chose one the taxonomy knows,
        else those `link_many` finds."""
        mine = [self.chosen(uri) if uri else None for uri in chosen]
        linked = iter(self.link_many([t for t, link in zip(titles, mine, strict=True) if link is None]))
        return [(link,) if link is not None else next(linked) for link in mine]

    def link_many(self, texts: Sequence[str]) -> list[tuple[OccupationLink, ...]]:
        """Each text's occupation links, best first (empty when no label is close enough)."""
        self._build()
        keys = [fold(t) for t in texts]
        found: dict[str, tuple[OccupationLink, ...]] = {}
        meaning = self.by_meaning is not None and self.by_meaning.ready
        with self._lock:
            if meaning != self._meaning_ready:  # links remembered before meaning was ready may be missing
                self._cache.clear()
                self._meaning_ready = meaning
            for key in keys:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    found[key] = self._cache[key]
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        originals = dict(zip(keys, texts, strict=True))  # what the encoder reads is the title as written
        for first in range(0, len(missing), _BATCH):
            batch = missing[first : first + _BATCH]
            for key, links in zip(batch, self._link_batch(batch), strict=True):
                found[key] = links
            unspelled = [k for k in batch if k and not found[k]]
            if meaning and unspelled:
                for key, links in zip(
                    unspelled, self._link_by_meaning([originals[k] for k in unspelled]), strict=True
                ):
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
        return [
            self._links(best_label[row], similarity[row], FLOOR) if text else ()
            for row, text in enumerate(folded)
        ]

    def _link_by_meaning(self, texts: Sequence[str]) -> list[tuple[OccupationLink, ...]]:
        """Links of titles by the labels closest to them in the encoder's space (each occupation scored
        by its closest label, calibrated as the encoder's similarities are)."""
        assert self.by_meaning is not None
        assert self.by_meaning.vectors is not None
        encoder = self.by_meaning.encoder
        calibration = calibration_for(encoder.model_id)
        vectors = encoder.encode_cached(list(texts))
        # Against every label, then the kept ones: selecting the kept rows of the label matrix first would
        # copy all of it (100 MB for the default encoder) at every call.
        similarity = np.asarray(vectors @ self.by_meaning.vectors.T)[:, self._kept_rows]
        fits = calibration.fits(np.maximum.reduceat(similarity, self._starts, axis=1))
        return [self._links(fits[row], similarity[row], DENSE_FLOOR) for row in range(len(texts))]

    def _links(
        self, confidences: np.ndarray, label_scores: np.ndarray, floor: float
    ) -> tuple[OccupationLink, ...]:
        """A title's links from its confidence in each occupation and its score against each label: the
        best `TOP` occupations at `floor` or more and within `RELATIVE` of the best, each naming the label
        it was closest to."""
        order = np.argsort(-confidences, kind="stable")[:TOP]
        if not len(order) or float(confidences[order[0]]) < floor:
            return ()
        best = float(confidences[order[0]])
        links = []
        for segment in order:
            confidence = float(confidences[segment])
            if confidence < floor or confidence < RELATIVE * best:
                break
            start = self._starts[segment]
            end = self._starts[segment + 1] if segment + 1 < len(self._starts) else len(self._owners)
            matched = start + int(np.argmax(label_scores[start:end]))
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
        return tuple(links)


@cache
def packaged_linker() -> OccupationLinker:
    """The linker over the packaged ESCO occupations, one per process (built on first use)."""
    return OccupationLinker()


@cache
def linker_by_meaning(encoder: Encoder, folder: Path) -> OccupationLinker:
    """The linker over the packaged ESCO occupations that also links by meaning with `encoder`, its label
    vectors kept in `folder`, one per encoder and folder in a process. Its `by_meaning` is to be opened
    or prepared by the caller; until then it links by spelling."""
    occupations = read_occupations()
    return OccupationLinker(occupations, by_meaning=LabelVectors(encoder, occupations, folder))


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
                best = OccupationFit(value, link, "occupation", link.chosen or other.chosen)
    if best is not None:
        return best
    for link in first:
        for other in second:
            if link.isco and link.isco == other.isco:
                value = FAMILY * float(np.sqrt(link.confidence * other.confidence))
                if best is None or value > best.value:
                    best = OccupationFit(value, link, "family", link.chosen or other.chosen)
    return best if best is not None else OccupationFit(0.0, first[0], "none")
