"""Property-based probes of the whole JSON API from its own OpenAPI document (schemathesis), as a stranger,
a member and organisation staff: no server error, every status documented, every body as documented.

Bounded and repeatable: a fixed number of examples per operation and a derandomised generator.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.testing import TestClient
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from diaspora.platform import openapi
from diaspora.platform.app import create_app
from diaspora.platform.db import migrate
from diaspora.platform.search import config as search_config
from diaspora.platform.settings import Settings
from tests.conftest import Api

Callers = dict[str, dict[str, str]]
CLIENT: list[TestClient[Any]] = []  # the fixture's client, while it runs
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Spending the caller's own session or account would leave the rest of the run anonymous; the
# authorisation matrix covers these two for every kind of caller.
SPENDS_THE_CALLER = ("POST /api/auth/logout", "DELETE /api/me")


# The schema is read from the application itself; pytest's collection needs it before any fixture runs,
# so the app is built here (building connects to nothing) and its database is migrated by the fixture.
_FOLDER = Path(tempfile.mkdtemp(prefix="diaspora-fuzz-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)  # also when collected but not run
_URL = f"sqlite+aiosqlite:///{_FOLDER / 'fuzz.sqlite3'}"
APP = create_app(
    Settings(
        database_url=_URL,
        data_dir=_FOLDER,
        migrate_on_start=False,
        search_sync_in_process=False,
        auth_attempts_per_minute=1_000_000,
    )
)
# Requests go through the same Litestar test client as every other test (its event loop owns the database
# connections), so the schema is handed over as data rather than as an app for schemathesis to drive.
schema = schemathesis.openapi.from_dict(openapi.document(APP, search_config.load_all()).to_schema())


@pytest.fixture(scope="module")
def callers() -> Iterator[Callers]:
    migrate.upgrade(_URL)
    with TestClient(APP, base_url="http://testserver.local") as client:
        api = Api(client)
        member = api.register("member")
        api.profile(member)
        staff, _ = api.organisation()
        api.post(staff)
        CLIENT.append(client)
        yield {"anonymous": {}, "member": member, "staff": staff}
        CLIENT.clear()


FUZZ = settings(
    max_examples=8, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


def _encodable(files: Any) -> Any:
    """Multipart parts as httpx sends them: a generated number or flag becomes its text."""

    def text(value: Any) -> Any:
        return value if isinstance(value, bytes | str) else str(value)

    def part(value: Any) -> Any:
        if isinstance(value, tuple):  # (filename, content[, content type])
            return (value[0], text(value[1]), *value[2:])
        return text(value)

    if isinstance(files, dict):
        return {name: part(value) for name, value in files.items()}
    return [(name, part(value)) for name, value in files]


def _probe(case: Any, caller: str, callers: dict[str, dict[str, str]]) -> None:
    if caller != "anonymous" and f"{case.method.upper()} {case.path}" in SPENDS_THE_CALLER:
        return
    headers = callers[caller]
    kwargs = case.as_transport_kwargs(base_url="http://testserver.local", headers=headers)
    if "data" in kwargs and isinstance(kwargs["data"], bytes | str):
        kwargs["content"] = kwargs.pop("data")
    cookies = kwargs.pop("cookies", None) or {}
    if cookies:  # per-request cookies, as a header (httpx keeps a client-wide jar otherwise)
        kwargs["headers"] = {
            **kwargs.get("headers", {}),
            "cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        }
    if kwargs.get("files"):
        kwargs["files"] = _encodable(kwargs["files"])
    request = CLIENT[0].build_request(**kwargs)
    request.read()  # a multipart body is streamed; read it now, so the checks can see what was sent
    response = CLIENT[0].send(request)
    response.request = request  # the test transport answers with a copy whose body was never read
    case.validate_response(response, checks=CHECKS, headers=headers)


@pytest.mark.slow
@schema.parametrize()
@FUZZ
def test_a_stranger_gets_no_server_error_and_only_documented_answers(
    case: Any, callers: dict[str, dict[str, str]]
) -> None:
    _probe(case, "anonymous", callers)


@pytest.mark.slow
@schema.parametrize()
@FUZZ
def test_a_member_gets_no_server_error_and_only_documented_answers(
    case: Any, callers: dict[str, dict[str, str]]
) -> None:
    _probe(case, "member", callers)


@pytest.mark.slow
@schema.parametrize()
@FUZZ
def test_staff_get_no_server_error_and_only_documented_answers(
    case: Any, callers: dict[str, dict[str, str]]
) -> None:
    _probe(case, "staff", callers)
