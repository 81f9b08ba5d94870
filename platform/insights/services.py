"""The diaspora map: where members live, where they come from, what they offer, how and when they want to
contribute, and how the registry grows, for ministries and municipalities, in aggregates only.

No group of fewer than `min_cell` people (the setting `DIASPORA_MAP_MIN_CELL`, 5 by default) is shown, in
the page, the API or the exports: its count reads as hidden. Where each member counts in exactly one group
(country of residence, country and municipality of origin, month of registration), a hidden group could be
worked out from the total and the others; there the smallest shown groups are hidden too until the hidden
ones together hold at least `min_cell` people and are at least two. A selection under `min_cell` people
shows nothing but that it is small. Who sees what: an admin the whole registry, a ministry the diaspora of
its own country, a municipality the diaspora of its own municipality.

Every member with a profile counts, whether or not open to matching: these are statistics of the registry,
and no person can be picked out of them. Filters narrow the selection the same way for every breakdown.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.matching.scripts import fold
from diaspora.platform.core.errors import DomainError, PermissionDeniedError
from diaspora.platform.core.policy import Actor, is_admin, is_verified_ministry, may_see_map, why_no_map
from diaspora.platform.db.models import (
    Account,
    AvailabilityMode,
    AvailabilityWindow,
    Consent,
    Opportunity,
    Organisation,
    Pledge,
    Profile,
    ProfileSkill,
    TaxonomyConcept,
)
from diaspora.platform.opportunities.pledges import band_totals

UNKNOWN = ""  # the key of the group of members who did not say
TOP_SKILLS = 20
TREND_MONTHS = 12
QUARTERS = 4


class MapFilters(msgspec.Struct, forbid_unknown_fields=True):
    """Narrow the selection: members living in these countries, offering these sectors, available in
    these modes, coming from this country or municipality (within what the viewer may see)."""

    residence_country: list[str] = msgspec.field(default_factory=list)
    sector: list[str] = msgspec.field(default_factory=list)
    mode: list[str] = msgspec.field(default_factory=list)
    origin_country: str | None = None
    origin_municipality: str | None = None


class Cell(msgspec.Struct):
    key: str
    # None: a group of fewer people than the smallest shown, or hidden so that such a group stays hidden.
    count: int | None
    label: str | None = None

    @property
    def hidden(self) -> bool:
        return self.count is None


class PledgeCell(msgspec.Struct):
    """Investment pledges of the selected members to opportunities of one sector or one place: how many
    members pledged, and the least and most their bands add up to (all None when fewer than `min_cell`)."""

    key: str
    members: int | None
    pledges: int | None
    total_min_eur: int | None
    total_max_eur: int | None  # None also when a band is open-ended ("over 1 million")
    label: str | None = None


class ScopeOut(msgspec.Struct):
    origin_country: str | None
    origin_municipality: str | None


class MapOut(msgspec.Struct):
    scope: ScopeOut
    filters: MapFilters
    min_cell: int
    # None when the selection holds fewer than `min_cell` people: then every breakdown is empty.
    total: int | None
    residence_countries: list[Cell]
    residence_cities: list[Cell]  # key "DE:munich", label as most members write it ("Munich")
    origin_countries: list[Cell]
    origin_municipalities: list[Cell]
    sectors: list[Cell]
    skills: list[Cell]
    modes: list[Cell]
    availability: list[Cell]  # members available in each coming quarter ("2027-Q1")
    registrations: list[Cell]  # new members per month, the last twelve ("2026-11"), and "earlier"
    pledges_by_sector: list[PledgeCell] = msgspec.field(default_factory=list)
    pledges_by_place: list[PledgeCell] = msgspec.field(default_factory=list)  # key "AL:tirana"

    def breakdowns(self) -> dict[str, list[Cell]]:
        return {
            "residence_countries": self.residence_countries,
            "residence_cities": self.residence_cities,
            "origin_countries": self.origin_countries,
            "origin_municipalities": self.origin_municipalities,
            "sectors": self.sectors,
            "skills": self.skills,
            "modes": self.modes,
            "availability": self.availability,
            "registrations": self.registrations,
        }


def municipality_key(name: str | None) -> str:
    """One key however a town is written: script, diacritics, case and spacing aside ("Priština",
    "Pristina", "ПРИШТИНА" meet)."""
    return fold(name).replace("đ", "dj") if name else UNKNOWN


# -- suppression -----------------------------------------------------------------------------------------


def suppress(counts: Counter[str], min_cell: int, *, partition: bool) -> list[Cell]:
    """Cells, largest first, with groups under `min_cell` hidden; in a partition (each person in exactly
    one group, the total shown), more groups are hidden until the hidden ones cannot be worked out."""
    ordered = sorted(((key, n) for key, n in counts.items() if n > 0), key=lambda item: (-item[1], item[0]))
    hidden = {key for key, n in ordered if n < min_cell}
    if partition and hidden:
        shown = [key for key, _ in reversed(ordered) if key not in hidden]  # smallest first
        while shown and (len(hidden) < 2 or sum(counts[k] for k in hidden) < min_cell):
            hidden.add(shown.pop(0))
    return [Cell(key=key, count=None if key in hidden else n) for key, n in ordered]


# -- the selection -----------------------------------------------------------------------------------------


class _Member(msgspec.Struct):
    id: uuid.UUID
    residence_country: str
    city: str  # "DE:munich"
    city_spelling: str
    origin_country: str
    municipality: str
    municipality_spelling: str
    sectors: list[str]
    created_at: datetime


async def scope_of(session: AsyncSession, actor: Actor) -> ScopeOut:
    if not may_see_map(actor):
        raise PermissionDeniedError(why_no_map(actor))
    if is_admin(actor):
        return ScopeOut(origin_country=None, origin_municipality=None)
    organisation = await session.get(Organisation, actor.organisation_id)
    if organisation is None:  # pragma: no cover - a verified actor acts for an organisation
        raise PermissionDeniedError(why_no_map(actor))
    if is_verified_ministry(actor):
        return ScopeOut(origin_country=organisation.country, origin_municipality=None)
    if not organisation.municipality:
        raise PermissionDeniedError(
            "Your organisation's record names no municipality: ask an admin to add it to see its diaspora."
        )
    return ScopeOut(origin_country=organisation.country, origin_municipality=organisation.municipality)


def check_filters(filters: MapFilters) -> None:
    modes = {m.value for m in AvailabilityMode}
    unknown = sorted(set(filters.mode) - modes)
    if unknown:
        raise DomainError(
            f"unknown mode: {', '.join(unknown)} (one of {', '.join(sorted(modes))})", field="mode"
        )
    if any(len(sector) > 60 for sector in filters.sector):
        raise DomainError("a sector is at most 60 characters", field="sector")
    countries = [("residence_country", c) for c in filters.residence_country]
    for name, code in [*countries, ("origin_country", filters.origin_country or "XX")]:
        if len(code) != 2 or not code.isascii() or not code.isalpha():
            raise DomainError(f"{code!r} is not a two-letter country code", field=name)
    if len(filters.origin_municipality or "") > 120:
        raise DomainError("a municipality's name is at most 120 characters", field="origin_municipality")


def sector_key(sector: str) -> str:
    """Members write sectors freely: "Health", "health " and "HEALTH" are one."""
    return " ".join(sector.casefold().split())


async def _members(
    session: AsyncSession,
    scope: ScopeOut,
    filters: MapFilters,
    *,
    profile_id: uuid.UUID | None = None,
    consultable: bool = False,
) -> list[_Member]:
    query = (
        select(
            Profile.id,
            Profile.residence_country,
            Profile.residence_city,
            Profile.origin_country,
            Profile.origin_municipality,
            Profile.sectors,
            Profile.created_at,
        )
        .join(Account, Account.id == Profile.account_id)
        .where(Account.is_active.is_(True))
    )
    if profile_id is not None:
        query = query.where(Profile.id == profile_id)
    if consultable:  # who agreed to be consulted, at an address they proved is theirs
        query = query.join(Consent, Consent.profile_id == Profile.id).where(
            Consent.open_to_consultations.is_(True), Account.email_verified_at.is_not(None)
        )
    origin = scope.origin_country or filters.origin_country
    if scope.origin_country and filters.origin_country and filters.origin_country != scope.origin_country:
        return []
    if origin:
        query = query.where(Profile.origin_country == origin)
    if filters.residence_country:
        query = query.where(Profile.residence_country.in_(filters.residence_country))
    wanted_municipalities = {
        municipality_key(m) for m in (scope.origin_municipality, filters.origin_municipality) if m
    }
    if len(wanted_municipalities) > 1:
        return []
    wanted_sectors = {sector_key(s) for s in filters.sector}
    members = []
    for row in await session.execute(query):
        key = municipality_key(row.origin_municipality)
        if wanted_municipalities and key not in wanted_municipalities:
            continue
        sectors = list(dict.fromkeys(sector_key(s) for s in row.sectors or [] if sector_key(s)))
        if wanted_sectors and not wanted_sectors & set(sectors):
            continue
        members.append(
            _Member(
                id=row.id,
                residence_country=row.residence_country or UNKNOWN,
                city=f"{row.residence_country or UNKNOWN}:{municipality_key(row.residence_city)}",
                city_spelling=(row.residence_city or "").strip(),
                origin_country=row.origin_country or UNKNOWN,
                municipality=key,
                municipality_spelling=(row.origin_municipality or "").strip(),
                sectors=sectors,
                created_at=row.created_at,
            )
        )
    return members


async def _windows(
    session: AsyncSession, ids: set[uuid.UUID], today: date
) -> dict[uuid.UUID, list[tuple[date, date, list[str]]]]:
    found: dict[uuid.UUID, list[tuple[date, date, list[str]]]] = defaultdict(list)
    query = select(
        AvailabilityWindow.profile_id,
        AvailabilityWindow.start_date,
        AvailabilityWindow.end_date,
        AvailabilityWindow.modes,
    ).where(AvailabilityWindow.end_date >= today)
    if len(ids) <= 500:  # a few members (one, when a member's consultations are looked up): ask for theirs
        query = query.where(AvailabilityWindow.profile_id.in_(ids))
    for row in await session.execute(query):
        if row.profile_id in ids:
            found[row.profile_id].append((row.start_date, row.end_date, list(row.modes or [])))
    return found


async def _skills(session: AsyncSession, ids: set[uuid.UUID]) -> tuple[Counter[str], dict[str, str]]:
    """Members per skill: a skill linked to the taxonomy counts under its concept, others by their name."""
    query = select(
        ProfileSkill.profile_id, ProfileSkill.name, ProfileSkill.taxonomy_id, TaxonomyConcept.preferred_label
    ).outerjoin(TaxonomyConcept, TaxonomyConcept.uri == ProfileSkill.taxonomy_id)
    per_skill: dict[str, set[uuid.UUID]] = defaultdict(set)
    labels: dict[str, str] = {}
    for row in await session.execute(query):
        if row.profile_id not in ids:
            continue
        key = row.taxonomy_id if row.preferred_label else " ".join(row.name.casefold().split())
        if not key:
            continue
        per_skill[key].add(row.profile_id)
        labels.setdefault(key, row.preferred_label or " ".join(row.name.split()))
    return Counter({key: len(people) for key, people in per_skill.items()}), labels


async def select_members(
    session: AsyncSession,
    scope: ScopeOut,
    filters: MapFilters,
    *,
    today: date,
    profile_id: uuid.UUID | None = None,
    consultable: bool = False,
) -> tuple[list[_Member], dict[uuid.UUID, list[tuple[date, date, list[str]]]]]:
    """The members a scope and filters select (with their coming availability windows): the map counts
    them; a consultation asks them, `consultable` keeping those who agreed to be consulted, and
    `profile_id` asks whether one member is among them."""
    members = await _members(session, scope, filters, profile_id=profile_id, consultable=consultable)
    windows = await _windows(session, {m.id for m in members}, today)
    if filters.mode:
        wanted = set(filters.mode)
        members = [m for m in members if any(wanted & set(modes) for _, _, modes in windows.get(m.id, []))]
    return members, windows


def _quarters(today: date) -> list[tuple[str, date, date]]:
    quarters = []
    year, quarter = today.year, (today.month - 1) // 3
    for _ in range(QUARTERS):
        start = date(year, quarter * 3 + 1, 1)
        end = date(year + (quarter == 3), (quarter * 3 + 3) % 12 + 1, 1)
        quarters.append((f"{year}-Q{quarter + 1}", start, end))
        year, quarter = year + (quarter == 3), (quarter + 1) % 4
    return quarters


def _months(today: date) -> list[str]:
    months, year, month = [], today.year, today.month
    for _ in range(TREND_MONTHS):
        months.append(f"{year}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))


def _labelled(cells: list[Cell], labels: dict[str, str]) -> list[Cell]:
    for cell in cells:
        cell.label = labels.get(cell.key)
    return cells


async def diaspora_map(
    session: AsyncSession,
    actor: Actor,
    filters: MapFilters,
    *,
    min_cell: int,
    today: date | None = None,
) -> MapOut:
    check_filters(filters)
    scope = await scope_of(session, actor)
    today = today or date.today()
    members, windows = await select_members(session, scope, filters, today=today)
    empty = MapOut(
        scope=scope,
        filters=filters,
        min_cell=min_cell,
        total=None,
        residence_countries=[],
        residence_cities=[],
        origin_countries=[],
        origin_municipalities=[],
        sectors=[],
        skills=[],
        modes=[],
        availability=[],
        registrations=[],
    )
    if len(members) < min_cell:
        return empty
    ids = {m.id for m in members}

    municipality_labels = _spellings((m.municipality, m.municipality_spelling) for m in members)
    city_labels = _spellings((m.city, m.city_spelling) for m in members)

    modes: Counter[str] = Counter()
    available: Counter[str] = Counter()
    quarters = _quarters(today)
    for member_windows in windows.values():
        modes.update({mode for _, _, ms in member_windows for mode in ms})
        available.update(
            {
                label
                for label, start, end in quarters
                for first, last, _ in member_windows
                if first < end and last >= start
            }
        )

    months = _months(today)
    registered: Counter[str] = Counter()
    for member in members:
        month = f"{member.created_at.year}-{member.created_at.month:02d}"
        registered[month if month in months else "earlier"] += 1

    by_sector, by_place = await _pledges(session, ids, min_cell)
    skill_counts, skill_labels = await _skills(session, ids)
    skills = [cell for cell in suppress(skill_counts, min_cell, partition=False) if not cell.hidden][
        :TOP_SKILLS
    ]

    return MapOut(
        scope=scope,
        filters=filters,
        min_cell=min_cell,
        total=len(members),
        residence_countries=suppress(Counter(m.residence_country for m in members), min_cell, partition=True),
        residence_cities=_labelled(
            suppress(Counter(m.city for m in members), min_cell, partition=True), city_labels
        ),
        origin_countries=suppress(Counter(m.origin_country for m in members), min_cell, partition=True),
        origin_municipalities=_labelled(
            suppress(Counter(m.municipality for m in members), min_cell, partition=True), municipality_labels
        ),
        sectors=suppress(Counter(s for m in members for s in m.sectors), min_cell, partition=False),
        skills=_labelled(skills, skill_labels),
        modes=suppress(modes, min_cell, partition=False),
        availability=_in_order(suppress(available, min_cell, partition=False), [q[0] for q in quarters]),
        registrations=_in_order(suppress(registered, min_cell, partition=True), ["earlier", *months]),
        pledges_by_sector=by_sector,
        pledges_by_place=by_place,
    )


async def _pledges(
    session: AsyncSession, ids: set[uuid.UUID], min_cell: int
) -> tuple[list[PledgeCell], list[PledgeCell]]:
    """The selected members' pledges by the opportunity's sector and by its place."""
    query = select(
        Pledge.profile_id, Pledge.band, Opportunity.sector, Opportunity.country, Opportunity.municipality
    ).join(Opportunity, Opportunity.id == Pledge.opportunity_id)
    groups: dict[str, dict[str, list[tuple[uuid.UUID, str]]]] = {
        "sector": defaultdict(list),
        "place": defaultdict(list),
    }
    spellings: list[tuple[str, str]] = []
    for row in await session.execute(query):
        if row.profile_id not in ids:
            continue
        place = f"{row.country}:{municipality_key(row.municipality)}"
        groups["sector"][row.sector].append((row.profile_id, row.band))
        groups["place"][place].append((row.profile_id, row.band))
        spellings.append((place, (row.municipality or "").strip()))
    labels = _spellings(spellings)

    def cells(found: dict[str, list[tuple[uuid.UUID, str]]]) -> list[PledgeCell]:
        out = []
        for key, pledged in found.items():
            members = len({profile for profile, _ in pledged})
            if members < min_cell:
                out.append(
                    PledgeCell(key=key, members=None, pledges=None, total_min_eur=None, total_max_eur=None)
                )
                continue
            _bands, low, high = band_totals(Counter(band for _, band in pledged))
            out.append(
                PledgeCell(
                    key=key, members=members, pledges=len(pledged), total_min_eur=low, total_max_eur=high
                )
            )
        out.sort(key=lambda c: (c.members is None, -(c.total_min_eur or 0), c.key))
        for cell in out:
            cell.label = labels.get(cell.key)
        return out

    return cells(groups["sector"]), cells(groups["place"])


def _spellings(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Each place's name as most of its people write it."""
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for key, spelling in pairs:
        spellings[key][spelling] += 1
    return {key: counts.most_common(1)[0][0] for key, counts in spellings.items()}


