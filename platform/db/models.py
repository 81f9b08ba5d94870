"""SQLAlchemy 2 typed models: the database is the source of truth for everything the platform knows."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from typing import Any

from advanced_alchemy.base import convention
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from uuid_utils.compat import uuid7


def utcnow() -> datetime:
    return datetime.now(UTC)


# Timestamps are advanced-alchemy's `DateTimeUTC`: timezone-aware UTC on every database (SQLite hands back
# naive values otherwise), and a naive value is refused on the way in.


class Base(DeclarativeBase):
    # advanced-alchemy's naming convention for constraints and indexes, which the migrations were made with.
    metadata = MetaData(naming_convention=convention)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Role(enum.StrEnum):
    MEMBER = "member"
    ORGANISATION_STAFF = "organisation_staff"
    MINISTRY = "ministry"
    ADMIN = "admin"


class OrganisationKind(enum.StrEnum):
    HOSPITAL = "hospital"
    UNIVERSITY = "university"
    FIRM = "firm"
    MUNICIPALITY = "municipality"
    NGO = "ngo"
    MINISTRY = "ministry"


class AvailabilityMode(enum.StrEnum):
    ONSITE_RETURN = "onsite_return"
    REMOTE = "remote"
    VOLUNTEER = "volunteer"
    INVEST = "invest"


class PostKind(enum.StrEnum):
    SKILL_NEED = "skill_need"
    SHORT_TERM_RETURN = "short_term_return"


class WorkMode(enum.StrEnum):
    ONSITE = "onsite"
    REMOTE = "remote"
    HYBRID = "hybrid"


class Compensation(enum.StrEnum):
    PAID = "paid"
    VOLUNTEER = "volunteer"


class Incentive(enum.StrEnum):
    """What a post offers beside the work: the incentives return programmes use to draw people back."""

    TRAVEL = "travel"
    ACCOMMODATION = "accommodation"
    STIPEND = "stipend"
    SUBSIDY = "subsidy"  # a public programme pays part of the cost (named in `subsidy_programme`)
    INSURANCE = "insurance"


class PledgeBand(enum.StrEnum):
    """How much a member means to invest, in euros, as a range (nobody is asked for an exact sum)."""

    UNDER_10K = "under_10k"
    FROM_10K = "10k_50k"
    FROM_50K = "50k_250k"
    FROM_250K = "250k_1m"
    OVER_1M = "over_1m"


PLEDGE_BAND_EUR: dict[str, tuple[int, int | None]] = {
    PledgeBand.UNDER_10K.value: (1, 10_000),
    PledgeBand.FROM_10K.value: (10_000, 50_000),
    PledgeBand.FROM_50K.value: (50_000, 250_000),
    PledgeBand.FROM_250K.value: (250_000, 1_000_000),
    PledgeBand.OVER_1M.value: (1_000_000, None),
}


class PledgeHorizon(enum.StrEnum):
    SIX_MONTHS = "6_months"
    ONE_YEAR = "1_year"
    THREE_YEARS = "3_years"


class StoryStatus(enum.StrEnum):
    """A return story: both people named in it agree, an admin reviews it, then anyone reads it."""

    AWAITING_CONSENT = "awaiting_consent"
    PENDING_REVIEW = "pending_review"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ConsultationStatus(enum.StrEnum):
    """A consultation is written as a draft, opened (which mails the members it targets once), and closed
    on its closing day or earlier by its organisers; answers are changed until it closes."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class QuestionKind(enum.StrEnum):
    SINGLE = "single"  # one of the options
    MULTIPLE = "multiple"  # any of the options
    SCALE = "scale"  # 1 to `scale_max`
    TEXT = "text"  # free text, shown to the organisers without names


class OpportunityKind(enum.StrEnum):
    INVESTMENT = "investment"
    VOLUNTEERING = "volunteering"


class OpportunityStatus(enum.StrEnum):
    """Moderated: a new or changed opportunity waits for an admin before anyone can find it."""

    PENDING_REVIEW = "pending_review"
    PUBLISHED = "published"
    REJECTED = "rejected"
    CLOSED = "closed"


