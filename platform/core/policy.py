"""Who may do what: the one permission policy that API routes, pages and services all consult.

Roles are granted, never self-assigned. Anyone may register an account as organisation staff or as a
ministry, but such an account is only an *applicant*: it acts for an organisation, and sees anything
personal, once an admin has verified that organisation (or attached the account to one it verified).
Withdrawing verification, or an identity change of the organisation, withdraws the powers at the next
request, because the actor is rebuilt from the database on every request.

This module knows nothing of HTTP: services receive an `Actor` and ask these predicates; the guards in
`core.guards` turn the same predicates into route guards for the API and the pages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from diaspora.platform.db.models import OrganisationKind, Role


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: the account, the role it registered with, and the organisation it acts for."""

    id: uuid.UUID
    email: str
    role: Role
    organisation_id: uuid.UUID | None
    session_id: uuid.UUID | None = None
    organisation_verified: bool = False
    organisation_kind: str | None = None

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


def is_admin(actor: Actor | None) -> bool:
    return actor is not None and actor.role is Role.ADMIN


def is_member(actor: Actor | None) -> bool:
    return actor is not None and actor.role is Role.MEMBER


def is_organisation_account(actor: Actor | None) -> bool:
    """Staff or ministry accounts, verified or not: they may register and edit their organisation and
    draft posts, none of which shows anything personal."""
    return actor is not None and actor.role in (Role.ORGANISATION_STAFF, Role.MINISTRY)


def is_verified_staff(actor: Actor | None) -> bool:
    """Staff of a verified hospital, university, firm, municipality or NGO."""
    return (
        actor is not None
        and actor.role is Role.ORGANISATION_STAFF
        and actor.organisation_id is not None
        and actor.organisation_verified
        and actor.organisation_kind != OrganisationKind.MINISTRY.value
    )


def is_verified_ministry(actor: Actor | None) -> bool:
    """A ministry account acting for an organisation of kind 'ministry' that an admin verified."""
    return (
        actor is not None
        and actor.role is Role.MINISTRY
        and actor.organisation_id is not None
        and actor.organisation_verified
        and actor.organisation_kind == OrganisationKind.MINISTRY.value
    )


def acts_for_verified_organisation(actor: Actor | None) -> bool:
    return is_verified_staff(actor) or is_verified_ministry(actor)


def may_see_profiles(actor: Actor | None) -> bool:
    """Consent-filtered profiles and candidates: verified organisations, verified ministries, admins."""
    return is_admin(actor) or acts_for_verified_organisation(actor)


def may_manage_campaigns(actor: Actor | None) -> bool:
    """Verified ministries run their own campaigns; admins may look at and act on any."""
    return is_admin(actor) or is_verified_ministry(actor)


def manages_organisation(actor: Actor | None, organisation_id: uuid.UUID) -> bool:
    """The organisation's own accounts (verified or not) and admins."""
    return is_admin(actor) or (is_organisation_account(actor) and actor.organisation_id == organisation_id)  # type: ignore[union-attr]


def acts_for(actor: Actor | None, organisation_id: uuid.UUID) -> bool:
    """The organisation's own accounts, once it is verified: who may act on its posts' candidates."""
    return acts_for_verified_organisation(actor) and actor.organisation_id == organisation_id  # type: ignore[union-attr]


def why_not_verified(actor: Actor | None) -> str:
    """The sentence an applicant reads when a power needs verification."""
    if actor is not None and actor.role is Role.MINISTRY:
        if actor.organisation_id is None:
            return "Register your ministry first (POST /api/organisations); an admin verifies it."
        return "Your ministry must be verified by an admin before it can do this."
    if actor is not None and actor.role is Role.ORGANISATION_STAFF:
        if actor.organisation_id is None:
            return "Register your organisation first (POST /api/organisations); an admin verifies it."
        return "Your organisation must be verified by an admin before it can do this."
    return "Your kind of account cannot do this."


def why_no_profiles(actor: Actor) -> str:
    """The sentence for an actor refused other members' profiles."""
    return "Members cannot see other members' profiles." if is_member(actor) else why_not_verified(actor)


def why_no_campaigns(actor: Actor) -> str:
    """The sentence for an actor refused campaigns."""
    return why_not_verified(actor) if actor.role is Role.MINISTRY else "Campaigns are run by ministries."


def may_see_map(actor: Actor | None) -> bool:
    """The diaspora map (aggregates only): admins, verified ministries, verified staff of a municipality."""
    return (
        is_admin(actor)
        or is_verified_ministry(actor)
        or (
            is_verified_staff(actor)
            and actor is not None
            and actor.organisation_kind == OrganisationKind.MUNICIPALITY.value
        )
    )


def why_no_map(actor: Actor) -> str:
    return "The diaspora map is for verified ministries and municipalities, and for admins."


def hosts_placements(actor: Actor | None) -> bool:
    """Who records what a placement left behind: the staff of verified host organisations, and admins."""
    return is_admin(actor) or is_verified_staff(actor)


def why_no_placements(actor: Actor) -> str:
    return "Placements are recorded by the staff of verified host organisations."
