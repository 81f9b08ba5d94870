"""profiles and posts remember the language their text is written in

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("profiles", "posts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("text_language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    for table in ("profiles", "posts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("text_language")
