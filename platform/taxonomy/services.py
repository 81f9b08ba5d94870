"""The skills taxonomy in the database: ESCO import (idempotent) and normalisation of free-text skills."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TypeVar

import anyio.to_thread
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.ingest.esco import Concept, EscoFormatError, find_files, read_concepts, read_relations
from diaspora.ingest.taxonomy import SkillNormaliser
from diaspora.matching.calibration import calibration_for
from diaspora.matching.encoder import Encoder
from diaspora.platform.db.models import PostSkill, ProfileSkill, TaxonomyConcept, TaxonomyRelation, utcnow
from diaspora.platform.db.upsert import upsert

T = TypeVar("T")
_BATCH = 1000


@dataclass
class EscoImportReport:
    language: str
    skills: int = 0
    occupations: int = 0
    relations: int = 0
    relations_skipped: int = 0  # pointing at concepts that are in neither the files nor the database


def _batches(items: Iterable[T], size: int = _BATCH) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _concept_row(concept: Concept) -> dict[str, object]:
    return {
        "uri": concept.uri,
        "kind": concept.kind,
        "language": concept.language,
        "preferred_label": concept.preferred_label[:300],
        "alt_labels": list(concept.alt_labels),
        "hidden_labels": list(concept.hidden_labels),
        "description": concept.description,
        "isco_group": concept.isco_group,
        "updated_at": utcnow(),
    }


async def import_esco(
    session: AsyncSession, folder: Path, *, progress: Callable[[int], None] | None = None
) -> EscoImportReport:
    """Upsert the ESCO skills, occupations and relations found in `folder`, in one transaction.

    Re-importing the same files changes nothing; a newer export updates labels and descriptions. A file
    that does not have the ESCO layout aborts the whole import with the file and row named.
    """
    files = find_files(folder)
    report = EscoImportReport(language=files.language)
    for path, kind in ((files.skills, "skills"), (files.occupations, "occupations")):
        if path is None:
            continue
        for batch in _batches(read_concepts(path, files.language)):
            await upsert(
                session,
                TaxonomyConcept,
                [_concept_row(c) for c in batch],
                key=("uri",),
                update=(
                    "kind",
                    "language",
                    "preferred_label",
                    "alt_labels",
                    "hidden_labels",
                    "description",
                    "isco_group",
                    "updated_at",
                ),
            )
            setattr(report, kind, getattr(report, kind) + len(batch))
            if progress:
                progress(len(batch))
    if files.relations is not None:
        known = set((await session.scalars(select(TaxonomyConcept.uri))).all())
        for relations in _batches(read_relations(files.relations)):
            rows = [
                {
                    "occupation_uri": r.occupation_uri,
                    "skill_uri": r.skill_uri,
                    "relation_type": r.relation_type,
                }
                for r in relations
                if r.occupation_uri in known and r.skill_uri in known
            ]
            report.relations_skipped += len(relations) - len(rows)
            await upsert(
                session,
                TaxonomyRelation,
                rows,
                key=("occupation_uri", "skill_uri"),
                update=("relation_type",),
            )
            report.relations += len(rows)
            if progress:
                progress(len(relations))
    return report


@dataclass
class NormaliseReport:
    names: int = 0
    by_label: int = 0
    by_embedding: int = 0
    unmatched: int = 0


async def normalise_skills(
    session: AsyncSession, encoder: Encoder | None, *, threshold: float | None = None
) -> NormaliseReport:
    """Give every profile and post skill without a taxonomy id the ESCO skill it names, with a confidence.

    `threshold` is the least similarity for an embedding match; by default the encoder's calibrated
    similarity of one thing named two ways (`Calibration.same`: 0.75 for MiniLM).

    Skills that members or organisations linked to the taxonomy themselves are left alone; texts that no
    concept matches closely enough stay unlinked (and are retried after the next taxonomy import).
    """
    concepts = [
        Concept(
            c.uri,
            c.kind,
            c.preferred_label,
            tuple(c.alt_labels),
            tuple(c.hidden_labels),
            c.description,
            c.language,
        )
        for c in (await session.scalars(select(TaxonomyConcept).where(TaxonomyConcept.kind == "skill"))).all()
    ]
    report = NormaliseReport()
    if not concepts:
        return report
    names = sorted(
        set(
            (await session.scalars(select(ProfileSkill.name).where(ProfileSkill.taxonomy_id.is_(None)))).all()
        )
        | set((await session.scalars(select(PostSkill.name).where(PostSkill.taxonomy_id.is_(None)))).all())
    )
    report.names = len(names)
    if not names:
        return report
    if threshold is None:
        threshold = calibration_for(encoder.model_id).same if encoder is not None else 1.0
    normaliser = SkillNormaliser(concepts, encoder, threshold=threshold)
    results = await anyio.to_thread.run_sync(lambda: normaliser.normalise(names))
    for name, result in zip(names, results, strict=True):
        if result is None:
            report.unmatched += 1
            continue
        if result.via == "label":
            report.by_label += 1
        else:
            report.by_embedding += 1
        for model in (ProfileSkill, PostSkill):
            await session.execute(
                update(model)
                .where(model.name == name, model.taxonomy_id.is_(None))
                .values(taxonomy_id=result.uri, taxonomy_confidence=result.confidence)
            )
    return report


__all__ = ["EscoFormatError", "EscoImportReport", "NormaliseReport", "import_esco", "normalise_skills"]
