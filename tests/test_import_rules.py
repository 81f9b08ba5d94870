"""Dependencies point one way: platform -> ingest -> matching; inside the platform, the database layer and
the cross-cutting core import no domain package. Read from the source (every import, also those inside
functions), so a shortcut cannot hide in a function body."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# folder -> (its dotted name, the diaspora packages it may import besides itself)
RULES = {
    "matching": ("diaspora.matching", ()),
    "ingest": ("diaspora.ingest", ("diaspora.matching",)),
    "platform/db": ("diaspora.platform.db", ()),
    "platform/core": (
        "diaspora.platform.core",
        ("diaspora.platform.db", "diaspora.platform.settings"),
    ),
}


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _breaches(folder: str) -> list[str]:
    own, allowed = RULES[folder]
    breaches = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for line, module in _imports(path):
            if not module.startswith("diaspora."):
                continue
            if module == own or module.startswith(own + "."):
                continue
            if any(module == ok or module.startswith(ok + ".") for ok in allowed):
                continue
            breaches.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return breaches


@pytest.mark.parametrize("folder", sorted(RULES))
def test_the_layer_imports_only_what_is_below_it(folder: str) -> None:
    assert _breaches(folder) == []


def test_a_breach_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The rule must be able to fail: a function-level import of the platform inside "matching".
    fake = tmp_path / "matching"
    fake.mkdir()
    (fake / "sneaky.py").write_text("def f():\n    from diaspora.platform.db import models\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    assert _breaches("matching") == ["matching/sneaky.py:2 imports diaspora.platform.db"]
