"""Readers of the official ESCO CSV export (any ESCO language), streamed row by row.

Files: `skills_<lang>.csv`, `occupations_<lang>.csv` and `occupationSkillRelations_<lang>.csv`, in the
column layout of the ESCO download service. Labels are kept as published; alternative and hidden labels
are newline-separated inside one quoted cell.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

KINDS = {"KnowledgeSkillCompetence": "skill", "Occupation": "occupation"}
_FILE = re.compile(r"^(skills|occupations|occupationSkillRelations)_([a-z]{2,3}(?:-[A-Za-z]+)?)\.csv$")


class EscoFormatError(ValueError):
    """The file does not have the ESCO export's layout; the message names the file, row and column."""


@dataclass(frozen=True, slots=True)
class Concept:
    uri: str
    kind: str  # "skill" or "occupation"
    preferred_label: str
    alt_labels: tuple[str, ...]
    hidden_labels: tuple[str, ...]
    description: str
    language: str
    isco_group: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """Every label the concept is known by, preferred first."""
        return (self.preferred_label, *self.alt_labels, *self.hidden_labels)


@dataclass(frozen=True, slots=True)
class Relation:
    occupation_uri: str
    skill_uri: str
    relation_type: str  # "essential" or "optional"


@dataclass(frozen=True, slots=True)
class EscoFiles:
    language: str
    skills: Path | None
    occupations: Path | None
    relations: Path | None


def find_files(folder: Path) -> EscoFiles:
    """The ESCO files in `folder`; all of them must be in one language."""
    found: dict[str, Path] = {}
    languages = set()
    for path in sorted(folder.iterdir()):
        match = _FILE.match(path.name)
        if match:
            found[match.group(1)] = path
            languages.add(match.group(2))
    if not found:
        raise EscoFormatError(f"{folder}: no ESCO files (skills_<lang>.csv, occupations_<lang>.csv, ...)")
    if len(languages) > 1:
        raise EscoFormatError(f"{folder}: files in several languages ({', '.join(sorted(languages))})")
    return EscoFiles(
        languages.pop(), found.get("skills"), found.get("occupations"), found.get("occupationSkillRelations")
    )


def _split(cell: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in (cell or "").splitlines() if part.strip()))


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:  # the export may start with a BOM
        reader = csv.DictReader(handle)
        missing = [column for column in required if column not in (reader.fieldnames or ())]
        if missing:
            raise EscoFormatError(f"{path.name}: missing column(s) {', '.join(missing)}")
        yield from enumerate(reader, start=2)


def read_concepts(path: Path, language: str) -> Iterator[Concept]:
    """Skills or occupations from `skills_*.csv` / `occupations_*.csv`."""
    for number, row in _rows(path, ("conceptType", "conceptUri", "preferredLabel", "altLabels")):
        kind = KINDS.get(row["conceptType"])
        if kind is None:
            raise EscoFormatError(
                f"{path.name}:{number}: conceptType {row['conceptType']!r} is not a skill or occupation"
            )
        uri, label = row["conceptUri"].strip(), row["preferredLabel"].strip()
        if not uri.startswith("http") or not label:
            raise EscoFormatError(f"{path.name}:{number}: conceptUri and preferredLabel are required")
        yield Concept(
            uri=uri,
            kind=kind,
            preferred_label=label,
            alt_labels=_split(row.get("altLabels")),
            hidden_labels=_split(row.get("hiddenLabels")),
            description=(row.get("description") or "").strip(),
            language=language,
            isco_group=(row.get("iscoGroup") or "").strip() or None,
        )


def read_relations(path: Path) -> Iterator[Relation]:
    """Occupation-skill relations from `occupationSkillRelations_*.csv`."""
    for number, row in _rows(path, ("occupationUri", "relationType", "skillUri")):
        relation = row["relationType"].strip()
        if relation not in ("essential", "optional"):
            raise EscoFormatError(
                f"{path.name}:{number}: relationType {relation!r} is not essential or optional"
            )
        yield Relation(row["occupationUri"].strip(), row["skillUri"].strip(), relation)
