"""What a process does once at start: load its models before the first request, then freeze the heap."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest
from litestar.testing import TestClient

from diaspora.platform.app import create_app
from diaspora.platform.settings import Settings


@pytest.mark.slow  # loads the default encoder
def test_the_models_load_at_start_and_the_heap_is_frozen(settings: Settings) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    app = create_app(settings.model_copy(update={"warm_up_on_start": True}))
    try:
        with TestClient(app) as client:
            # Startup waits for nothing: the warm-up runs in the background, the health check answers.
            assert client.get("/health").status_code == 200
            encoder: Any = app.state["matching"].encoder
            # Leaving the context waits for the warm-up to finish.
        assert gc.get_freeze_count() > 10_000  # the models' objects among them
        assert encoder.dimension > 0
    finally:
        gc.unfreeze()


def test_without_warm_up_nothing_is_frozen(settings: Settings) -> None:
    gc.unfreeze()
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
    assert gc.get_freeze_count() == 0


def test_an_app_that_has_shut_down_is_let_go_with_its_database_connections(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        matching = weakref.ref(app.state["matching"])
        engine = weakref.ref(app.state["matching"].sessions.kw["bind"])
    assert "matching" not in app.state  # a stopped app holds no platform: the next start builds its own
    del app, client
    gc.collect()
    assert matching() is None
    assert engine() is None
