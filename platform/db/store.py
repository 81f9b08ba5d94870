"""Tables of advanced-alchemy's key/value store (its own declarative base), migrated with ours."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar.store import StoreModelMixin
from sqlalchemy import MetaData

from diaspora.platform.db.models import Base


class RateLimitEntry(StoreModelMixin):
    """A counter of the rate limits: every process of a host, or of a deployment, sees the same."""

    __tablename__ = "rate_limit_store"


# Everything the migrations create: our models and the store's table.
ALL_METADATA: list[MetaData] = [Base.metadata, RateLimitEntry.metadata]
