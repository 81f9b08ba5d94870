"""Member profiles: the member's own editing, and consent-filtered views for everyone else."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from diaspora.matching import languages
from diaspora.platform.core import audit, policy
from diaspora.platform.core.errors import NotFoundError, PermissionDeniedError
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.bulk import insert_rows
from diaspora.platform.db.models import (
    Account,
    AuditEvent,
    AvailabilityWindow,
    Consent,
    ContactGrant,
    Credential,
    Organisation,
    Profile,
    ProfileLanguage,
    ProfileSkill,
    new_id,
    utcnow,
)
from diaspora.platform.profiles.schemas import (
    DEFAULT_VISIBLE_FIELDS,
    AvailabilityOut,
    ConsentIn,
    ConsentOut,
    ContactOut,
    CredentialOut,
    LanguageOut,
    ProfileIn,
    ProfileOut,
    ProfileView,
    SkillOut,
)

_PROFILE_LOAD = (
    selectinload(Profile.languages),
    selectinload(Profile.skills),
    selectinload(Profile.credentials),
    selectinload(Profile.availability),
    selectinload(Profile.consent),
    selectinload(Profile.account),
)


def encode_visible_fields(fields: Iterable[str]) -> str:
    return "," + ",".join(sorted(set(fields))) + ","


def decode_visible_fields(stored: str) -> list[str]:
    return [part for part in stored.split(",") if part]


def _shows(field: str) -> ColumnElement[bool]:
    """SQL condition: the member shows `field` to organisations."""
    return Consent.visible_fields.contains(f",{field},", autoescape=True)


_NO_PROFILE = "You have no profile yet: create it with PUT /api/profiles/me."


async def load_own_profile(
    session: AsyncSession, account_id: uuid.UUID, *, required: bool = True
) -> Profile | None:
    profile = await session.scalar(
        select(Profile).where(Profile.account_id == account_id).options(*_PROFILE_LOAD)
    )
    if profile is None and required:
        raise NotFoundError(_NO_PROFILE)
    return profile


async def own_profile_id(session: AsyncSession, account_id: uuid.UUID) -> uuid.UUID:
    """The id of the member's profile (one indexed lookup, nothing loaded), or NotFoundError."""
    profile_id = await session.scalar(select(Profile.id).where(Profile.account_id == account_id))
    if profile_id is None:
        raise NotFoundError(_NO_PROFILE)
    return profile_id


async def contact_grants_of(session: AsyncSession, profile_id: uuid.UUID) -> list[ContactGrant]:
    return list(
        (await session.scalars(select(ContactGrant).where(ContactGrant.profile_id == profile_id))).all()
    )


async def lock_member(session: AsyncSession, account_id: uuid.UUID) -> None:
    await lock_members(session, [account_id])


async def lock_members(session: AsyncSession, account_ids: Collection[uuid.UUID]) -> None:
    """Serialise writers of these members' data for the rest of the transaction.

    A no-op UPDATE of the account row takes its row lock on PostgreSQL and the write lock on SQLite. Issued
    before anything is read, it makes every later read see the previous writer's committed result, so
    concurrent replacements of a profile never interleave (two writers would otherwise both delete the old
    skills and both insert their own).
    """
    await session.execute(
        update(Account).where(Account.id.in_(account_ids)).values(is_active=Account.is_active)
    )


@dataclass(frozen=True)
class ProfileRows:
    """What a profile's submission becomes in the database: the profile's own columns and its parts' rows,
    each cleaned once (trimmed text, sectors without repeats, positions kept). Both writers of profiles
    build on it: `save_profile` for one member through the ORM, the importer's bulk insert for thousands."""

    profile: dict[str, Any]
    languages: list[dict[str, Any]]
    skills: list[dict[str, Any]]
    credentials: list[dict[str, Any]]
    availability: list[dict[str, Any]]

    def parts(self) -> dict[Any, list[dict[str, Any]]]:
        """The parts' rows by model, in `PROFILE_PARTS` order."""
        return dict(
            zip(
                PROFILE_PARTS, (self.languages, self.skills, self.credentials, self.availability), strict=True
            )
        )


# The tables of a profile's parts, replaced whole with the profile.
PROFILE_PARTS = (ProfileLanguage, ProfileSkill, Credential, AvailabilityWindow)


def profile_text(data: ProfileIn) -> str:
    """The text whose language is identified: headline and summary. Not the skills: people in the region
    list them in English whatever they write in, which would pull every short profile towards English (and
    leaving them out makes identifying an import's hundred thousand rows a third quicker)."""
    return language_text(data.headline, data.summary)


