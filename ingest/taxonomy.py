"""Normalising free-text skills to taxonomy concepts, with a confidence.

First by label: the text equals (ignoring case, spacing, accents and script) a concept's preferred,
alternative or hidden label — confidence 1.0. Failing that, by embedding similarity of the text to the
concepts' labels, reusing the matcher's encoder — confidence is the cosine similarity, and nothing is
returned below the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from diaspora.ingest.esco import Concept
from diaspora.matching.encoder import Encoder
from diaspora.matching.scripts import fold


def normalise_label(text: str) -> str:
    """Case-, space-, accent- and script-insensitive form of a label ("Ангиографија" = "angiografija")."""
    return fold(text)


@dataclass(frozen=True, slots=True)
class Normalised:
    uri: str
    label: str
    confidence: float
    via: str  # "label" or "embedding"


class SkillNormaliser:
    """Maps skill texts to concepts of one kind (ESCO skills by default)."""

    def __init__(
        self, concepts: Iterable[Concept], encoder: Encoder | None = None, *, threshold: float = 0.75
    ) -> None:
        self.concepts = list(concepts)
        self.encoder = encoder
        self.threshold = threshold
        self._by_label: dict[str, Concept] = {}
        for concept in self.concepts:
            for label in concept.labels:
                # The first concept to claim a label keeps it: preferred labels are listed first per concept,
                # and an ambiguous alternative label should not override another concept's preferred one.
                self._by_label.setdefault(normalise_label(label), concept)
        for concept in self.concepts:
            self._by_label[normalise_label(concept.preferred_label)] = concept
        # Every label is embedded (not only the preferred one): "triage" finds "provide triage" through its
        # alternative label even when the preferred wording is far from what people write.
        self._labels = [(label, concept) for concept in self.concepts for label in concept.labels]
        self._matrix: npt.NDArray[np.float32] | None = None

    def _label_matrix(self) -> npt.NDArray[np.float32]:
        if self._matrix is None:
            assert self.encoder is not None
            self._matrix = self.encoder.encode([label for label, _ in self._labels])
        return self._matrix

    def normalise(self, texts: Sequence[str]) -> list[Normalised | None]:
        """One result per text: the concept it names, or None when nothing is close enough."""
        results: list[Normalised | None] = []
        pending: list[int] = []
        for i, text in enumerate(texts):
            concept = self._by_label.get(normalise_label(text))
            if concept is not None:
                results.append(Normalised(concept.uri, concept.preferred_label, 1.0, "label"))
            else:
                results.append(None)
                pending.append(i)
        if pending and self.encoder is not None and self.concepts:
            similarity = self.encoder.encode([texts[i] for i in pending]) @ self._label_matrix().T
            for row, i in enumerate(pending):
                best = int(np.argmax(similarity[row]))
                score = float(similarity[row, best])
                if score >= self.threshold:
                    concept = self._labels[best][1]
                    results[i] = Normalised(
                        concept.uri, concept.preferred_label, round(score, 4), "embedding"
                    )
        return results
