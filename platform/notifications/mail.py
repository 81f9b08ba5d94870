"""Mail through the outbox: written in the transaction of what it announces, sent by a consumer.

The consumer sends over SMTP when `DIASPORA_SMTP_HOST` is set, and otherwise appends to a local mbox
file (the embedded default, readable with any mail client or Python's `mailbox`). Each message's
Message-ID is derived from its outbox event, and the mailbox is checked for it before appending, so a
retry after a crash does not deliver twice; over SMTP the same Message-ID lets the receiving side drop
a duplicate. Failures keep the event, with the outbox's backoff.
"""

from __future__ import annotations

import logging
import mailbox
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import anyio.to_thread
import filelock
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from diaspora.platform.db import outbox
from diaspora.platform.settings import Settings

TOPIC = "mail"
log = logging.getLogger("diaspora.mail")


def enqueue_mail(session: AsyncSession, *, to: str, subject: str, body: str, key: str) -> None:
    """Queue a message; `key` names what it is about (e.g. `invitation:<id>`), for the logs."""
    outbox.enqueue(session, TOPIC, key, {"to": to, "subject": subject, "body": body})


def message_id(event_id: int, settings: Settings) -> str:
    domain = settings.mail_from.rsplit("@", 1)[-1].strip(" >") or "localhost"
    return f"<outbox-{event_id}@{domain}>"


@dataclass
class MailReport:
    sent: int = 0
    failed: int = 0


class MailSender:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions

    def _compose(self, event_id: int, payload: dict[str, str]) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = payload["to"]
        message["Subject"] = payload["subject"]
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id(event_id, self.settings)
        message.set_content(payload["body"])
        return message

    def _deliver(self, message: EmailMessage) -> None:
        settings = self.settings
        if settings.smtp_host:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_username:
                    smtp.login(settings.smtp_username, settings.smtp_password)
                smtp.send_message(message)
            return
        path = settings.effective_mailbox_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with filelock.FileLock(str(path) + ".lock"):
            box = mailbox.mbox(path)
            try:
                if any(m["Message-ID"] == message["Message-ID"] for m in box):
                    return  # delivered before a crash kept its event: do not deliver twice
                box.add(message)
                box.flush()
            finally:
                box.close()

    async def process_once(self, *, limit: int = 100) -> MailReport:
        report = MailReport()
        async with self.sessions() as session, session.begin():
            for event in await outbox.due(session, [TOPIC], limit=limit, claim=True):
                try:
                    await anyio.to_thread.run_sync(self._deliver, self._compose(event.id, event.payload))
                except Exception as exc:  # SMTP down, disk full: keep it for later
                    log.warning("mail %s to %s failed: %s", event.entity_id, event.payload.get("to"), exc)
                    await outbox.retry_later(session, [event], f"{type(exc).__name__}: {exc}")
                    report.failed += 1
                    continue
                await outbox.done(session, [event.id])
                report.sent += 1
        return report

    async def drain(self) -> MailReport:
        total = MailReport()
        while True:
            report = await self.process_once()
            total.sent += report.sent
            total.failed += report.failed
            if not report.sent or report.failed:
                return total