class Sector(enum.StrEnum):
    HEALTH = "health"
    EDUCATION = "education"
    RESEARCH = "research"
    IT = "it"
    ENGINEERING = "engineering"
    ENERGY = "energy"
    AGRICULTURE = "agriculture"
    TOURISM = "tourism"
    MANUFACTURING = "manufacturing"
    FINANCE = "finance"
    PUBLIC_ADMINISTRATION = "public_administration"
    CULTURE = "culture"
    SOCIAL = "social"
    ENVIRONMENT = "environment"
    OTHER = "other"


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    MATCHING = "matching"
    INVITING = "inviting"
    CLOSED = "closed"


class MatchState(enum.StrEnum):
    """A campaign's pair of post and person: proposed -> invited -> accepted / declined / expired;
    accepted -> placed."""

    PROPOSED = "proposed"
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    PLACED = "placed"


class PostStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class SkillLevel(enum.StrEnum):
    BASIC = "basic"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"
    EXPERT = "expert"


class LanguageLevel(enum.StrEnum):
    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"
    NATIVE = "native"


def new_id() -> uuid.UUID:
    """A new row's id, time-ordered (UUIDv7, as advanced-alchemy's primary keys are): rows made one after
    another sort together, so each index grows at its end instead of at a random page, which takes an
    import of 100,000 people on SQLite from about 49 to 32 s and keeps PostgreSQL's indexes compact. Its
    first 48 bits tell when the row was made, to the millisecond; no id here is a secret (each route checks
    who may see what, and tokens come from `secrets`). Rows made before keep their random (v4) ids."""
    return uuid7()


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=new_id)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = _uuid_pk()
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(32), default=Role.MEMBER.value)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    # When the owner proved the address is theirs (a link from a mail opened); NULL: not yet, no login.
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))

    profile: Mapped[Profile | None] = relationship(back_populates="account", passive_deletes=True)
    organisation: Mapped[Organisation | None] = relationship(foreign_keys=[organisation_id])


class AuthSession(Base):
    """An opaque bearer token or cookie session; only its SHA-256 is stored."""

    __tablename__ = "auth_sessions"

    id: Mapped[uuid.UUID] = _uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    # When the session last served a request (to the minute): an idle session ends. NULL: never since login.
    last_used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class AccountToken(Base):
    """A single-use, expiring token sent by email (password reset, setting a first password). Only its
    SHA-256 is stored, so a database leak hands nobody a way into an account."""

    __tablename__ = "account_tokens"

    id: Mapped[uuid.UUID] = _uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class Profile(Base):
    __tablename__ = "profiles"
    __table_args__ = (
        # The few profiles whose language is still to be identified, found without reading the others.
        Index(
            "ix_profiles_text_language_pending",
            "text_language_pending",
            sqlite_where=text("text_language_pending"),
            postgresql_where=text("text_language_pending"),
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    headline: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    # ISO 639-1 code of the language headline, summary and skills are written in (None: not told).
    text_language: Mapped[str | None] = mapped_column(String(8))
    # True while that language is still to be identified: an import stores its rows without, and the
    # background jobs identify them (`profiles.services.identify_pending_languages`).
    text_language_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    residence_country: Mapped[str | None] = mapped_column(String(2), index=True)
    residence_city: Mapped[str | None] = mapped_column(String(120))
    origin_country: Mapped[str | None] = mapped_column(String(2), index=True)
    origin_municipality: Mapped[str | None] = mapped_column(String(120))
    years_experience: Mapped[int | None] = mapped_column(Integer)
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The ESCO occupation the member chose for their headline (None: it is linked automatically).
    occupation_uri: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow, index=True
    )

    account: Mapped[Account] = relationship(back_populates="profile")
    languages: Mapped[list[ProfileLanguage]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ProfileLanguage.code"
    )
    skills: Mapped[list[ProfileSkill]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ProfileSkill.position"
    )
    credentials: Mapped[list[Credential]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="Credential.position"
    )
    availability: Mapped[list[AvailabilityWindow]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="AvailabilityWindow.start_date"
    )
    consent: Mapped[Consent | None] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    contact_grants: Mapped[list[ContactGrant]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )


class ProfileLanguage(Base):
    __tablename__ = "profile_languages"
    __table_args__ = (UniqueConstraint("profile_id", "code"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(3))
    level: Mapped[str] = mapped_column(String(8))


class ProfileSkill(Base):
    __tablename__ = "profile_skills"

    id: Mapped[uuid.UUID] = _uuid_pk()
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    taxonomy_id: Mapped[str | None] = mapped_column(String(300), index=True)
    taxonomy_confidence: Mapped[float | None] = mapped_column(Float)
    level: Mapped[str | None] = mapped_column(String(16))


class Credential(Base):
    __tablename__ = "credentials"

    id: Mapped[uuid.UUID] = _uuid_pk()
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    year: Mapped[int | None] = mapped_column(Integer)


class AvailabilityWindow(Base):
    __tablename__ = "availability_windows"

    id: Mapped[uuid.UUID] = _uuid_pk()
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    modes: Mapped[list[str]] = mapped_column(JSON, default=list)
    hours_per_week: Mapped[int | None] = mapped_column(Integer)


class Consent(Base):
    """What organisations may see of a profile, and whether the member takes part in matching at all."""

    __tablename__ = "consents"

    profile_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True
    )
    # Stored as ",headline,skills," so that "is this part visible?" is a portable SQL LIKE in filters.
    visible_fields: Mapped[str] = mapped_column(String(300), default=",")
    open_to_matching: Mapped[bool] = mapped_column(Boolean, default=True)
    open_to_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    # Ministries and municipalities may ask this member short questionnaires (one mail for each).
    open_to_consultations: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow)


