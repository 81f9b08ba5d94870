"""The writers of each kind of import: a batch of validated rows, new ones inserted in bulk, changed ones
updated through the same service a person's own edit uses."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.ingest.columns import RowProblem
from diaspora.platform.core.errors import DomainError
from diaspora.platform.core.policy import Actor
from diaspora.platform.core.security import UNUSABLE_PASSWORD_HASH
from diaspora.platform.db.bulk import insert_records, insert_rows
from diaspora.platform.db.models import (
    Account,
    AvailabilityWindow,
    Consent,
    Credential,
    ImportKey,
    Opportunity,
    OpportunityStatus,
    Organisation,
    Post,
    PostSkill,
    Profile,
    ProfileLanguage,
    ProfileSkill,
    Role,
    new_id,
    utcnow,
)
from diaspora.platform.imports.report import ImportReport, Valid, key_row
from diaspora.platform.opportunities import services as opportunities
from diaspora.platform.organisations.schemas import OrganisationIn
from diaspora.platform.organisations.services import new_organisation
from diaspora.platform.posts import services as posts
from diaspora.platform.posts.schemas import PostIn
from diaspora.platform.profiles import services as profiles
from diaspora.platform.profiles.schemas import ConsentIn, ProfileIn

# The tables each kind of import writes to, parents first (a new person's rows are inserted in this order).
WRITTEN: dict[str, tuple[Any, ...]] = {
    "profiles": (
        Account,
        Profile,
        Consent,
        ProfileLanguage,
        ProfileSkill,
        Credential,
        AvailabilityWindow,
        ImportKey,
    ),
    "organisations": (Organisation, ImportKey),
    "posts": (Post, PostSkill, ImportKey),
    "opportunities": (Opportunity, ImportKey),
}


async def write_profiles(
    session: AsyncSession,
    fresh: list[Valid],
    changed: list[tuple[Valid, ImportKey]],
    report: ImportReport,
    actor: Actor | None,
) -> None:
    emails = [v.row.extra["email"] for v in fresh] + [v.row.extra["email"] for v, _ in changed]
    taken = dict(
        (await session.execute(select(Account.email, Account.id).where(Account.email.in_(emails)))).all()
    )
    owners = {key.entity_id: key for _, key in changed}
    profile_accounts = dict(
        (
            await session.execute(select(Profile.id, Profile.account_id).where(Profile.id.in_(list(owners))))
        ).all()
    )
    claimed: set[str] = set()

    def email_free(valid: Valid, own_account: uuid.UUID | None) -> bool:
        email = valid.row.extra["email"]
        if email in claimed or (email in taken and taken[email] != own_account):
            report.problems.append(RowProblem(valid.row.number, "email", "belongs to another account"))
            return False
        claimed.add(email)
        return True

    # New people: plain bulk inserts (this is what makes 100,000 rows a matter of seconds).
    now = utcnow()
    rows: dict[Any, list[dict[str, Any]]] = {model: [] for model in WRITTEN["profiles"]}
    for valid in fresh:
        if not email_free(valid, None):
            continue
        for model, values in new_person_rows(valid, report, now).items():
            rows[model].extend(values)
        report.created += 1
    for model, values in rows.items():
        # Core inserts, or COPY: the ORM's per-row bookkeeping would triple the time
        await insert_rows(session, model.__table__, values)

    # Changed people: the same replacement as a member's own edit (children replaced as one unit), for
    # the whole batch at once.
    replaced: list[tuple[uuid.UUID, uuid.UUID, ProfileIn]] = []
    contacts: list[dict[str, Any]] = []
    for valid, key in changed:
        owner: uuid.UUID | None = profile_accounts.get(key.entity_id)
        if owner is None:  # the person erased their account since the last import: create again
            await session.delete(key)
            await session.flush()
            await write_profiles(session, [valid], [], report, actor)
            claimed.add(valid.row.extra["email"])  # no later row of the batch may take it
            continue
        if not email_free(valid, owner):
            continue
        contacts.append(
            {
                "account_id": owner,
                "new_email": valid.row.extra["email"],
                "new_display_name": _cut(valid.row.extra.get("display_name")),
                "new_phone": valid.row.extra.get("phone"),
            }
        )
        replaced.append((owner, key.entity_id, valid.data))
        key.content_hash = valid.digest
        report.updated += 1
    await profiles.replace_profiles(session, replaced, actor_id=actor.id if actor is not None else None)
    if contacts:
        table = Account.__table__
        assert isinstance(table, Table)
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("account_id"))
            .values(
                email=bindparam("new_email"),
                # A row without a name keeps the account's; a phone left out is removed, as before.
                display_name=func.coalesce(bindparam("new_display_name"), table.c.display_name),
                phone=bindparam("new_phone"),
            ),
            contacts,
        )


def _cut(name: str | None) -> str | None:
    return None if name is None else name[:120]


@dataclass
class PreparedPeople:
    """New people of one batch, their rows built and converted for the driver by another process
    (`prepare`): by table name, the column names, the values and the person (index) each row is of."""

    numbers: list[int]
    emails: list[str]
    tables: dict[str, tuple[list[str], list[tuple[Any, ...]], list[int]]]


async def write_prepared_people(session: AsyncSession, people: PreparedPeople, report: ImportReport) -> None:
    """Insert prepared new people, but none whose address is another account's or an earlier row's of
    the batch (that row is reported, as `write_profiles` reports it)."""
    taken = set(await session.scalars(select(Account.email).where(Account.email.in_(people.emails))))
    claimed: set[str] = set()
    dropped: set[int] = set()
    for i, (number, email) in enumerate(zip(people.numbers, people.emails, strict=True)):
        if email in claimed or email in taken:
            report.problems.append(RowProblem(number, "email", "belongs to another account"))
            dropped.add(i)
        claimed.add(email)
    for model in WRITTEN["profiles"]:
        names, values, owners = people.tables.get(model.__tablename__, ([], [], []))
        if dropped:
            values = [v for v, owner in zip(values, owners, strict=True) if owner not in dropped]
        await insert_records(session, model.__table__, (names, values))
    report.created += len(people.numbers) - len(dropped)


def new_person_rows(valid: Valid, report: ImportReport, now: datetime) -> dict[Any, list[dict[str, Any]]]:
    """The rows of one new person, by model (those of `WRITTEN["profiles"]`): account, profile, consent,
    the profile's parts and the import key. Pure, so another process can build them (`prepare`)."""
    data: ProfileIn = valid.data
    account_id, profile_id = new_id(), new_id()
    built = profiles.profile_rows(data, profile_id, text_language=None)
    account = {
        "id": account_id,
        "email": valid.row.extra["email"],
        "password_hash": UNUSABLE_PASSWORD_HASH,
        "display_name": valid.row.extra.get("display_name", "")[:120],
        "phone": valid.row.extra.get("phone"),
        "role": Role.MEMBER.value,
        "organisation_id": None,
        "is_active": True,
        "created_at": now,
    }
    profile = {
        "id": profile_id,
        "account_id": account_id,
        **built.profile,
        # Identifying each text's language would be half the import's time: the background jobs do it.
        "text_language_pending": True,
        "created_at": now,
        "updated_at": now,
    }
    consent = {
        "profile_id": profile_id,
        **profiles.consent_values(data.consent or ConsentIn()),
        "updated_at": now,
    }
    return {
        Account: [account],
        Profile: [profile],
        Consent: [consent],
        **built.parts(),
        ImportKey: [key_row(report, valid, profile_id)],
    }


