"""The repository layout: `platform/` never shadows the standard library, and every package is installed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL = {
    "platform": "diaspora.platform",
    "matching": "diaspora.matching",
    "ingest": "diaspora.ingest",
    "search_config": "diaspora.search_config",
}


@pytest.mark.slow  # a fresh interpreter
def test_stdlib_platform_works_from_the_repository_root() -> None:
    code = (
        "import platform; platform.system(); platform.python_version();"
        "from diaspora.platform.app import create_app; print(platform.system())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_platform_folder_has_no_init_module() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()


def _python_folders() -> list[tuple[str, Path]]:
    found = []
    for folder, dotted in TOP_LEVEL.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            if path.name == "env.py" and "migrations" in path.parts:
                continue  # Alembic's env.py runs migrations on import; Alembic loads it, nothing imports it
            relative = path.parent.relative_to(ROOT / folder)
            found.append((".".join([dotted, *relative.parts]), path))
    return found


@pytest.mark.parametrize(("package", "path"), _python_folders(), ids=lambda v: str(v))
def test_every_python_folder_is_an_installed_package(package: str, path: Path) -> None:
    module = f"{package}.{path.stem}" if path.stem != "__init__" else package
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{module} ({path}) is not importable: list its package in pyproject.toml"
    assert spec.origin is not None
    assert Path(spec.origin).resolve() == path.resolve()
