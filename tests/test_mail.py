"""Mail through the outbox: every message delivered exactly once, across drains and restarts, to the local
mailbox and to a real SMTP server (aiosmtpd, in the test process)."""

from __future__ import annotations

import asyncio
import mailbox
import socket
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from diaspora.platform.db.models import OutboxEvent
from diaspora.platform.notifications.mail import TOPIC, MailSender, enqueue_mail
from diaspora.platform.settings import Settings


async def _queue(settings: Settings, subjects: list[str]) -> list[int]:
    engine = create_async_engine(settings.effective_database_url)
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            for subject in subjects:
                enqueue_mail(session, to="member@example.org", subject=subject, body="Hello", key=subject)
        async with async_sessionmaker(engine)() as session:
            return list(
                (await session.scalars(select(OutboxEvent.id).where(OutboxEvent.topic == TOPIC))).all()
            )
    finally:
        await engine.dispose()


async def _drain_in_a_fresh_process(settings: Settings) -> int:
    """A new engine and sender each time, as after a restart of the web process or the worker."""
    engine = create_async_engine(settings.effective_database_url)
    try:
        report = await MailSender(settings, async_sessionmaker(engine, expire_on_commit=False)).drain()
        return report.sent
    finally:
        await engine.dispose()


def test_every_message_is_delivered_once_across_drains_and_restarts(settings: Settings) -> None:
    seen_ids: list[int] = []
    expected: list[str] = []
    for round_ in range(5):
        subjects = [f"Invitation {round_}.{n}" for n in range(4)]
        expected += subjects
        seen_ids += asyncio.run(_queue(settings, subjects))
        assert asyncio.run(_drain_in_a_fresh_process(settings)) == 4
        assert asyncio.run(_drain_in_a_fresh_process(settings)) == 0  # nothing left, nothing twice
    # Ids of consumed events are never handed out again (SQLite reused them before AUTOINCREMENT).
    assert len(set(seen_ids)) == len(seen_ids) == 20
    box = mailbox.mbox(settings.effective_mailbox_path)
    subjects = sorted(m["Subject"] for m in box)
    message_ids = {m["Message-ID"] for m in box}
    assert subjects == sorted(expected)
    assert len(message_ids) == 20


def test_a_retry_after_a_crash_does_not_deliver_twice(settings: Settings) -> None:
    asyncio.run(_queue(settings, ["Your invitation", "Your answer"]))

    async def deliver_then_crash() -> None:
        # The mailbox got the messages, but the process died before the events were marked done.
        engine = create_async_engine(settings.effective_database_url)
        try:
            sender = MailSender(settings, async_sessionmaker(engine, expire_on_commit=False))
            async with sender.sessions() as session:
                events = list((await session.scalars(select(OutboxEvent))).all())
            sender._append_to_mailbox([sender._compose(e) for e in events])
        finally:
            await engine.dispose()

    asyncio.run(deliver_then_crash())
    assert asyncio.run(_drain_in_a_fresh_process(settings)) == 2
    assert sorted(m["Subject"] for m in mailbox.mbox(settings.effective_mailbox_path)) == [
        "Your answer",
        "Your invitation",
    ]


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Any:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def test_mail_goes_out_over_smtp_once(settings: Settings, smtp_server: Any) -> None:
    controller, inbox = smtp_server
    smtp = settings.model_copy(
        update={"smtp_host": controller.hostname, "smtp_port": controller.port, "smtp_starttls": False}
    )
    asyncio.run(_queue(smtp, [f"Campaign news {n}" for n in range(6)]))
    assert asyncio.run(_drain_in_a_fresh_process(smtp)) == 6
    assert asyncio.run(_drain_in_a_fresh_process(smtp)) == 0
    assert sorted(m["Subject"] for m in inbox.messages) == [f"Campaign news {n}" for n in range(6)]
    assert len({m["Message-ID"] for m in inbox.messages}) == 6
    assert all(m["To"] == "member@example.org" for m in inbox.messages)


def test_a_process_whose_turn_has_passed_sends_nothing_and_leaves_the_mail(
    settings: Settings, smtp_server: Any
) -> None:
    controller, inbox = smtp_server
    smtp = settings.model_copy(
        update={"smtp_host": controller.hostname, "smtp_port": controller.port, "smtp_starttls": False}
    )
    asyncio.run(_queue(smtp, ["One", "Two", "Three"]))
    turns = iter([True, True, False])  # its lease lapses after the first message

    async def drain() -> int:
        engine = create_async_engine(smtp.effective_database_url)
        try:
            sender = MailSender(smtp, async_sessionmaker(engine, expire_on_commit=False))
            return (await sender.drain(may_send=lambda: next(turns, False))).sent
        finally:
            await engine.dispose()

    assert asyncio.run(drain()) == 1
    assert [m["Subject"] for m in inbox.messages] == ["One"]
    assert asyncio.run(_drain_in_a_fresh_process(smtp)) == 2  # the next process sends the rest, once
    assert sorted(m["Subject"] for m in inbox.messages) == ["One", "Three", "Two"]


def test_mail_waits_while_the_smtp_server_is_down(settings: Settings, smtp_server: Any) -> None:
    controller, inbox = smtp_server
    down = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": _free_port(), "smtp_starttls": False}
    )
    asyncio.run(_queue(down, ["Kept for later"]))
    assert asyncio.run(_drain_in_a_fresh_process(down)) == 0
    up = down.model_copy(update={"smtp_port": controller.port})

    async def make_due() -> None:
        engine = create_async_engine(up.effective_database_url)
        try:
            async with async_sessionmaker(engine)() as session, session.begin():
                for event in (await session.scalars(select(OutboxEvent))).all():
                    assert event.attempts == 1
                    assert event.last_error
                    event.available_at = event.created_at
        finally:
            await engine.dispose()

    asyncio.run(make_due())
    assert asyncio.run(_drain_in_a_fresh_process(up)) == 1
    assert [m["Subject"] for m in inbox.messages] == ["Kept for later"]
