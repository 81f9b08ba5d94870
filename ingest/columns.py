"""Column mappings of the importable kinds, and the parsers that turn spreadsheet cells into values.

Each kind documents its columns (README "Import"); a row becomes a dict in the shape the platform's API
accepts, so the platform validates imported rows with exactly the rules of its API. Cell-level problems
(a date that is no date, a yes/no that is neither) are reported per row and column here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

KINDS = ("profiles", "organisations", "posts", "opportunities")


class CellError(ValueError):
    """A cell that cannot be read as what its column holds."""


def text(value: Any) -> str:
    return str(value).strip()


def integer(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise CellError(f"{value!r} is not a whole number") from None


_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y.", "%Y/%m/%d")


def a_date(value: Any) -> str:
    """ISO dates and the common European forms (31.12.2027, 31/12/2027, 31.12.2027.)."""
    raw = str(value).strip()
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, pattern).date().isoformat()
        except ValueError:
            continue
    if isinstance(value, date):
        return value.isoformat()
    raise CellError(f"{raw!r} is not a date (use 2027-05-31 or 31.05.2027)")


_TRUE = {"yes", "y", "true", "1", "da", "po", "ja", "oui", "sì", "si", "x"}
_FALSE = {"no", "n", "false", "0", "ne", "jo", "nein", "non"}


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raw = str(value).strip().casefold()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise CellError(f"{value!r} is not yes or no")


_SPLIT = re.compile(r"\s*[;|\n]\s*")


def a_list(value: Any) -> list[str]:
    """A JSON list, or text separated by ; | or line breaks (commas stay: skills contain them)."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part for part in _SPLIT.split(str(value).strip()) if part]


def pairs(value: Any) -> list[tuple[str, str | None]]:
    """`name:qualifier` items, e.g. `sq:native; de:C1` or `python:expert; sql`."""
    result = []
    for item in a_list(value):
        name, _, qualifier = item.rpartition(":") if ":" in item else (item, "", "")
        result.append((name.strip(), qualifier.strip() or None))
    return result


Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class Column:
    parse: Parser = text
    required: bool = False
    help: str = ""


@dataclass(frozen=True)
class Kind:
    name: str
    columns: Mapping[str, Column]
    build: Callable[[dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]]
    # where the API's validation paths point back to: first path segment -> column
    field_columns: Mapping[str, str] = field(default_factory=dict)

    @property
    def required(self) -> list[str]:
        return [name for name, column in self.columns.items() if column.required]


def _drop_empty(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != "" and v != []}


