"""Every change to a searchable record writes an outbox event in the same transaction.

A `before_flush` hook on SQLAlchemy sessions sees the opportunities and posts added, changed or
deleted through the ORM, and the organisations whose name, kind or verification changes (which
changes what their posts' and opportunities' documents say, or whether they are public at all).
Code that writes these tables with Core statements must call `outbox.enqueue` itself.
"""

from __future__ import annotations

import uuid
from itertools import chain
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from diaspora.platform.db import outbox
from diaspora.platform.db.models import Opportunity, Organisation, Post, new_id


def _ensure_id(obj: Post | Opportunity) -> uuid.UUID:
    # The column default would only apply at flush time, after this hook has run.
    identifier: uuid.UUID | None = obj.id
    if identifier is None:
        identifier = obj.id = new_id()
    return identifier


def _collect(session: Session, flush_context: Any, instances: Any) -> None:
    topics: set[tuple[str, str]] = set()
    dirty = session.dirty  # built anew at each use of the property: once here, not once per object
    for obj in chain(session.new, dirty, session.deleted):
        if obj in dirty and not session.is_modified(obj, include_collections=True):
            continue
        if isinstance(obj, Opportunity):
            topics.add(("opportunity", str(_ensure_id(obj))))
        elif isinstance(obj, Post):
            topics.add(("post", str(_ensure_id(obj))))
        elif isinstance(obj, Organisation) and obj not in session.new and obj.id is not None:
            with session.no_autoflush:
                post_ids = session.scalars(select(Post.id).where(Post.organisation_id == obj.id)).all()
                opportunity_ids = session.scalars(
                    select(Opportunity.id).where(Opportunity.organisation_id == obj.id)
                ).all()
            topics.update(("post", str(i)) for i in post_ids)
            topics.update(("opportunity", str(i)) for i in opportunity_ids)
    for topic, entity_id in sorted(topics):
        outbox.enqueue(session, topic, entity_id)


def install() -> None:
    """Idempotent: hooks every SQLAlchemy session of the process."""
    if not event.contains(Session, "before_flush", _collect):
        event.listen(Session, "before_flush", _collect)
    outbox.install_commit_hook()
