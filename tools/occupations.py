"""Writes `matching/occupations.json.gz`, the ESCO occupations the matcher links job titles to.

Source: the official ESCO v1.2.0 export (English), `occupations_en.csv`. This service uses the ESCO
classification of the European Commission. © European Union; reuse under Commission Decision
2011/833/EU, with attribution. To refresh the file from a newer export:

    python tools/occupations.py <folder holding occupations_en.csv> matching/occupations.json.gz

The output keeps, for each occupation, what linking needs: its URI, its ISCO unit group, its preferred label
and every other label the export carries (alternative and hidden), deduplicated.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from diaspora.ingest.esco import find_files, read_concepts


def main(source: Path, target: Path) -> None:
    files = find_files(source)
    if files.occupations is None:
        sys.exit(f"{source}: no occupations_<lang>.csv")
    occupations = [
        {
            "uri": concept.uri,
            "isco": concept.isco_group or "",
            "label": concept.preferred_label,
            "labels": [
                label for label in dict.fromkeys(concept.labels[1:]) if label != concept.preferred_label
            ],
        }
        for concept in read_concepts(files.occupations, files.language)
        if concept.kind == "occupation"
    ]
    occupations.sort(key=lambda o: o["uri"])
    payload = {"source": "ESCO v1.2.0", "language": files.language, "occupations": occupations}
    with gzip.GzipFile(target, "wb", mtime=0) as handle:  # no timestamp: the same export gives the same bytes
        handle.write(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    print(
        f"{len(occupations)} occupations, {sum(len(o['labels']) + 1 for o in occupations)} labels -> {target}"
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
