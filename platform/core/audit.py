"""Audit trail: one row per consequential action, written in the same transaction as the action.

Details hold identifiers and field names only, never personal data, so that the trail can outlive an
erased account without keeping what the member asked to forget.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.db.models import AuditEvent


def record(
    session: AsyncSession,
    *,
    actor_id: uuid.UUID | None,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str | None,
    **details: Any,
) -> None:
    session.add(
        AuditEvent(
            actor_id=actor_id,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id) if entity_id is not None else None,
            details=details,
        )
    )
