"""Choropleth maps drawn as SVG on the server from the country outlines shipped with the project
(`boundaries.json`: Natural Earth, public domain, through `world-atlas`; `tools/boundaries.py` made it).
Nothing is fetched at run time and no script is needed to read the map."""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any

import msgspec

# west, south, east, north in degrees; Europe is drawn with its longitudes shrunk by cos(50 degrees).
VIEWS: dict[str, tuple[float, float, float, float]] = {
    "world": (-170.0, -58.0, 190.0, 84.0),
    "europe": (-25.0, 34.0, 45.0, 72.0),
}
LEVELS = 5


class Shape(msgspec.Struct):
    code: str
    path: str
    level: int | None  # 1..LEVELS by members; None: no data; 0: a hidden group
    title: str


class Choropleth(msgspec.Struct):
    view_box: str
    shapes: list[Shape]
    legend: list[tuple[int, str]]  # level, "5-12"


@cache
def _outlines() -> dict[str, Any]:
    text = resources.files("diaspora.platform.insights").joinpath("boundaries.json").read_text()
    return dict(json.loads(text))


def _x_scale(view: str) -> float:
    return math.cos(math.radians(50)) if view == "europe" else 1.0


@cache
def _paths(view: str) -> dict[str, str]:
    west, south, east, north = VIEWS[view]
    scale = _x_scale(view)
    paths = {}
    for code, country in _outlines().items():
        parts = []
        for ring in country["rings"]:
            if not any(west - 10 <= x <= east + 10 and south - 10 <= y <= north + 10 for x, y in ring):
                continue
            points = " ".join(f"{x * scale:.2f} {-y:.2f}" for x, y in ring)
            parts.append(f"M{points}Z")
        if parts:
            paths[code] = "".join(parts)
    return paths


def _bounds(counts: list[int]) -> list[int]:
    """Upper bounds of the levels: steps on a log scale from the smallest shown count to the largest."""
    low, high = min(counts), max(counts)
    if low == high:  # one value: the middle shade
        return [0] * (LEVELS // 2) + [high] * (LEVELS - LEVELS // 2)
    step = (math.log(high) - math.log(low)) / LEVELS
    return [round(math.exp(math.log(low) + step * (i + 1))) for i in range(LEVELS)]


def choropleth(
    counts: dict[str, int | None], view: str, names: dict[str, str], hidden_title: str
) -> Choropleth:
    """Countries shaded by members; `None` marks a group hidden for being small (drawn hatched)."""
    west, south, east, north = VIEWS[view]
    scale = _x_scale(view)
    shown = [n for n in counts.values() if n]
    bounds = _bounds(shown) if shown else []
    shapes = []
    for code, path in _paths(view).items():
        name = names.get(code, code)
        if code not in counts:
            shapes.append(Shape(code=code, path=path, level=None, title=name))
        elif counts[code] is None:
            shapes.append(Shape(code=code, path=path, level=0, title=f"{name}: {hidden_title}"))
        else:
            n = int(counts[code] or 0)
            level = next((i + 1 for i, bound in enumerate(bounds) if n <= bound), LEVELS)
            shapes.append(Shape(code=code, path=path, level=level, title=f"{name}: {n}"))
    legend, previous = [], (min(shown) - 1 if shown else 0)
    for i, bound in enumerate(bounds):
        if bound > previous:
            legend.append((i + 1, f"{previous + 1}\u2013{bound}" if bound > previous + 1 else str(bound)))
            previous = bound
    width, height = (east - west) * scale, north - south
    return Choropleth(
        view_box=f"{west * scale:.1f} {-north:.1f} {width:.1f} {height:.1f}", shapes=shapes, legend=legend
    )
