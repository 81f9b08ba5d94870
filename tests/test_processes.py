"""Several web processes on one database (as `diaspora serve --workers N` runs them, or several hosts): what
one process writes, the others serve; one process at a time runs the background jobs, so no mail goes out
twice; when that process dies, another takes its jobs over."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import async_sessionmaker

from diaspora.platform.db import leases
from diaspora.platform.demo.load import load_demo_data
from diaspora.platform.jobs import LEASE
from diaspora.platform.wiring import open_database
from tests.conftest import _empty_all_tables
from tests.test_mail import _Inbox

pytestmark = pytest.mark.slow  # two fresh server processes
LEASE_SECONDS = 5.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _until(condition: Callable[[], Any], *, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


def _async(database_url: str, body: Callable[[Any], Any]) -> Any:
    async def main() -> Any:
        engine = open_database(database_url)
        try:
            return await body(async_sessionmaker(engine, expire_on_commit=False))
        finally:
            await engine.dispose()

    return asyncio.run(main())


class Server:
    def __init__(self, database_url: str, data_dir: Path, name: str, smtp_port: int) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DIASPORA_DATABASE_URL": database_url,
            "DIASPORA_DATA_DIR": str(data_dir),
            "DIASPORA_MIGRATE_ON_START": "false",
            "DIASPORA_WARM_UP_ON_START": "false",
            "DIASPORA_SEARCH_HYBRID": "false",
            "DIASPORA_MATCH_LINK_BY_MEANING": "false",  # no minutes of encoding occupation labels
            "DIASPORA_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
            "DIASPORA_SEARCH_SYNC_INTERVAL_SECONDS": "0.3",
            "DIASPORA_AUTH_ATTEMPTS_PER_MINUTE": "1000",
            # A real SMTP server (in the test process): a message sent twice arrives twice.
            "DIASPORA_SMTP_HOST": "127.0.0.1",
            "DIASPORA_SMTP_PORT": str(smtp_port),
            "DIASPORA_SMTP_STARTTLS": "false",
        }
        self.log = (data_dir / f"{name}.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "diaspora.platform.cli", "serve", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        _until(self._healthy, seconds=120, what=f"{name} answers /health")

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def get(self, path: str, **params: Any) -> Any:
        return httpx.get(f"{self.url}{path}", params=params, timeout=10).json()

    def register(self, email: str) -> None:
        body = {"email": email, "password": "correct horse battery", "display_name": "Two", "role": "member"}
        assert httpx.post(f"{self.url}/api/auth/register", json=body, timeout=10).status_code == 202

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)
        self.log.close()


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    received, port = _Inbox(), _free_port()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield received, port
    finally:
        controller.stop()


@pytest.fixture
def servers(
    database_url: str, tmp_path: Path, smtp: tuple[_Inbox, int]
) -> Iterator[tuple[Server, Server, _Inbox]]:
    async def seed(sessions: Any) -> None:
        async with sessions() as session, session.begin():
            await load_demo_data(session, profiles=5)

    _async(database_url, seed)
    started: list[Server] = []
    inbox, port = smtp
    try:
        started.append(Server(database_url, tmp_path, "a", port))
        started.append(Server(database_url, tmp_path, "b", port))
        yield started[0], started[1], inbox
    finally:
        for server in started:
            server.stop(signal.SIGKILL)
        asyncio.run(_empty_all_tables(database_url))


def _mail(inbox: _Inbox) -> list[str]:
    return sorted(str(m["To"]) for m in inbox.messages)


def test_two_processes_serve_one_platform_and_run_its_jobs_once(
    servers: tuple[Server, Server, _Inbox], database_url: str
) -> None:
    a, b, inbox = servers
    # What the demo wrote is indexed by whichever process runs the jobs, and both serve it.
    for server in (a, b):
        _until(
            lambda s=server: s.get("/api/search/posts", q="cardiologist")["hits"],
            seconds=60,
            what="the demo's posts are searchable",
        )

    # Mail goes out once per message, whichever process took the request.
    emails = [f"member{i}-{uuid.uuid4().hex[:6]}@example.org" for i in range(4)]
    for i, email in enumerate(emails):
        (a if i % 2 else b).register(email)
    _until(lambda: len(_mail(inbox)) >= len(emails), seconds=30, what="the confirmation mail is sent")
    time.sleep(1.0)  # several more polling rounds of both processes
    assert _mail(inbox) == sorted(emails)

    # The process running the jobs dies without a word; the other takes them over once its lease lapses.
    holder = _async(database_url, lambda sessions: leases.holder_of(sessions, LEASE))
    assert holder is not None
    leader_pid = int(holder.split(":")[1])
    leader, survivor = (a, b) if a.process.pid == leader_pid else (b, a)
    assert leader.process.pid == leader_pid
    leader.stop(signal.SIGKILL)
    late = f"late-{uuid.uuid4().hex[:6]}@example.org"
    survivor.register(late)
    _until(lambda: late in _mail(inbox), seconds=LEASE_SECONDS * 5 + 10, what="the survivor sends the mail")
    assert _mail(inbox) == sorted([*emails, late])
    holder = _async(database_url, lambda sessions: leases.holder_of(sessions, LEASE))
    assert int(holder.split(":")[1]) == survivor.process.pid