def language_text(headline: str, summary: str) -> str:
    return "\n".join([headline.strip(), summary.strip()])


def profile_rows(data: ProfileIn, profile_id: uuid.UUID, *, text_language: str | None) -> ProfileRows:
    return ProfileRows(
        profile={
            "headline": data.headline.strip(),
            "summary": data.summary.strip(),
            "residence_country": data.residence_country,
            "residence_city": (data.residence_city or "").strip() or None,
            "origin_country": data.origin_country,
            "origin_municipality": data.origin_municipality,
            "years_experience": data.years_experience,
            "sectors": list(dict.fromkeys(s.strip() for s in data.sectors)),
            "text_language": text_language,
            "text_language_pending": False,
        },
        languages=[
            {"id": new_id(), "profile_id": profile_id, "code": lang.code, "level": lang.level.value}
            for lang in data.languages
        ],
        skills=[
            {
                "id": new_id(),
                "profile_id": profile_id,
                "position": i,
                "name": s.name.strip(),
                "taxonomy_id": s.taxonomy_id,
                "taxonomy_confidence": None,
                "level": s.level.value if s.level else None,
            }
            for i, s in enumerate(data.skills)
        ],
        credentials=[
            {
                "id": new_id(),
                "profile_id": profile_id,
                "position": i,
                "title": c.title.strip(),
                "issuer": c.issuer,
                "country": c.country,
                "year": c.year,
            }
            for i, c in enumerate(data.credentials)
        ],
        availability=[
            {
                "id": new_id(),
                "profile_id": profile_id,
                "start_date": a.start_date,
                "end_date": a.end_date,
                "modes": [m.value for m in a.modes],
                "hours_per_week": a.hours_per_week,
            }
            for a in data.availability
        ],
    )


async def save_profile(
    session: AsyncSession, account_id: uuid.UUID, data: ProfileIn, *, actor_id: uuid.UUID | None
) -> Profile:
    """Create or replace a member's profile as one unit: every part is replaced or nothing is. The member's
    own edits come through here; an import's changed rows through `replace_profiles`, its set-based twin,
    and its new rows are inserted in bulk, both from the same `profile_rows`. `actor_id` is who did it
    (None for an operator's import), for the audit trail."""
    await lock_member(session, account_id)
    profile = await load_own_profile(session, account_id, required=False)
    created = profile is None
    if profile is None:
        profile = Profile(id=new_id(), account_id=account_id)
        session.add(profile)
    else:
        # Delete the old rows first: the unit of work inserts before it deletes orphans, which would
        # trip the unique (profile, language) constraint when a language is kept.
        profile.languages, profile.skills, profile.credentials, profile.availability = [], [], [], []
        await session.flush()
    rows = profile_rows(data, profile.id, text_language=languages.identify(profile_text(data)))
    for column, value in rows.profile.items():
        setattr(profile, column, value)
    profile.updated_at = utcnow()  # children changed too: the matcher re-reads profiles by this stamp
    profile.languages = [ProfileLanguage(**row) for row in rows.languages]
    profile.skills = [ProfileSkill(**row) for row in rows.skills]
    profile.credentials = [Credential(**row) for row in rows.credentials]
    profile.availability = [AvailabilityWindow(**row) for row in rows.availability]
    consent_in = data.consent or (None if profile.consent else ConsentIn())
    if consent_in is not None:
        _apply_consent(profile, consent_in)
    await session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="profile.created" if created else "profile.updated",
        entity_type="profile",
        entity_id=profile.id,
    )
    return profile


