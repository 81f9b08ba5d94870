"""What an import reports, and a validated row on its way to the database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diaspora.ingest.columns import ParsedRow, RowProblem
from diaspora.platform.core.spreadsheet import SafeWriter
from diaspora.platform.db.models import new_id, utcnow


@dataclass
class ImportReport:
    file: str
    kind: str
    source: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({p.number for p in self.problems})

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        return (
            f"{self.file}: {self.rows} rows; {self.created} {verb} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected"
        )

    def write_csv(self, path: Path) -> None:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = SafeWriter(handle)  # file names, columns and reasons quote what the row held
            writer.writerow(["file", "row", "column", "reason"])
            for warning in self.warnings:
                writer.writerow([self.file, "", "", warning])
            for problem in self.problems:
                writer.writerow([self.file, problem.number, problem.column, problem.reason])


@dataclass
class Valid:
    row: ParsedRow
    data: Any
    digest: str


def key_row(report: ImportReport, valid: Valid, entity_id: uuid.UUID) -> dict[str, Any]:
    return {
        "id": new_id(),
        "source": report.source,
        "kind": report.kind,
        "external_id": valid.row.external_id,
        "entity_id": entity_id,
        "content_hash": valid.digest,
        "updated_at": utcnow(),
    }