def _in_order(cells: list[Cell], keys: Iterable[str]) -> list[Cell]:
    """Cells of a time series in time order, a period with nobody included as 0."""
    found = {cell.key: cell for cell in cells}
    return [found.get(key, Cell(key=key, count=0)) for key in keys]


def rows_of(board: MapOut) -> list[list[Any]]:
    """The map as a table: breakdown, key, label, members ("<5" where hidden), and for pledges the least
    and most they add up to, for CSV and XLSX."""
    hidden = f"<{board.min_cell}"
    rows: list[list[Any]] = [["breakdown", "key", "label", "members", "pledged_min_eur", "pledged_max_eur"]]
    rows.append(["total", "", "", board.total if board.total is not None else hidden, "", ""])
    for name, cells in board.breakdowns().items():
        for cell in cells:
            rows.append([name, cell.key, cell.label or "", hidden if cell.hidden else cell.count, "", ""])
    for name, pledged in (
        ("pledges_by_sector", board.pledges_by_sector),
        ("pledges_by_place", board.pledges_by_place),
    ):
        for p in pledged:
            if p.members is None:
                rows.append([name, p.key, p.label or "", hidden, "", ""])
            else:
                rows.append(
                    [
                        name,
                        p.key,
                        p.label or "",
                        p.members,
                        p.total_min_eur,
                        p.total_max_eur if p.total_max_eur is not None else "open",
                    ]
                )
    return rows