def _build_profile(cells: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    body = _drop_empty(
        {
            "headline": cells.get("headline"),
            "summary": cells.get("summary"),
            "residence_country": (cells.get("residence_country") or "").upper() or None,
            "residence_city": cells.get("residence_city"),
            "origin_country": (cells.get("origin_country") or "").upper() or None,
            "origin_municipality": cells.get("origin_municipality"),
            "years_experience": cells.get("years_experience"),
            "sectors": cells.get("sectors"),
            "languages": [
                {"code": code.lower(), "level": level or ""} for code, level in cells.get("languages") or []
            ],
            "skills": [
                _drop_empty({"name": name, "level": level}) for name, level in cells.get("skills") or []
            ],
        }
    )
    if cells.get("available_from") or cells.get("available_to"):
        body["availability"] = [
            _drop_empty(
                {
                    "start_date": cells.get("available_from"),
                    "end_date": cells.get("available_to"),
                    "modes": cells.get("availability_modes") or [],
                    "hours_per_week": cells.get("hours_per_week"),
                }
            )
        ]
    consent = _drop_empty(
        {
            "open_to_matching": cells.get("open_to_matching"),
            "open_to_contact": cells.get("open_to_contact"),
            "open_to_consultations": cells.get("open_to_consultations"),
            "visible_fields": cells.get("visible_fields"),
        }
    )
    if consent:
        body["consent"] = consent
    account = {
        "email": cells.get("email"),
        "display_name": cells.get("display_name"),
        "phone": cells.get("phone"),
    }
    return body, _drop_empty(account)


def _build_organisation(cells: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    body = _drop_empty(
        {
            "name": cells.get("name"),
            "kind": (cells.get("kind") or "").lower() or None,
            "country": (cells.get("country") or "").upper() or None,
            "municipality": cells.get("municipality"),
            "website": cells.get("website"),
            "description": cells.get("description"),
        }
    )
    return body, _drop_empty({"verified": cells.get("verified")})


def _build_post(cells: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    body = _drop_empty(
        {
            "kind": (cells.get("kind") or "").lower() or None,
            "title": cells.get("title"),
            "description": cells.get("description"),
            "required_skills": [{"name": s} for s in cells.get("required_skills") or []],
            "nice_to_have_skills": [{"name": s} for s in cells.get("nice_to_have_skills") or []],
            "languages": [code.lower() for code in cells.get("languages") or []],
            "country": (cells.get("country") or "").upper() or None,
            "municipality": cells.get("municipality"),
            "start_date": cells.get("start_date"),
            "end_date": cells.get("end_date"),
            "duration_days": cells.get("duration_days"),
            "mode": (cells.get("mode") or "").lower() or None,
            "compensation": (cells.get("compensation") or "").lower() or None,
            "places": cells.get("places"),
            "incentives": [i.lower() for i in cells.get("incentives") or []],
            "subsidy_programme": cells.get("subsidy_programme"),
            "stipend_eur": cells.get("stipend_eur"),
            "status": (cells.get("status") or "").lower() or None,
        }
    )
    return body, _drop_empty({"organisation_external_id": cells.get("organisation_external_id")})


def _build_opportunity(cells: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    body = _drop_empty(
        {
            "kind": (cells.get("kind") or "").lower() or None,
            "title": cells.get("title"),
            "sector": (cells.get("sector") or "").lower() or None,
            "country": (cells.get("country") or "").upper() or None,
            "description": cells.get("description"),
            "municipality": cells.get("municipality"),
            "ticket_min": cells.get("ticket_min"),
            "ticket_max": cells.get("ticket_max"),
            "currency": (cells.get("currency") or "").upper() or None,
            "hours_per_week": cells.get("hours_per_week"),
            "duration_weeks": cells.get("duration_weeks"),
            "mode": (cells.get("mode") or "").lower() or None,
            "languages": [code.lower() for code in cells.get("languages") or []],
            "contact_email": cells.get("contact_email"),
            "contact_url": cells.get("contact_url"),
        }
    )
    extra = {
        "organisation_external_id": cells.get("organisation_external_id"),
        "status": (cells.get("status") or "").lower() or None,
    }
    return body, _drop_empty(extra)


def amount(value: Any) -> int:
    """A whole amount; spaces, apostrophes and thousands separators (1.000.000, 1,000,000) are read."""
    if isinstance(value, int | float) and float(value).is_integer():
        return int(value)  # a spreadsheet number cell
    raw = re.sub(r"[\s'\u2019]", "", str(value))  # Swiss style: 1'000'000
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", raw):
        raw = re.sub(r"[.,]", "", raw)
    try:
        return int(raw)
    except ValueError:
        raise CellError(f"{value!r} is not a whole amount") from None


PROFILES = Kind(
    "profiles",
    {
        "external_id": Column(required=True, help="your id of the person; the key of repeated imports"),
        "email": Column(required=True),
        "display_name": Column(required=True),
        "phone": Column(),
        "headline": Column(),
        "summary": Column(),
        "residence_country": Column(help="ISO code, e.g. DE"),
        "residence_city": Column(help="town or city, e.g. Munich"),
        "origin_country": Column(help="ISO code, e.g. AL"),
        "origin_municipality": Column(),
        "years_experience": Column(integer),
        "sectors": Column(a_list, help="separated by ;"),
        "languages": Column(pairs, help="code:level, e.g. sq:native; de:C1"),
        "skills": Column(pairs, help="name or name:level, e.g. echocardiography:expert; triage"),
        "available_from": Column(a_date),
        "available_to": Column(a_date),
        "availability_modes": Column(a_list, help="onsite_return; remote; volunteer; invest"),
        "hours_per_week": Column(integer),
        "open_to_matching": Column(boolean, help="yes/no (default yes)"),
        "open_to_contact": Column(boolean, help="yes/no (default no)"),
        "open_to_consultations": Column(boolean, help="yes/no (default no): may be sent questionnaires"),
        "visible_fields": Column(a_list, help="parts organisations may see (default: all but name, origin)"),
    },
    _build_profile,
    {
        "availability": "available_from",
        "consent": "open_to_matching",
        "email": "email",
        "display_name": "display_name",
        "phone": "phone",
    },
)
ORGANISATIONS = Kind(
    "organisations",
    {
        "external_id": Column(required=True),
        "name": Column(required=True),
        "kind": Column(required=True, help="hospital, university, firm, municipality, ngo, ministry"),
        "country": Column(required=True),
        "municipality": Column(),
        "website": Column(),
        "description": Column(),
        "verified": Column(boolean, help="yes/no; only honoured for imports run by an admin"),
    },
    _build_organisation,
)
POSTS = Kind(
    "posts",
    {
        "external_id": Column(required=True),
        "organisation_external_id": Column(
            help="external_id of an organisation imported from the same source; staff uploads: their own"
        ),
        "kind": Column(required=True, help="skill_need or short_term_return"),
        "title": Column(required=True),
        "description": Column(),
        "required_skills": Column(a_list),
        "nice_to_have_skills": Column(a_list),
        "languages": Column(a_list),
        "country": Column(required=True),
        "municipality": Column(),
        "start_date": Column(a_date),
        "end_date": Column(a_date),
        "duration_days": Column(integer),
        "mode": Column(help="onsite, remote, hybrid"),
        "compensation": Column(help="paid, volunteer"),
        "places": Column(integer),
        "incentives": Column(a_list, help="travel; accommodation; stipend; subsidy; insurance"),
        "subsidy_programme": Column(help="the name of the programme that pays a subsidy"),
        "stipend_eur": Column(integer, help="euros a month"),
        "status": Column(help="draft, open, closed"),
    },
    _build_post,
)
OPPORTUNITIES = Kind(
    "opportunities",
    {
        "external_id": Column(required=True),
        "organisation_external_id": Column(
            help="external_id of an organisation imported from the same source; staff uploads: their own"
        ),
        "kind": Column(required=True, help="investment or volunteering"),
        "title": Column(required=True),
        "sector": Column(required=True, help="health, education, it, energy, agriculture, tourism, ..."),
        "country": Column(required=True),
        "description": Column(),
        "municipality": Column(),
        "ticket_min": Column(amount, help="investment: whole units of the currency"),
        "ticket_max": Column(amount),
        "currency": Column(help="ISO code, e.g. EUR"),
        "hours_per_week": Column(integer, help="volunteering"),
        "duration_weeks": Column(integer),
        "mode": Column(help="onsite, remote, hybrid"),
        "languages": Column(a_list),
        "contact_email": Column(),
        "contact_url": Column(),
        "status": Column(help="pending_review (default) or published; published only in imports by an admin"),
    },
    _build_opportunity,
)
KIND_BY_NAME = {kind.name: kind for kind in (PROFILES, ORGANISATIONS, POSTS, OPPORTUNITIES)}


@dataclass
class ParsedRow:
    number: int
    external_id: str
    body: dict[str, Any]
    extra: dict[str, Any]


@dataclass
class RowProblem:
    number: int
    column: str
    reason: str


def parse_row(kind: Kind, number: int, row: Mapping[str, Any]) -> ParsedRow | list[RowProblem]:
    """Cells of one row parsed by their columns; the problems, one per bad cell, if any."""
    if "__error__" in row:
        return [RowProblem(number, "", f"row {row['__error__']}")]
    cells: dict[str, Any] = {}
    problems = []
    for name, column in kind.columns.items():
        raw = row.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if column.required:
                problems.append(RowProblem(number, name, "is required"))
            continue
        try:
            cells[name] = column.parse(raw)
        except CellError as exc:
            problems.append(RowProblem(number, name, str(exc)))
    if problems:
        return problems
    body, extra = kind.build(cells)
    return ParsedRow(number, str(cells["external_id"]), body, extra)


def column_for(kind: Kind, path: str) -> str:
    """The column a validation error path (`languages[0].level`, `$.availability[0]`) belongs to."""
    head = re.split(r"[.\[]", path.removeprefix("$."), maxsplit=1)[0]
    return kind.field_columns.get(head, head)
