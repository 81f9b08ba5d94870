"""rate-limit counters in the database (advanced-alchemy's key/value store table)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_store",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rate_limit_store"),
        sa.UniqueConstraint("key", "namespace", name="uq_rate_limit_store_key_namespace"),
    )
    op.create_index("ix_rate_limit_store_expires_at", "rate_limit_store", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_store_expires_at", table_name="rate_limit_store")
    op.drop_table("rate_limit_store")
