"""profiles whose text's language is still to be identified (an import leaves it to the background jobs)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("text_language_pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_index(
        "ix_profiles_text_language_pending",
        "profiles",
        ["text_language_pending"],
        unique=False,
        sqlite_where=sa.text("text_language_pending"),
        postgresql_where=sa.text("text_language_pending"),
    )


def downgrade() -> None:
    op.drop_index("ix_profiles_text_language_pending", table_name="profiles")
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_column("text_language_pending")