async def replace_profiles(
    session: AsyncSession,
    replaced: Sequence[tuple[uuid.UUID, uuid.UUID, ProfileIn]],
    *,
    actor_id: uuid.UUID | None,
) -> None:
    """Replace many members' profiles at once, (account id, profile id, submission) each, as `save_profile`
    replaces one: the members locked first, every part replaced, the consent set when the submission
    carries one, the stamp moved and an audit record each; set-based, a handful of statements for a
    thousand profiles instead of a dozen each (an import's changed rows: 15 ms a row through the ORM). One
    difference: each text's language is left to the background jobs, as for an import's new rows."""
    if not replaced:
        return
    ids = [profile_id for _, profile_id, _ in replaced]
    await lock_members(session, [account_id for account_id, _, _ in replaced])  # before anything is read
    for model in PROFILE_PARTS:
        await session.execute(delete(model).where(model.profile_id.in_(ids)))
    now = utcnow()
    columns: list[dict[str, Any]] = []
    rows: dict[Any, list[dict[str, Any]]] = {model: [] for model in PROFILE_PARTS}
    consents: list[dict[str, Any]] = []
    for _, profile_id, data in replaced:
        built = profile_rows(data, profile_id, text_language=None)
        columns.append({"id": profile_id, **built.profile, "text_language_pending": True, "updated_at": now})
        for model, values in built.parts().items():
            rows[model] += values
        if data.consent is not None:
            consents.append({"profile_id": profile_id, **consent_values(data.consent)})
    await session.execute(update(Profile), columns)  # by primary key, one executemany
    for model, values in rows.items():
        await insert_rows(session, model.__table__, values)
    table = Consent.__table__
    assert isinstance(table, Table)
    given = {row["profile_id"] for row in consents}
    if consents:
        # Each consent changed only where it differs, so that its own stamp tells when the member's
        # choices last changed (the ORM's unit of work writes nothing for values set to what they were).
        names = [name for name in consents[0] if name != "profile_id"]
        await session.execute(
            update(table)
            .where(
                table.c.profile_id == bindparam("pid"),
                or_(*(table.c[name] != bindparam(f"new_{name}") for name in names)),
            )
            .values({**{name: bindparam(f"new_{name}") for name in names}, "updated_at": now}),
            [{"pid": row["profile_id"], **{f"new_{name}": row[name] for name in names}} for row in consents],
        )
    have = set(await session.scalars(select(Consent.profile_id).where(Consent.profile_id.in_(ids))))
    defaults = consent_values(ConsentIn())
    await insert_rows(
        session,
        table,
        [{"profile_id": pid, **defaults, "updated_at": now} for pid in ids if pid not in have | given]
        + [{**row, "updated_at": now} for row in consents if row["profile_id"] not in have],
    )
    audits = [
        {"actor_id": actor_id, "action": "profile.updated", "entity_type": "profile", "entity_id": str(pid)}
        for pid in ids
    ]
    audit_table = AuditEvent.__table__
    assert isinstance(audit_table, Table)
    await insert_rows(session, audit_table, audits)  # its id, time and details computed by the INSERT


# Texts identified at once by the background jobs: the detector holds the interpreter while it works (about
# 10 ms for 64 profiles on two cores), so requests served by the same process wait at most that long.
LANGUAGE_CHUNK = 64


async def identify_pending_languages(sessions: async_sessionmaker[AsyncSession], *, batch: int = 1024) -> int:
    """Identify the language of every profile stored without it (`text_language_pending`: an import leaves
    it to the background jobs, since identifying is the better part of an import's time). Returns how many
    were identified. A profile its member saved meanwhile keeps what that save identified: only profiles
    still pending are written."""
    table = Profile.__table__
    assert isinstance(table, Table)
    done = 0
    while True:
        async with sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(Profile.id, Profile.headline, Profile.summary)
                    .where(Profile.text_language_pending)
                    .limit(batch)
                )
            ).all()
            if not rows:
                return done
            found: list[str | None] = []
            for start in range(0, len(rows), LANGUAGE_CHUNK):
                chunk = rows[start : start + LANGUAGE_CHUNK]
                found += languages.identify_many([language_text(row.headline, row.summary) for row in chunk])
                await asyncio.sleep(0)  # let the process's requests in between chunks
            await session.execute(
                update(table)
                .where(table.c.id == bindparam("profile_id"), table.c.text_language_pending)
                # Not a change to the profile: its stamp stays, or the matcher would read every imported
                # profile again and forget the cards it keeps by that stamp.
                .values(
                    text_language=bindparam("code"),
                    text_language_pending=False,
                    updated_at=table.c.updated_at,
                ),
                [{"profile_id": row.id, "code": code} for row, code in zip(rows, found, strict=True)],
            )
        done += len(rows)


def consent_values(consent_in: ConsentIn) -> dict[str, Any]:
    """A consent's columns (a new profile without one gets `ConsentIn()`'s defaults)."""
    return {
        "visible_fields": encode_visible_fields(consent_in.visible_fields),
        "open_to_matching": consent_in.open_to_matching,
        "open_to_contact": consent_in.open_to_contact,
        "open_to_consultations": consent_in.open_to_consultations,
    }


def _apply_consent(profile: Profile, consent_in: ConsentIn) -> None:
    if profile.consent is None:
        profile.consent = Consent()
    for column, value in consent_values(consent_in).items():
        setattr(profile.consent, column, value)


