"""import keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 19:31:56.961390
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_keys")),
        sa.UniqueConstraint("source", "kind", "external_id", name=op.f("uq_import_keys_source")),
    )
    with op.batch_alter_table("import_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_keys_entity_id"), ["entity_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("import_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_keys_entity_id"))

    op.drop_table("import_keys")
