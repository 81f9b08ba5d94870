"""The `diaspora` command as a newcomer runs it: migrate, load the demo, create an admin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import count_rows


def _run(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "diaspora.platform.cli", *args],
        env={**os.environ, "DIASPORA_DATA_DIR": str(data_dir), "DIASPORA_DATABASE_URL": "", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.slow
def test_demo_loads_once_into_the_embedded_database(tmp_path: Path) -> None:
    first = _run("demo", "--profiles", "40", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "loaded" in first.stdout
    assert "demo-password" in first.stdout
    url = f"sqlite+aiosqlite:///{(tmp_path / 'diaspora.sqlite3').resolve()}"
    assert count_rows(url, "profiles") == 40
    posts = count_rows(url, "posts")
    assert posts > 20
    second = _run("demo", "--profiles", "40", data_dir=tmp_path)
    assert second.returncode == 0
    assert "already loaded" in second.stdout
    assert count_rows(url, "profiles") == 40
    assert count_rows(url, "posts") == posts


@pytest.mark.slow  # three fresh processes of the command
def test_create_admin_validates_input(tmp_path: Path) -> None:
    assert _run("db", "upgrade", data_dir=tmp_path).returncode == 0
    bad = _run(
        "create-admin", "--email", "not-an-email", data_dir=tmp_path, DIASPORA_ADMIN_PASSWORD="long enough pw"
    )
    assert bad.returncode != 0
    assert "email" in bad.stderr
    good = _run(
        "create-admin",
        "--email",
        "root@example.org",
        data_dir=tmp_path,
        DIASPORA_ADMIN_PASSWORD="long enough pw",
    )
    assert good.returncode == 0, good.stderr
    url = f"sqlite+aiosqlite:///{(tmp_path / 'diaspora.sqlite3').resolve()}"
    assert count_rows(url, "accounts") == 1


@pytest.mark.slow
def test_embeddings_prepare_converts_the_multilingual_model_into_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "models"
    # (Links by meaning would also encode 33,416 occupation labels here, minutes: tests/test_occupations.py
    # covers their preparation with an encoder of its own.)
    quick = {"DIASPORA_MODEL_CACHE": str(cache), "DIASPORA_MATCH_LINK_BY_MEANING": "false"}
    done = _run("embeddings", "prepare", data_dir=tmp_path, **quick)
    assert done.returncode == 0, done.stderr
    assert "768 dimensions, ready" in done.stdout  # the default blend: e5 (384) and MiniLM (384)
    (converted,) = [p for p in cache.iterdir() if p.is_dir() and p.name != "onnx"]
    assert (converted / "modules.json").exists()
    assert (converted / "tokenizer.json").exists()
    again = _run("embeddings", "prepare", data_dir=tmp_path, **quick)
    assert again.returncode == 0  # converted once: the second run finds it
    assert [p for p in cache.iterdir() if p.is_dir() and p.name != "onnx"] == [converted]


@pytest.mark.slow
def test_embeddings_sync_encodes_once_and_leaves_a_snapshot_for_the_next_process(tmp_path: Path) -> None:
    assert _run("demo", "--profiles", "10", data_dir=tmp_path).returncode == 0
    first = _run("embeddings", "sync", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "profile index snapshot written" in first.stdout
    assert list((tmp_path / "snapshots").glob("profiles-*/manifest.json"))
    again = _run("embeddings", "sync", data_dir=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "encoded 0," in again.stdout  # every vector is stored already
    assert "snapshot written" not in again.stdout  # nothing changed since the last one
