"""Mail through the outbox: written in the transaction of what it announces, sent by a consumer.

The consumer sends over SMTP when `DIASPORA_SMTP_HOST` is set, and otherwise appends to a local mbox
file (the embedded default, readable with any mail client or Python's `mailbox`). Each message gets a
random Message-ID when it is queued, stored with its event, so no two messages ever share one (an id
derived from the outbox row was reused on SQLite, and real mail was dropped as a "duplicate"). The
mailbox is checked for the Message-ID before appending, so a retry after a crash does not deliver
twice; over SMTP the same Message-ID lets the receiving side drop a duplicate. Failures keep the event,
with the outbox's backoff.
"""

from __future__ import annotations

import logging
import mailbox
import smtplib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import anyio.to_thread
import filelock
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from diaspora.platform.db import outbox
from diaspora.platform.db.models import OutboxEvent
from diaspora.platform.settings import Settings

TOPIC = "mail"
log = logging.getLogger("diaspora.mail")


def enqueue_mail(session: AsyncSession, *, to: str, subject: str, body: str, key: str) -> None:
    """Queue a message; `key` names what it is about (e.g. `invitation:<id>`), for the logs."""
    payload = {"to": to, "subject": subject, "body": body, "message_uuid": uuid.uuid4().hex}
    outbox.enqueue(session, TOPIC, key, payload)


def message_id(event: OutboxEvent, settings: Settings) -> str:
    domain = settings.mail_from.rsplit("@", 1)[-1].strip(" >") or "localhost"
    unique = event.payload.get("message_uuid")
    if not unique:  # queued before Message-IDs were stored: the event's id and its creation instant
        unique = f"outbox-{event.id}-{int(event.created_at.timestamp() * 1_000_000)}"
    return f"<{unique}@{domain}>"


@dataclass
class MailReport:
    sent: int = 0
    failed: int = 0


class MailSender:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions

    def _compose(self, event: OutboxEvent) -> EmailMessage:
        payload = event.payload
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = payload["to"]
        message["Subject"] = payload["subject"]
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id(event, self.settings)
        message.set_content(payload["body"])
        return message

    def _send_smtp(self, message: EmailMessage) -> None:
        settings = self.settings
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)

    def _append_to_mailbox(self, messages: list[EmailMessage]) -> None:
        """Append the batch under the file lock, skipping what a run before a crash already delivered."""
        path = self.settings.effective_mailbox_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with filelock.FileLock(str(path) + ".lock"):
            box = mailbox.mbox(path)
            try:
                delivered = {m["Message-ID"] for m in box}
                for message in messages:
                    if message["Message-ID"] not in delivered:
                        box.add(message)
                        delivered.add(message["Message-ID"])
                box.flush()
            finally:
                box.close()

    async def process_once(
        self, *, limit: int = 100, may_send: Callable[[], bool] | None = None
    ) -> MailReport:
        """Send what is due. `may_send` is asked before each message goes out: a process whose turn to
        run the background jobs may have passed (`jobs.BackgroundJobs.holds_lease`) stops, and leaves the
        rest to the process whose turn it is, rather than send a message that one sends too."""
        report = MailReport()
        allowed = may_send or (lambda: True)
        async with self.sessions() as session, session.begin():
            events = await outbox.due(session, [TOPIC], limit=limit, claim=True)
            if not events or not allowed():
                return report
            if not self.settings.smtp_host:
                try:
                    messages = [self._compose(e) for e in events]
                    await anyio.to_thread.run_sync(self._append_to_mailbox, messages)
                except Exception as exc:  # disk full, unwritable file: keep them for later
                    log.warning("mail to the local mailbox failed: %s", exc)
                    await outbox.retry_later(session, events, f"{type(exc).__name__}: {exc}")
                    report.failed += len(events)
                    return report
                await outbox.done(session, [e.id for e in events])
                report.sent += len(events)
                return report
            for event in events:
                if not allowed():
                    break
                try:
                    await anyio.to_thread.run_sync(self._send_smtp, self._compose(event))
                except Exception as exc:  # SMTP down, refused: keep it for later
                    log.warning("mail %s to %s failed: %s", event.entity_id, event.payload.get("to"), exc)
                    await outbox.retry_later(session, [event], f"{type(exc).__name__}: {exc}")
                    report.failed += 1
                    continue
                await outbox.done(session, [event.id])
                report.sent += 1
        return report

    async def drain(self, *, may_send: Callable[[], bool] | None = None) -> MailReport:
        total = MailReport()
        while True:
            report = await self.process_once(may_send=may_send)
            total.sent += report.sent
            total.failed += report.failed
            if not report.sent or report.failed:
                return total