class ContactGrant(Base):
    """A member's explicit acceptance that one organisation may see their contact details."""

    __tablename__ = "contact_grants"
    __table_args__ = (UniqueConstraint("profile_id", "organisation_id"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    granted_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2), index=True)
    municipality: Mapped[str | None] = mapped_column(String(120))
    website: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    verified: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    verified_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class Post(Base):
    """A skill need or a short-term return post of an organisation."""

    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_status_country", "status", "country"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # ISO 639-1 code of the language title, description and skills are written in (None: not told).
    text_language: Mapped[str | None] = mapped_column(String(8))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    country: Mapped[str] = mapped_column(String(2))
    municipality: Mapped[str | None] = mapped_column(String(120))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    duration_days: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    compensation: Mapped[str] = mapped_column(String(16))
    places: Mapped[int] = mapped_column(Integer, default=1)
    incentives: Mapped[list[str]] = mapped_column(JSON, default=list)
    subsidy_programme: Mapped[str | None] = mapped_column(String(200))
    stipend_eur: Mapped[int | None] = mapped_column(Integer)  # a month
    status: Mapped[str] = mapped_column(String(16), default=PostStatus.DRAFT.value)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow, index=True
    )

    organisation: Mapped[Organisation] = relationship()
    skills: Mapped[list[PostSkill]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="PostSkill.position"
    )


class PostSkill(Base):
    __tablename__ = "post_skills"

    id: Mapped[uuid.UUID] = _uuid_pk()
    post_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    taxonomy_id: Mapped[str | None] = mapped_column(String(300))
    taxonomy_confidence: Mapped[float | None] = mapped_column(Float)
    required: Mapped[bool] = mapped_column(Boolean, default=True)


