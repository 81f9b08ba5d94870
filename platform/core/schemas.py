"""Shared request/response building blocks: constrained scalar types, the strict input base, pagination."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)

CountryCode = Annotated[
    str, msgspec.Meta(pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code, e.g. 'AL', 'DE'")
]
LanguageCode = Annotated[
    str, msgspec.Meta(pattern="^[a-z]{2,3}$", description="ISO 639 language code, e.g. 'sq', 'sr', 'de'")
]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
OptionalShortText = Annotated[str, msgspec.Meta(max_length=200)]
Municipality = Annotated[str, msgspec.Meta(max_length=120)]
LongText = Annotated[str, msgspec.Meta(max_length=10_000)]
Sector = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
TaxonomyId = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]

MAX_PAGE_SIZE = 100
MAX_OFFSET = 100_000


# Characters that have no business in a name, a headline or a skill, and that can hide or reorder text
# when shown to someone else: C0/C1 controls (tab, newline and carriage return excepted), zero-width
# characters, bidirectional overrides and isolates, the byte-order mark and interlinear annotations.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]"
)


def clean_text(value: str, field: str) -> str:
    """NFC-normalised text, or a ValueError naming the field and the offending character."""
    found = _INVISIBLE.search(value)
    if found:
        raise ValueError(
            f"`{field}` contains an invisible or control character (U+{ord(found.group()):04X}) "
            f"at position {found.start()}"
        )
    if value and not value.strip():
        raise ValueError(f"`{field}` is blank: it has only spaces")
    return unicodedata.normalize("NFC", value)


def _clean(value: Any, field: str) -> Any:
    """`value` cleaned: the very object when nothing in it changed (most texts are already clean and NFC)."""
    if isinstance(value, str):
        return clean_text(value, field)
    if isinstance(value, list):
        cleaned = [
            _clean(item, f"{field}[{i}]") if isinstance(item, str | list) else item
            for i, item in enumerate(value)
        ]
        return value if all(a is b for a, b in zip(cleaned, value, strict=True)) else cleaned
    return value  # numbers, dates, enums, and nested Inputs (which clean themselves)


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error, not silently dropped, and every text is
    NFC-normalised with control and invisible characters refused, naming the field."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, str | list):
                cleaned = _clean(value, name)
                if cleaned is not value:
                    setattr(self, name, cleaned)


def check_date_range(start: object, end: object, *, start_name: str, end_name: str) -> None:
    if start is not None and end is not None and end < start:  # type: ignore[operator]
        raise ValueError(f"`{end_name}` ({end}) is before `{start_name}` ({start})")


def from_row(row: object, schema: type[S]) -> S:
    """A response read from a model's attributes of the same names (what advanced-alchemy's `to_schema`
    does), for the responses that are the row as it is; those that filter, rename or compute are written
    out where they are made."""
    return msgspec.convert(row, schema, from_attributes=True)