async def write_organisations(
    session: AsyncSession,
    fresh: list[Valid],
    changed: list[tuple[Valid, ImportKey]],
    report: ImportReport,
    actor: Actor | None,
) -> None:
    # Only an operator (command line) or an admin may import organisations as verified.
    may_verify = actor is None or actor.role is Role.ADMIN
    for valid in fresh:
        data: OrganisationIn = valid.data
        organisation = new_organisation(data, verified=bool(may_verify and valid.row.extra.get("verified")))
        session.add(organisation)
        await session.flush()
        await session.execute(insert(ImportKey), [key_row(report, valid, organisation.id)])
        report.created += 1
    for valid, key in changed:
        existing = await session.get(Organisation, key.entity_id)
        if existing is None:
            report.problems.append(
                RowProblem(valid.row.number, "external_id", "its organisation was deleted")
            )
            continue
        data = valid.data
        existing.name, existing.kind, existing.country = (
            data.name.strip(),
            data.kind.value,
            data.country,
        )
        existing.municipality, existing.website = data.municipality, data.website
        existing.description = data.description
        if may_verify and "verified" in valid.row.extra:
            existing.verified = bool(valid.row.extra["verified"])
        key.content_hash = valid.digest
        report.updated += 1


async def _organisation_finder(
    session: AsyncSession,
    valids: Sequence[Valid],
    report: ImportReport,
    actor: Actor | None,
) -> Callable[[Valid], Awaitable[Organisation | None]]:
    """Resolves a row's organisation: staff uploads use their own; operator and admin imports name one
    imported from the same source in `organisation_external_id`. Problems go into the report."""
    references = {v.row.extra.get("organisation_external_id") for v in valids}
    organisations = dict(
        (
            await session.execute(
                select(ImportKey.external_id, ImportKey.entity_id).where(
                    ImportKey.source == report.source,
                    ImportKey.kind == "organisations",
                    ImportKey.external_id.in_([r for r in references if r]),
                )
            )
        ).all()
    )

    async def organisation_of(valid: Valid) -> Organisation | None:
        if actor is not None and actor.role is not Role.ADMIN and actor.organisation_id is not None:
            return await session.get(Organisation, actor.organisation_id)  # staff upload their own
        reference = str(valid.row.extra.get("organisation_external_id", ""))
        if not reference:
            report.problems.append(RowProblem(valid.row.number, "organisation_external_id", "is required"))
            return None
        organisation_id: uuid.UUID | None = organisations.get(reference)
        if organisation_id is None:
            report.problems.append(
                RowProblem(
                    valid.row.number,
                    "organisation_external_id",
                    f"{reference!r} is not an organisation imported from this source",
                )
            )
            return None
        return await session.get(Organisation, organisation_id)

    return organisation_of


