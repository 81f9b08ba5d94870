"""docs/architecture.md's diagram is drawn from the code's imports, so it cannot drift from them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("architecture", ROOT / "tools" / "architecture.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_diagram_in_the_document_is_the_one_the_code_draws() -> None:
    tool = _tool()
    document = tool.DOC.read_text(encoding="utf-8")
    assert tool.BEGIN in document
    assert tool.render(document) == document, "the diagram is stale: run `make docs`"


def test_the_diagram_shows_the_dependencies_that_exist_and_none_that_do_not() -> None:
    edges = _tool().edges()
    assert ("ingest", "matching") in edges
    assert ("entry", "web") in edges  # the app factory mounts the pages
    assert ("campaigns", "matching") in edges  # the assignment solver
    assert not {(s, t) for s, t in edges if s in ("matching", "ingest") and t not in ("matching", "ingest")}
    assert not {(s, t) for s, t in edges if s == "db"}  # the database layer imports nothing above it