class AuditEvent(Base):
    """Who did what, when. Kept after erasure with the actor anonymised."""

    __tablename__ = "audit_events"

    id: Mapped[uuid.UUID] = _uuid_pk()
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Embedding(Base):
    """A stored sentence embedding: derived data, rebuilt from the canonical text when its hash changes.

    Vectors of different models live side by side under their model id and are never compared.
    """

    __tablename__ = "embeddings"
    __table_args__ = (UniqueConstraint("entity_type", "entity_id", "model_id"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    model_id: Mapped[str] = mapped_column(String(200))
    text_hash: Mapped[str] = mapped_column(String(64))
    dimension: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow)


class TaxonomyConcept(Base):
    """A skill or occupation of a taxonomy (ESCO), in one language."""

    __tablename__ = "taxonomy_concepts"

    uri: Mapped[str] = mapped_column(String(300), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    language: Mapped[str] = mapped_column(String(8))
    preferred_label: Mapped[str] = mapped_column(String(300))
    alt_labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    hidden_labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    isco_group: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow)


class TaxonomyRelation(Base):
    """An occupation needs a skill (essential or optional)."""

    __tablename__ = "taxonomy_relations"

    occupation_uri: Mapped[str] = mapped_column(
        ForeignKey("taxonomy_concepts.uri", ondelete="CASCADE"), primary_key=True
    )
    skill_uri: Mapped[str] = mapped_column(
        ForeignKey("taxonomy_concepts.uri", ondelete="CASCADE"), primary_key=True, index=True
    )
    relation_type: Mapped[str] = mapped_column(String(16))


class ImportKey(Base):
    """Which record an external id of an import source became: what makes re-imports idempotent."""

    __tablename__ = "import_keys"
    __table_args__ = (UniqueConstraint("source", "kind", "external_id"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    source: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(200))
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow)


class Opportunity(Base):
    """An investment project or a volunteering opening, published after an admin's review."""

    __tablename__ = "opportunities"
    __table_args__ = (Index("ix_opportunities_status_kind", "status", "kind"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    sector: Mapped[str] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2))
    municipality: Mapped[str | None] = mapped_column(String(120))
    ticket_min: Mapped[int | None] = mapped_column(BigInteger)
    ticket_max: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    hours_per_week: Mapped[int | None] = mapped_column(Integer)
    duration_weeks: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[str | None] = mapped_column(String(16))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_url: Mapped[str | None] = mapped_column(String(300))
    # Business to business: the organisation looks for partner firms, and members can answer as their firm.
    seeking_partners: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=OpportunityStatus.PENDING_REVIEW.value)
    moderation_note: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship()
    organisation_name: AssociationProxy[str] = association_proxy("organisation", "name")


