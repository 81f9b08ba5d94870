"""Shared request/response building blocks: constrained scalar types, the strict input base, pagination."""

from __future__ import annotations

from typing import Annotated

import msgspec

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


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error, not silently dropped."""


def check_date_range(start: object, end: object, *, start_name: str, end_name: str) -> None:
    if start is not None and end is not None and end < start:  # type: ignore[operator]
        raise ValueError(f"`{end_name}` ({end}) is before `{start_name}` ({start})")