async def update_consent(session: AsyncSession, user: Actor, consent_in: ConsentIn) -> Profile:
    profile = await load_own_profile(session, user.id)
    assert profile is not None
    _apply_consent(profile, consent_in)
    profile.updated_at = utcnow()  # the matcher's indexes re-read a profile by this stamp (consent filters)
    await session.flush()
    audit.record(
        session,
        actor_id=user.id,
        action="consent.updated",
        entity_type="profile",
        entity_id=profile.id,
        open_to_matching=consent_in.open_to_matching,
        open_to_contact=consent_in.open_to_contact,
        open_to_consultations=consent_in.open_to_consultations,
        visible_fields=sorted(set(consent_in.visible_fields)),
    )
    return profile


async def grant_contact(session: AsyncSession, user: Actor, organisation_id: uuid.UUID) -> None:
    await lock_member(session, user.id)  # a double click must not insert the grant twice
    profile = await load_own_profile(session, user.id)
    assert profile is not None
    if await session.get(Organisation, organisation_id) is None:
        raise NotFoundError("Organisation not found.", field="organisation_id")
    exists_already = await session.scalar(
        select(ContactGrant.id).where(
            ContactGrant.profile_id == profile.id, ContactGrant.organisation_id == organisation_id
        )
    )
    if exists_already is None:
        session.add(ContactGrant(profile_id=profile.id, organisation_id=organisation_id))
        audit.record(
            session,
            actor_id=user.id,
            action="contact.granted",
            entity_type="profile",
            entity_id=profile.id,
            organisation_id=str(organisation_id),
        )
    await session.flush()


async def revoke_contact(session: AsyncSession, user: Actor, organisation_id: uuid.UUID) -> None:
    profile = await load_own_profile(session, user.id)
    assert profile is not None
    grant = await session.scalar(
        select(ContactGrant).where(
            ContactGrant.profile_id == profile.id, ContactGrant.organisation_id == organisation_id
        )
    )
    if grant is None:
        raise NotFoundError("You have not granted contact to this organisation.")
    await session.delete(grant)
    audit.record(
        session,
        actor_id=user.id,
        action="contact.revoked",
        entity_type="profile",
        entity_id=profile.id,
        organisation_id=str(organisation_id),
    )


def _parts(profile: Profile) -> dict[str, Any]:
    """The parts of a profile its owner and its viewers are shown alike."""
    return {
        "id": profile.id,
        "headline": profile.headline,
        "summary": profile.summary,
        "residence_country": profile.residence_country,
        "residence_city": profile.residence_city,
        "origin_country": profile.origin_country,
        "origin_municipality": profile.origin_municipality,
        "years_experience": profile.years_experience,
        "sectors": list(profile.sectors),
        "languages": _languages(profile),
        "skills": _skills(profile),
        "credentials": _credentials(profile),
        "availability": _availability(profile),
    }


def profile_out(profile: Profile, grants: Iterable[ContactGrant]) -> ProfileOut:
    consent = profile.consent
    return ProfileOut(
        **_parts(profile),
        text_language=profile.text_language,
        consent=ConsentOut(
            visible_fields=decode_visible_fields(consent.visible_fields)
            if consent
            else list(DEFAULT_VISIBLE_FIELDS),
            open_to_matching=consent.open_to_matching if consent else False,
            open_to_contact=consent.open_to_contact if consent else False,
            open_to_consultations=consent.open_to_consultations if consent else False,
        ),
        contact_granted_to=[g.organisation_id for g in grants],
        updated_at=profile.updated_at,
        occupation_uri=profile.occupation_uri,
    )


def _languages(profile: Profile) -> list[LanguageOut]:
    return [LanguageOut(code=lang.code, level=lang.level) for lang in profile.languages]


def _skills(profile: Profile) -> list[SkillOut]:
    return [SkillOut(name=s.name, taxonomy_id=s.taxonomy_id, level=s.level) for s in profile.skills]


def _credentials(profile: Profile) -> list[CredentialOut]:
    return [
        CredentialOut(title=c.title, issuer=c.issuer, country=c.country, year=c.year)
        for c in profile.credentials
    ]


def _availability(profile: Profile) -> list[AvailabilityOut]:
    return [
        AvailabilityOut(
            start_date=a.start_date, end_date=a.end_date, modes=list(a.modes), hours_per_week=a.hours_per_week
        )
        for a in profile.availability
    ]


# The fields of a profile view each visible part stands for.
_VIEW_FIELDS = {
    "name": ("name",),
    "headline": ("headline",),
    "summary": ("summary",),
    "residence_country": ("residence_country", "residence_city"),
    "origin": ("origin_country", "origin_municipality"),
    "years_experience": ("years_experience",),
    "sectors": ("sectors",),
    "languages": ("languages",),
    "skills": ("skills",),
    "credentials": ("credentials",),
    "availability": ("availability",),
}