class OutboxEvent(Base):
    """A change that other systems (the search index, mail) must learn about, written in the same
    transaction as the change itself, so that an outage of those systems delays it but never loses it."""

    __tablename__ = "outbox"
    # AUTOINCREMENT on SQLite: ids of consumed (deleted) events are never handed out again.
    __table_args__ = (
        Index("ix_outbox_topic_available", "topic", "available_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    available_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class JobLease(Base):
    """Who runs a kind of background work now: one process at a time, on any number of hosts. The holder
    renews its lease well before it expires; a holder that dies lets it expire and another takes over."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class Campaign(Base):
    """A ministry's matching campaign: many posts matched, invited and tracked at once."""

    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = _uuid_pk()
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.DRAFT.value)
    one_post_per_person: Mapped[bool] = mapped_column(Boolean, default=True)
    invitation_days: Mapped[int] = mapped_column(Integer, default=14)
    last_run: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow)

    posts: Mapped[list[CampaignPost]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class CampaignPost(Base):
    __tablename__ = "campaign_posts"

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CampaignMatch(Base):
    """One person for one post of a campaign, with the score and explanation it was proposed with."""

    __tablename__ = "campaign_matches"
    __table_args__ = (
        UniqueConstraint("campaign_id", "post_id", "profile_id"),
        Index("ix_campaign_matches_profile_state", "profile_id", "state"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    post_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default=MatchState.PROPOSED.value)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    components: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    invited_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # After a placement, the host says what it left behind: local staff trained, what was transferred.
    local_staff_trained: Mapped[int | None] = mapped_column(Integer)
    transferred: Mapped[str | None] = mapped_column(Text)
    outcome_recorded_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow)

    post: Mapped[Post] = relationship()
    profile: Mapped[Profile] = relationship()


class ScoringWeightsOverride(Base):
    """Score weights an admin applied (e.g. learnt from a campaign's answers), overriding the configured
    ones in every process; at most one row. Deleting it returns to the configuration."""

    __tablename__ = "scoring_weights"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    semantic: Mapped[float] = mapped_column(Float)
    skills: Mapped[float] = mapped_column(Float)
    availability: Mapped[float] = mapped_column(Float)
    languages: Mapped[float] = mapped_column(Float)
    occupation: Mapped[float] = mapped_column(Float, default=0.0)
    lexical: Mapped[float] = mapped_column(Float, default=0.0)
    source: Mapped[str] = mapped_column(String(200), default="")
    applied_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    applied_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class PostInterest(Base):
    """An organisation told a candidate it is interested in them for a post; the member answers by
    sharing their contact details with it, or not."""

    __tablename__ = "post_interests"
    __table_args__ = (UniqueConstraint("post_id", "profile_id"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    post_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    answer: Mapped[str | None] = mapped_column(String(16))  # None (waiting), "shared" or "declined"
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))

    post: Mapped[Post] = relationship()


class Pledge(Base):
    """A member's stated interest in investing in an opportunity: a band and a horizon, not a contract.
    One per member and opportunity, changed or withdrawn by the member at will."""

    __tablename__ = "pledges"
    __table_args__ = (UniqueConstraint("opportunity_id", "profile_id"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    opportunity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"))
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    band: Mapped[str] = mapped_column(String(16))
    horizon: Mapped[str] = mapped_column(String(16))
    # The member lets the opportunity's organisation see who they are and how to reach them.
    share_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    firm: Mapped[str | None] = mapped_column(String(200))  # answering as a firm they run
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow)


class Story(Base):
    """A return story: what a placement was like, told by the member or the host, published only with
    the consent of both and after an admin's review."""

    __tablename__ = "stories"

    id: Mapped[uuid.UUID] = _uuid_pk()
    match_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("campaign_matches.id", ondelete="CASCADE"), unique=True
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))  # ISO 639-1, as detected
    search_text: Mapped[str] = mapped_column(Text, default="")  # title and body folded (scripts.fold)
    # An optional photo, re-encoded as JPEG on upload (which drops its metadata: GPS position, camera).
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    photo_alt: Mapped[str | None] = mapped_column(String(200))
    member_consent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    host_consent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default=StoryStatus.AWAITING_CONSENT.value, index=True)
    moderation_note: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow)

    match: Mapped[CampaignMatch] = relationship()


class Consultation(Base):
    """A short questionnaire a ministry or municipality (or an admin) puts to the members it targets: the
    diaspora map's scope of the organisation that asks, narrowed by the map's filters, among the members
    who agreed to be consulted."""

    __tablename__ = "consultations"

    id: Mapped[uuid.UUID] = _uuid_pk()
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )  # None: asked by the platform's admins
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    # [{"key": "q1", "kind": "single", "prompt": ..., "options": [...], "scale_max": 5, "required": true}]
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the map's filters
    # The asking organisation's scope when the consultation was written (None: the whole registry).
    scope_country: Mapped[str | None] = mapped_column(String(2))
    scope_municipality: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default=ConsultationStatus.DRAFT.value, index=True)
    closes_on: Mapped[date] = mapped_column(Date)  # answers are taken until the end of this day (UTC)
    opened_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    invited: Mapped[int] = mapped_column(Integer, default=0)  # members mailed when it opened
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation | None] = relationship()


class ConsultationResponse(Base):
    """One member's answers to a consultation: one per member, changed until the consultation closes."""

    __tablename__ = "consultation_responses"
    __table_args__ = (UniqueConstraint("consultation_id", "profile_id"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    consultation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consultations.id", ondelete="CASCADE"))
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"q1": 0, "q2": [1, 3], ...}
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow)

    consultation: Mapped[Consultation] = relationship()
