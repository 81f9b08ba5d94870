"""Query parameters shared by list endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from advanced_alchemy.service import OffsetPagination
from litestar.params import QueryParameter

from diaspora.platform.core.schemas import MAX_OFFSET, MAX_PAGE_SIZE

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Pagination:
    limit: int
    offset: int

    def window(self, items: Sequence[T]) -> list[T]:
        """This page of a list already loaded whole (one member's or one campaign's rows)."""
        return list(items[self.offset : self.offset + self.limit])

    def of(self, items: Sequence[T], total: int) -> OffsetPagination[T]:
        """A list endpoint's answer: this page's items and how many there are in all."""
        return OffsetPagination(items=list(items), limit=self.limit, offset=self.offset, total=total)


def provide_pagination(
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE, description="Page size")] = 20,
    offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="Items to skip")] = 0,
) -> Pagination:
    return Pagination(limit=limit, offset=offset)


COUNTRY_PATTERN = "^[A-Z]{2}$"
LANGUAGE_PATTERN = "^[a-z]{2,3}$"


def provide_long_pagination(
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE, description="Page size")] = MAX_PAGE_SIZE,
    offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="Items to skip")] = 0,
) -> Pagination:
    """Paging for lists people usually want whole (a campaign's pairs): a full page by default."""
    return Pagination(limit=limit, offset=offset)