def profile_card(profile: Profile) -> ProfileView:
    """Every part of a profile a viewer could be shown, contact details apart: `card_view` then keeps the
    parts its member shows. (A card may be remembered between requests; what the member shows may not.)"""
    return ProfileView(**_parts(profile), name=profile.account.display_name)


def card_view(
    card: ProfileView, shown: Collection[str], *, open_to_contact: bool, contact: ContactOut | None = None
) -> ProfileView:
    """The consent-filtered view of a card: only the parts in `shown`, and `contact` only when the member is
    open to contact (the caller passes it only to a viewer the member granted it to)."""
    parts = {f: getattr(card, f) for part in shown for f in _VIEW_FIELDS.get(part, ())}
    return ProfileView(
        id=card.id,
        open_to_contact=open_to_contact,
        contact=contact if open_to_contact else None,
        **parts,
    )


def profile_view(profile: Profile, *, contact_granted: bool) -> ProfileView:
    """The consent-filtered view of a profile for someone other than its owner."""
    consent = profile.consent
    shown = decode_visible_fields(consent.visible_fields) if consent else []
    open_to_contact = bool(consent and consent.open_to_contact)
    account = profile.account
    contact = ContactOut(email=account.email, phone=account.phone) if contact_granted else None
    return card_view(profile_card(profile), shown, open_to_contact=open_to_contact, contact=contact)


def ensure_may_see_profiles(actor: Actor) -> None:
    """The policy's rule, checked again where profiles are read (the routes' guards check it first)."""
    if not policy.may_see_profiles(actor):
        raise PermissionDeniedError(policy.why_no_profiles(actor))


@dataclass(frozen=True, slots=True)
class ProfileFilters:
    residence_country: str | None = None
    origin_country: str | None = None
    language: str | None = None
    skill: str | None = None
    q: str | None = None


def _browse_query(filters: ProfileFilters) -> Select[Profile]:
    # Every filter only matches members who show the filtered part; otherwise the filter itself
    # would reveal what they chose to hide.
    query = (
        select(Profile)
        .join(Consent, Consent.profile_id == Profile.id)
        .where(Consent.open_to_matching.is_(True))
    )
    if filters.residence_country:
        query = query.where(
            _shows("residence_country"), Profile.residence_country == filters.residence_country
        )
    if filters.origin_country:
        query = query.where(_shows("origin"), Profile.origin_country == filters.origin_country)
    if filters.language:
        query = query.where(
            _shows("languages"),
            exists().where(
                ProfileLanguage.profile_id == Profile.id, ProfileLanguage.code == filters.language
            ),
        )
    if filters.skill:
        query = query.where(
            _shows("skills"),
            exists().where(
                ProfileSkill.profile_id == Profile.id,
                func.lower(ProfileSkill.name).contains(filters.skill.lower(), autoescape=True),
            ),
        )
    if filters.q:
        needle = filters.q.lower()
        query = query.where(
            or_(
                and_(_shows("headline"), func.lower(Profile.headline).contains(needle, autoescape=True)),
                and_(_shows("summary"), func.lower(Profile.summary).contains(needle, autoescape=True)),
            )
        )
    return query


async def browse_profiles(
    session: AsyncSession, user: Actor, filters: ProfileFilters, *, limit: int, offset: int
) -> tuple[list[ProfileView], int]:
    ensure_may_see_profiles(user)
    query = _browse_query(filters)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    profiles = (
        await session.scalars(
            query.options(*_PROFILE_LOAD)
            .order_by(Profile.updated_at.desc(), Profile.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    granted = await _granted_profile_ids(session, user, [p.id for p in profiles])
    return [profile_view(p, contact_granted=p.id in granted) for p in profiles], total


async def view_profile(session: AsyncSession, user: Actor, profile_id: uuid.UUID) -> ProfileView:
    ensure_may_see_profiles(user)
    profile = await session.scalar(
        select(Profile)
        .join(Consent, Consent.profile_id == Profile.id)
        .where(Profile.id == profile_id, Consent.open_to_matching.is_(True))
        .options(*_PROFILE_LOAD)
    )
    if profile is None:
        raise NotFoundError("Profile not found.")
    granted = await _granted_profile_ids(session, user, [profile.id])
    return profile_view(profile, contact_granted=profile.id in granted)


async def _granted_profile_ids(
    session: AsyncSession, user: Actor, profile_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    if user.organisation_id is None or not profile_ids:
        return set()
    rows = await session.scalars(
        select(ContactGrant.profile_id).where(
            ContactGrant.organisation_id == user.organisation_id, ContactGrant.profile_id.in_(profile_ids)
        )
    )
    return set(rows.all())
