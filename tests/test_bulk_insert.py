"""Many new rows at once (`db.bulk.insert_rows`: COPY on PostgreSQL, INSERT elsewhere) are stored exactly
as the ORM would store them: identifiers, time zones, JSON lists, booleans and missing values."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from diaspora.platform.db.bulk import insert_rows
from diaspora.platform.db.models import Account, AvailabilityWindow, Profile, Role
from diaspora.platform.settings import Settings
from diaspora.platform.wiring import open_database
from tests.conftest import _empty_all_tables


def test_rows_inserted_in_bulk_read_back_as_given(settings: Settings) -> None:
    account_id, profile_id = uuid.uuid4(), uuid.uuid4()
    at = datetime(2027, 5, 3, 12, 30, 15, 123456, tzinfo=UTC)

    async def run() -> tuple[Account, Profile, list[AvailabilityWindow], list[Account]]:
        engine = open_database(settings.effective_database_url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        try:
            async with sessions() as session, session.begin():
                await insert_rows(
                    session,
                    Account.__table__,  # type: ignore[arg-type]
                    [
                        {
                            "id": account_id,
                            "email": "ana@example.org",
                            "password_hash": "!",
                            "display_name": "Ана Јовановић",
                            "phone": None,
                            "role": Role.MEMBER.value,
                            "organisation_id": None,
                            "is_active": True,
                            "created_at": at,
                        }
                    ],
                )
                await insert_rows(
                    session,
                    Profile.__table__,  # type: ignore[arg-type]
                    [
                        {
                            "id": profile_id,
                            "account_id": account_id,
                            "headline": "Medicinska sestra",
                            "summary": "",
                            "residence_country": "AT",
                            "residence_city": None,
                            "origin_country": "RS",
                            "origin_municipality": "Niš",
                            "years_experience": None,
                            "sectors": ["health", "education"],
                            "text_language": None,
                            "text_language_pending": True,
                            "created_at": at,
                            "updated_at": at,
                        }
                    ],
                )
                await insert_rows(
                    session,
                    AvailabilityWindow.__table__,  # type: ignore[arg-type]
                    [
                        {
                            "id": uuid.uuid4(),
                            "profile_id": profile_id,
                            "start_date": date(2027, 5, 1),
                            "end_date": date(2027, 5, 31),
                            "modes": ["onsite_return", "remote"],
                            "hours_per_week": None,
                        }
                    ],
                )
                # A column with a default left out: the rows go the way that computes it (a new id).
                await insert_rows(
                    session,
                    Account.__table__,  # type: ignore[arg-type]
                    [
                        {
                            "email": "second@example.org",
                            "password_hash": "!",
                            "display_name": "Second",
                            "role": Role.MEMBER.value,
                            "is_active": False,
                            "created_at": at,
                        }
                    ],
                )
                await insert_rows(session, Account.__table__, [])  # type: ignore[arg-type]
            async with sessions() as session:
                account = await session.get(Account, account_id)
                profile = await session.get(Profile, profile_id)
                windows = list(await session.scalars(select(AvailabilityWindow)))
                others = list(await session.scalars(select(Account).where(Account.id != account_id)))
                assert account is not None
                assert profile is not None
                return account, profile, windows, others
        finally:
            await engine.dispose()

    try:
        account, profile, windows, others = asyncio.run(run())
    finally:
        asyncio.run(_empty_all_tables(settings.effective_database_url))
    assert (account.email, account.display_name, account.phone, account.is_active, account.created_at) == (
        "ana@example.org",
        "Ана Јовановић",
        None,
        True,
        at,
    )
    assert (profile.account_id, profile.sectors, profile.origin_municipality) == (
        account_id,
        ["health", "education"],
        "Niš",
    )
    assert (profile.text_language, profile.text_language_pending, profile.updated_at) == (None, True, at)
    assert [(w.start_date, w.end_date, w.modes, w.hours_per_week) for w in windows] == [
        (date(2027, 5, 1), date(2027, 5, 31), ["onsite_return", "remote"], None)
    ]
    assert [(a.email, a.is_active, isinstance(a.id, uuid.UUID)) for a in others] == [
        ("second@example.org", False, True)
    ]


def test_new_ids_sort_in_the_order_their_rows_were_made_as_stored_too() -> None:
    # Random ids put each new row at a random page of every index over them; an import of 100,000 people
    # spent a third of its time there. Time-ordered ids (version 7) keep new rows at the indexes' end.
    from diaspora.platform.db.models import new_id

    made = [new_id() for _ in range(20_000)]
    assert made == sorted(made)
    assert sorted(u.hex for u in made) == [u.hex for u in made]  # SQLite stores them as hex text
    assert len(set(made)) == len(made)
    assert {u.version for u in made} == {7}
