"""Writes `platform/insights/boundaries.json`, the country outlines the diaspora map is drawn with.

Source: Natural Earth's Admin 0 country boundaries (public domain), as redistributed in TopoJSON by the npm
package `world-atlas` (ISC licence): the 1:110m edition for the world, the 1:50m edition for the smaller
countries of Europe (where the region's small countries would vanish at 1:110m). Nothing is fetched when the
platform runs; to refresh the file:

    npm pack world-atlas@2 && tar xzf world-atlas-2.*.tgz
    pip install pycountry   # ISO numeric -> alpha-2, used by this script only
    python tools/boundaries.py package/ platform/insights/boundaries.json

The output maps ISO 3166-1 alpha-2 codes to rings of (longitude, latitude) pairs rounded to 0.01 degree,
with consecutive repeats dropped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# Natural Earth shows these without an ISO numeric code; the platform's codes for them.
UNCODED = {"Kosovo": "XK"}
LEFT_OUT = {"AQ"}  # Antarctica: nobody's residence, and it would fill the bottom of the map
EUROPE = (-25.0, 34.0, 45.0, 72.0)  # west, south, east, north
SMALL = 150.0  # square degrees: larger countries are legible at 1:110m


def _arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    decoded = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:  # delta-encoded, quantised positions
            x, y = x + dx, y + dy
            points.append((round(x * sx + tx, 2), round(y * sy + ty, 2)))
        decoded.append(points)
    return decoded


def _ring(arcs: list[list[tuple[float, float]]], indices: list[int]) -> list[tuple[float, float]]:
    ring: list[tuple[float, float]] = []
    shift = 0.0
    for index in indices:
        points = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        for x, y in points if not ring else points[1:]:
            # A ring that crosses the antimeridian goes on past 180 degrees instead of jumping back to -180
            # (which would draw a band across the whole map).
            if ring and abs(x + shift - ring[-1][0]) > 180:
                shift += 360.0 if ring[-1][0] > x + shift else -360.0
            point = (round(x + shift, 2), y)
            if not ring or ring[-1] != point:
                ring.append(point)
    return ring


def _countries(path: Path) -> dict[str, dict[str, Any]]:
    import pycountry

    topology = json.loads(path.read_text())
    arcs = _arcs(topology)
    found: dict[str, dict[str, Any]] = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        name = geometry["properties"]["name"]
        code = UNCODED.get(name)
        if code is None and geometry.get("id"):
            country = pycountry.countries.get(numeric=geometry["id"])
            code = country.alpha_2 if country else None
        if code is None or code in LEFT_OUT or geometry["type"] not in ("Polygon", "MultiPolygon"):
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        rings = [_ring(arcs, ring) for polygon in polygons for ring in polygon]
        found[code] = {"name": name, "rings": [r for r in rings if len(r) >= 3]}
    return found


def _small_and_european(rings: list[list[tuple[float, float]]]) -> bool:
    west, south, east, north = EUROPE
    xs = [x for ring in rings for x, _ in ring]
    ys = [y for ring in rings for _, y in ring]
    small = (max(xs) - min(xs)) * (max(ys) - min(ys)) <= SMALL
    return small and any(west <= x <= east and south <= y <= north for x, y in zip(xs, ys, strict=True))


def main(source: Path, target: Path) -> None:
    world = _countries(source / "countries-110m.json")
    detailed = _countries(source / "countries-50m.json")
    for code, country in detailed.items():
        if _small_and_european(country["rings"]):
            world[code] = country
    target.write_text(json.dumps(dict(sorted(world.items())), separators=(",", ":")) + "\n")
    print(f"{len(world)} countries written to {target} ({target.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
