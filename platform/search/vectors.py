"""What search documents and queries mean: vectors for hybrid search, from the matcher's encoder.

A query's words find documents that share them (typo-tolerant, both scripts); its meaning finds those
written in another language: "kardiolog", "кардиолог" and "Kardiologe" all reach a post asking for an
interventional cardiologist. Documents take their vectors from the embedding store (a post's is the
very vector the matcher uses, so it is encoded once), queries are encoded on arrival and remembered
(`Encoder.encode_cached`, as skill names are).

Both back ends receive the same thing: documents carry `_vectors: {embedder: [...]}` (Meilisearch's
format for user-provided vectors) and a request carries a `Semantic` (the query vector, the model's
calibration and the index's `hybrid` settings). How each back end fuses the two scores is described
where it does so (`embedded.py`, `meili.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from diaspora.matching.calibration import calibration_for
from diaspora.matching.encoder import Encoder
from diaspora.matching.texts import post_text
from diaspora.platform.db.models import Opportunity, Post
from diaspora.platform.matches.documents import post_document
from diaspora.platform.matches.store import EmbeddingStore, Fresh
from diaspora.platform.search.backend import Document
from diaspora.platform.search.config import IndexConfig
from diaspora.platform.search.query import Semantic

VECTORS = "_vectors"


def opportunity_text(row: Opportunity) -> str:
    """The text the encoder sees for an opportunity: what it is, its sector, then the detail."""
    parts = [row.title.strip(), (row.sector or "").strip(), row.description.strip()]
    return ". ".join(p.rstrip(".") for p in parts if p) + "."


def _text(entity_type: str, row: Any) -> str:
    if entity_type == "post":
        assert isinstance(row, Post)
        return post_text(post_document(row))
    assert isinstance(row, Opportunity)
    return opportunity_text(row)


class SearchVectors:
    """Vectors for the search indexes of one process; the encoder is shared with the matcher."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.store = EmbeddingStore(encoder)
        self.calibration = calibration_for(encoder.model_name)

    @property
    def dimension(self) -> int:
        return self.encoder.dimension

    async def attach(
        self,
        session: AsyncSession,
        config: IndexConfig,
        entity_type: str,
        rows: Sequence[Any],
        documents: list[Document],
    ) -> list[Fresh]:
        """Give each document its vector (reading the store, encoding what it lacks); returns the
        vectors that were encoded, for `keep` to store once the caller's transaction allows."""
        if not rows:
            return []
        ids = [uuid.UUID(str(row.id)) for row in rows]
        vectors, fresh = await self.store.vectors(
            session, entity_type, ids, [_text(entity_type, row) for row in rows], keep=False
        )
        for document, vector in zip(documents, vectors, strict=True):
            document[VECTORS] = {config.hybrid.embedder: [round(float(x), 6) for x in vector]}
        return fresh

    async def keep(
        self, sessions: async_sessionmaker[AsyncSession], entity_type: str, fresh: list[Fresh]
    ) -> None:
        if fresh:
            async with sessions() as session:
                await self.store.store(session, entity_type, fresh)

    def semantic(self, config: IndexConfig, q: str) -> Semantic:
        """The request's meaning (encodes the query, remembered with the encoder's short texts: call
        from a thread)."""
        vector = tuple(float(x) for x in self.encoder.encode_cached([q])[0])
        return Semantic(
            vector=vector,
            unrelated=self.calibration.unrelated,
            same=self.calibration.same,
            ratio=config.hybrid.semantic_ratio,
            min_score=config.hybrid.min_semantic_score,
            relative=config.hybrid.relative_semantic_score,
        )
