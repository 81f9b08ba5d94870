"""The embedding store: one stored vector per entity, model and canonical text.

A stored vector whose model id and text hash still match is reused; anything else is encoded (off the
event loop) and written back with an upsert, so that two processes encoding the same row at once both
succeed. The matching engine and the search indexes read their vectors through the same store, so a post
is encoded once whichever of them sees it first.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import anyio.to_thread
import numpy as np
import numpy.typing as npt
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.matching.encoder import Encoder
from diaspora.matching.texts import text_hash
from diaspora.platform.db.models import Embedding, new_id, utcnow
from diaspora.platform.db.upsert import upsert

Fresh = tuple[uuid.UUID, str, npt.NDArray[np.float32]]  # entity id, text hash, vector


class EmbeddingStore:
    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    @property
    def model_id(self) -> str:
        return self.encoder.model_id

    async def vectors(
        self,
        session: AsyncSession,
        entity_type: str,
        ids: Sequence[uuid.UUID],
        texts: Sequence[str],
        *,
        keep: bool = True,
        as_of: Sequence[datetime] | None = None,
    ) -> tuple[npt.NDArray[np.float32], list[Fresh]]:
        """Vectors for `ids` (row i for text i), and those that had to be encoded. With `keep` the fresh
        ones are stored and the session committed; without, the caller stores them (`store`) when its
        own transaction allows.

        `as_of` gives each entity's last change: a stored vector older than it that the text's hash
        confirms is stamped as of now (with `keep`), so that a process's cold start, which takes every
        vector newer than its entity without reading texts, takes it too instead of reading the entity
        through the slow path at every start (an edit that leaves the text alone, such as a consent's,
        changes the entity and not its vector)."""
        if as_of is not None and len(as_of) != len(ids):
            raise ValueError("as_of gives one change per id")
        if not ids:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32), []
        hashes = [text_hash(t) for t in texts]
        stored = {
            row.entity_id: row
            for row in (
                await session.scalars(
                    select(Embedding).where(
                        Embedding.entity_type == entity_type,
                        Embedding.model_id == self.model_id,
                        Embedding.entity_id.in_(list(ids)),
                    )
                )
            ).all()
        }
        stale = [
            i
            for i, (entity_id, digest) in enumerate(zip(ids, hashes, strict=True))
            if entity_id not in stored or stored[entity_id].text_hash != digest
        ]
        fresh = (
            await anyio.to_thread.run_sync(lambda: self.encoder.encode([texts[i] for i in stale]))
            if stale
            else None
        )
        dimension = fresh.shape[1] if fresh is not None else len(stored[ids[0]].vector) // 4
        vectors = np.zeros((len(ids), dimension), dtype=np.float32)
        confirmed: list[uuid.UUID] = []  # stored vectors the hash confirms, older than their entity's change
        for i, entity_id in enumerate(ids):
            if entity_id in stored and stored[entity_id].text_hash == hashes[i]:
                vectors[i] = np.frombuffer(stored[entity_id].vector, dtype=np.float32)
                if as_of is not None and stored[entity_id].updated_at < as_of[i]:
                    confirmed.append(stored[entity_id].id)
        if keep and confirmed:
            await session.execute(
                update(Embedding)
                .where(Embedding.id.in_(confirmed))
                .values(updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        encoded: list[Fresh] = []
        if fresh is not None:
            vectors[stale] = fresh
            encoded = [(ids[i], hashes[i], fresh[n]) for n, i in enumerate(stale)]
            if keep:
                await self.store(session, entity_type, encoded)
        return vectors, encoded

    async def store(
        self,
        session: AsyncSession,
        entity_type: str,
        rows: Sequence[Fresh],
    ) -> None:
        if not rows:
            return
        now = utcnow()
        values = [
            {
                "id": new_id(),
                "entity_type": entity_type,
                "entity_id": entity_id,
                "model_id": self.model_id,
                "text_hash": digest,
                "dimension": int(vector.shape[0]),
                "vector": np.ascontiguousarray(vector, dtype=np.float32).tobytes(),
                "updated_at": now,
            }
            for entity_id, digest, vector in rows
        ]
        await upsert(
            session,
            Embedding,
            values,
            key=("entity_type", "entity_id", "model_id"),
            update=("text_hash", "dimension", "vector", "updated_at"),
        )
        await session.commit()
