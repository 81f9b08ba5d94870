"""Plain descriptions of profiles and posts as the matcher sees them (no ORM, no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# Availability modes a member can offer, and the post work modes that accept them.
ONSITE_RETURN, REMOTE, VOLUNTEER, INVEST = "onsite_return", "remote", "volunteer", "invest"
MODE_BITS = {ONSITE_RETURN: 1, REMOTE: 2, VOLUNTEER: 4, INVEST: 8}
ACCEPTED_MODES = {"onsite": {ONSITE_RETURN}, "remote": {REMOTE}, "hybrid": {ONSITE_RETURN, REMOTE}}


def accepted_mode_bits(work_mode: str | None, compensation: str | None) -> int:
    """Bit mask of availability modes that make a person available for a post of this mode.

    A volunteer post also accepts people who offer to volunteer; an unknown work mode accepts any mode.
    """
    modes = set(ACCEPTED_MODES.get(work_mode or "", MODE_BITS))
    if compensation == "volunteer":
        modes.add(VOLUNTEER)
    return sum(MODE_BITS[m] for m in modes)


@dataclass(frozen=True, slots=True)
class Skill:
    name: str
    taxonomy_id: str | None = None


@dataclass(frozen=True, slots=True)
class Window:
    start: date
    end: date
    modes: tuple[str, ...] = ()

    @property
    def mode_bits(self) -> int:
        return sum(MODE_BITS.get(m, 0) for m in self.modes)


@dataclass(frozen=True, slots=True)
class ProfileDocument:
    id: str
    headline: str = ""
    summary: str = ""
    skills: tuple[Skill, ...] = ()
    languages: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    availability: tuple[Window, ...] = ()
    open_to_matching: bool = True
    occupation_uri: str | None = None  # the ESCO occupation the member chose for their headline


@dataclass(frozen=True, slots=True)
class PostDocument:
    id: str
    title: str = ""
    description: str = ""
    required_skills: tuple[Skill, ...] = ()
    nice_to_have_skills: tuple[Skill, ...] = ()
    languages: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    work_mode: str | None = None
    compensation: str | None = None
    live: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def accepted_modes(self) -> int:
        return accepted_mode_bits(self.work_mode, self.compensation)