async def write_posts(
    session: AsyncSession,
    fresh: list[Valid],
    changed: list[tuple[Valid, ImportKey]],
    report: ImportReport,
    actor: Actor | None,
) -> None:
    organisation_of = await _organisation_finder(session, fresh + [v for v, _ in changed], report, actor)
    for valid, key in [(v, None) for v in fresh] + list(changed):
        organisation = await organisation_of(valid)
        if organisation is None:
            continue
        data: PostIn = valid.data
        try:
            posts.check_publishable(organisation, data)
        except DomainError as exc:
            report.problems.append(RowProblem(valid.row.number, exc.field or "", exc.message))
            continue
        post = await session.get(Post, key.entity_id) if key is not None else None
        if post is None:
            post = Post(organisation_id=organisation.id, created_by_id=actor.id if actor else None)
            post.organisation = organisation
            session.add(post)
            posts.apply_post(post, data)
            await session.flush()
            if key is not None:
                key.entity_id, key.content_hash = post.id, valid.digest
            else:
                await session.execute(insert(ImportKey), [key_row(report, valid, post.id)])
            report.created += 1
        else:
            await session.refresh(post, ["skills"])
            post.skills = []
            await session.flush()
            post.organisation_id = organisation.id
            posts.apply_post(post, data)
            key.content_hash = valid.digest  # type: ignore[union-attr]
            report.updated += 1


async def write_opportunities(
    session: AsyncSession,
    fresh: list[Valid],
    changed: list[tuple[Valid, ImportKey]],
    report: ImportReport,
    actor: Actor | None,
) -> None:
    # Operators and admins may import opportunities as published (they are the reviewers); staff
    # uploads, and rows that do not say, wait for review like opportunities posted through the API.
    may_publish = actor is None or actor.role is Role.ADMIN
    organisation_of = await _organisation_finder(session, fresh + [v for v, _ in changed], report, actor)
    for valid, key in [(v, None) for v in fresh] + list(changed):
        organisation = await organisation_of(valid)
        if organisation is None:
            continue
        if not may_publish and not organisation.verified:
            report.problems.append(RowProblem(valid.row.number, "", "your organisation is not verified yet"))
            continue
        status = str(valid.row.extra.get("status") or OpportunityStatus.PENDING_REVIEW.value)
        if status not in (OpportunityStatus.PENDING_REVIEW.value, OpportunityStatus.PUBLISHED.value):
            report.problems.append(RowProblem(valid.row.number, "status", "is pending_review or published"))
            continue
        if status == OpportunityStatus.PUBLISHED.value and not (may_publish and organisation.verified):
            reason = "needs a verified organisation" if may_publish else "is set by an admin's review"
            report.problems.append(RowProblem(valid.row.number, "status", f"published {reason}"))
            continue
        row = await session.get(Opportunity, key.entity_id) if key is not None else None
        if row is None:
            row = Opportunity(
                id=new_id(), organisation_id=organisation.id, created_by_id=actor.id if actor else None
            )
            row.organisation = organisation
            session.add(row)
            report.created += 1
        else:
            report.updated += 1
        opportunities.apply_opportunity(row, valid.data)
        row.organisation_id = organisation.id
        row.status = status
        row.published_at = (row.published_at or utcnow()) if status == "published" else None
        await session.flush()
        if key is None:
            await session.execute(insert(ImportKey), [key_row(report, valid, row.id)])
        else:
            key.entity_id, key.content_hash = row.id, valid.digest
