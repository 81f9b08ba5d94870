"""Which committed writes the matcher must see at once: a process-wide count of them.

A matching request used to bring the matcher up to date with the database before ranking (five queries
behind one lock, on every request), which is what kept the matching endpoints from serving 50 requests a
second at registry scale. Now a request refreshes only when this process committed a write to a table the
indexes are read from since the last refresh began, or when that refresh began more than
`match_refresh_seconds` ago (the changes of other processes: the web workers and the worker of one
platform). So a member who saves a profile is ranked anew by the process that saved it at once, and by the
others within the interval.

Writes through the ORM are seen before they are flushed; statements (`update(Profile)`, bulk inserts) run
through a session are seen as they execute. A write by any other route is seen within the interval.
"""

from __future__ import annotations

import threading
from itertools import chain
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

# The tables the profile and post documents, their texts and the score weights are read from.
MATCHED_TABLES = frozenset(
    {
        "profiles",
        "profile_skills",
        "profile_languages",
        "availability_windows",
        "consents",
        "credentials",
        "posts",
        "post_skills",
        "organisations",
        "scoring_weights",
    }
)
# Deleting one of these deletes profiles (an account's profile goes with it).
DELETING_PROFILES = frozenset({"profiles", "accounts"})
_TOUCHED = "diaspora.matches.touched"
_DELETED = "diaspora.matches.deleted"
_lock = threading.Lock()
_generation = 0
_deletions = 0


def generation() -> int:
    """How many transactions of this process committed writes to the matched tables so far."""
    return _generation


def deletions() -> int:
    """How many transactions of this process committed deletions of profiles or accounts so far."""
    return _deletions


def _table_of(obj: Any) -> str | None:
    table = getattr(type(obj), "__table__", None)
    return None if table is None else str(table.name)


def _note_flush(session: Session, flush_context: Any, instances: Any) -> None:
    if any(_table_of(obj) in DELETING_PROFILES for obj in session.deleted):
        session.info[_DELETED] = True
    dirty = session.dirty  # built anew at each use of the property: once here, not once per object
    for obj in chain(session.new, session.deleted, dirty):
        if _table_of(obj) in MATCHED_TABLES and (
            obj not in dirty or session.is_modified(obj, include_collections=True)
        ):
            session.info[_TOUCHED] = True
            return


def _note_statement(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    table = "" if mapper is None else str(getattr(mapper.local_table, "name", ""))
    if table in MATCHED_TABLES:
        state.session.info[_TOUCHED] = True
    if state.is_delete and table in DELETING_PROFILES:
        state.session.info[_DELETED] = True


def _after_commit(session: Session) -> None:
    global _generation, _deletions
    touched, deleted = session.info.pop(_TOUCHED, False), session.info.pop(_DELETED, False)
    if touched or deleted:
        with _lock:
            _generation += int(touched)
            _deletions += int(deleted)


def install() -> None:
    """Idempotent: every SQLAlchemy session of the process counts its commits to the matched tables.

    A transaction rolled back keeps its mark until the session commits something else: at worst one
    refresh more, never one fewer."""
    for name, hook in (
        ("before_flush", _note_flush),
        ("do_orm_execute", _note_statement),
        ("after_commit", _after_commit),
    ):
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
